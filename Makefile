# callwise: `make demo` runs the main job, `make test` runs every check.
PYTHON ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
UV      := $(VENV)/bin/uv
RUNTIME := $(VENV)/.installed-runtime
STAMP   := $(VENV)/.installed
NOTEBOOK_STAMP := $(VENV)/.installed-notebooks

.PHONY: demo test test-installed stress lint typecheck docs bench redis clean notebooks notebooks-refresh

# `$(call install,PYTHON,SPEC)`: uv when the environment has it (several times faster),
# else pip. Both read the same package index.
install = if [ -x $(UV) ]; then echo "  uv pip install $(2)"; \
	  $(UV) pip install --quiet --python $(1) $(2); \
	else echo "  pip install $(2)"; $(1) -m pip install --quiet $(2); fi

# The virtual environment, with uv in it when the package index has it; without uv
# (offline, or a platform it has no wheel for) every install below falls back to pip.
$(VENV)/bin/python:
	@echo "creating $(VENV) and installing uv into it (about 5 s)"
	$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet uv >/dev/null 2>&1 || \
	  echo "uv could not be installed: installing with pip instead (slower)"

# What the demo needs: callwise and its runtime dependencies (pandas, numpy, matplotlib,
# pybreaker, cachetools, tenacity, tqdm), not the development set.
$(RUNTIME): $(VENV)/bin/python pyproject.toml
	@echo "installing callwise and its runtime dependencies into $(VENV)" \
	  "(about 15 s with uv, 1-2 min with pip on a fresh machine)"
	@$(call install,$(PY),-e .)
	@touch $(RUNTIME)

# Everything the tests, lint, typecheck and docs use (the `dev` extra); the runtime set too.
$(STAMP): $(VENV)/bin/python pyproject.toml
	@echo "installing callwise with the development tools ('.[dev]': SDKs, dask, mkdocs," \
	  "pytest, mypy, ruff...) into $(VENV) (about 30 s with uv, 3-5 min with pip)"
	@$(call install,$(PY),-e '.[dev]')
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP) $(RUNTIME)

demo: $(RUNTIME)
	@echo "== the resilience tour: a Policy guards a flaky price service (about 1 s)"
	@$(PY) examples/demo_resilience.py
	@echo "== costmodel demo: the video pipeline compared, a 3-minute outage simulated" \
	  "(about 15 s; charts in out/)"
	@$(VENV)/bin/costmodel demo

# The notebooks in JupyterLab (the `notebooks` extra); `make notebooks-refresh` executes
# them again and writes their outputs into the files (metadata stripped, deterministic).
$(NOTEBOOK_STAMP): $(VENV)/bin/python pyproject.toml
	@echo "installing callwise with JupyterLab ('.[notebooks]') into $(VENV)"
	@$(call install,$(PY),-e '.[notebooks]')
	@touch $(NOTEBOOK_STAMP) $(RUNTIME)

notebooks: $(NOTEBOOK_STAMP)
	$(VENV)/bin/jupyter lab notebooks/

notebooks-refresh: $(STAMP)
	cd tests && ../$(PY) -m support.notebooks --refresh ../notebooks/*.ipynb

# redis-server is needed by the shared-breaker tests; they start their own (unix socket, or a
# free TCP port they check is theirs).
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing redis-server (Debian package)"; \
	    (apt-get install -y -qq redis-server >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null)); \
	  else echo "redis-server missing and not root: the Redis tests will fail" >&2; exit 1; fi; }
	@systemctl disable --now redis-server >/dev/null 2>&1 || true

lint: $(STAMP)
	$(VENV)/bin/ruff check resilience costmodel tests benchmarks docs
	$(VENV)/bin/ruff format --check resilience costmodel tests benchmarks docs README.md

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Every test, the slow ones too (the full outage's docs block, ~80 s on one worker while
# the other runs the rest): CI checks every printed output.
test: $(STAMP) redis lint typecheck
	$(PY) -m pytest -q -n auto --dist worksteal

# The package as a user gets it: build the sdist and a wheel from it, install the wheel into
# a clean virtual environment, and run the suite there with the `pytest` executable from a
# folder outside the checkout (so nothing imports from the checkout; conftest.py checks),
# with the docstring examples of the installed modules (--pyargs). -m "not slow": the
# full outage's docs block ran in make test already, on the same code.
DIST  := dist
IVENV := .venv-installed
test-installed: $(STAMP) redis
	rm -rf $(DIST) $(IVENV)
	$(PY) -m build --no-isolation --outdir $(DIST) .
	$(PYTHON) -m venv $(IVENV)
	@$(call install,$(IVENV)/bin/python,"$$(ls $(DIST)/callwise-*.whl)[dev]")
	$(IVENV)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	cd $(DIST) && CALLWISE_TEST_INSTALLED=1 ../$(IVENV)/bin/pytest -q -n auto --dist worksteal -m "not slow" -c ../pyproject.toml --rootdir .. ../tests --pyargs resilience costmodel

# The threaded and async tests repeated under load, on demand (not in CI): STRESS_COUNT
# runs of every resilience and simulation test while two busy loops keep the cores loaded;
# then the tests marked slow (the full outage's docs block, minutes), once.
STRESS_COUNT ?= 20
stress: $(STAMP) redis
	@$(PY) -c "while True: pass" & b1=$$!; $(PY) -c "while True: pass" & b2=$$!; \
	trap 'kill $$b1 $$b2' EXIT; \
	$(PY) -m pytest -q -p no:cacheprovider -n 3 --count $(STRESS_COUNT) \
	  tests/resilience tests/costmodel/simulation
	$(PY) -m pytest -q -p no:cacheprovider -m slow tests/test_docs.py

# The documentation site (mkdocs.yml, docs/) into site/. --strict: a broken link, a missing
# anchor or API reference, or a docstring mkdocstrings cannot read fails the build. The
# examples on the pages are run by `make test` (tests/test_docs.py), not here.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) $(IVENV) $(DIST) site .pytest_cache .mypy_cache .ruff_cache build *.egg-info
