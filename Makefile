# callwise: `make demo` runs the main job, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench redis clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo_resilience.py
	$(VENV)/bin/costmodel demo   # compare examples/video_pipeline.toml, simulate examples/outage.toml

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
	$(VENV)/bin/ruff check resilience costmodel tests benchmarks
	$(VENV)/bin/ruff format --check resilience costmodel tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: $(STAMP) redis lint typecheck
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
