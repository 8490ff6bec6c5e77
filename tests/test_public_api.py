"""The public surface: `__all__` lists exactly what each package exports, and the
packages keep their layering (resilience never imports costmodel)."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import pytest
from support.paths import ROOT

import costmodel
import resilience


@pytest.mark.parametrize("package", [resilience, costmodel], ids=lambda p: p.__name__)
def test_all_is_exactly_the_public_surface(package: types.ModuleType) -> None:
    """Every public non-module name is in __all__, and everything in __all__ exists."""
    values = {name: getattr(package, name) for name in package.__all__}  # loads the lazy ones
    public = {
        name
        for name in dir(package)
        if not name.startswith("_") and not isinstance(getattr(package, name), types.ModuleType)
    }
    assert sorted(public - set(package.__all__)) == []
    assert all(value is not None for value in values.values())
    assert len(package.__all__) == len(set(package.__all__))


@pytest.mark.parametrize("package", [resilience, costmodel], ids=lambda p: p.__name__)
def test_lazy_table_and_type_checking_imports_list_the_same_names(
    package: types.ModuleType,
) -> None:
    """The lazy-load table and the imports type checkers read name exactly __all__."""
    tree = ast.parse(Path(package.__file__ or "").read_text())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.dump(n))
    for_checkers = {
        alias.asname or alias.name
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert sorted(for_checkers) == sorted(package.__all__)
    assert sorted(package._EXPORTS) == sorted(package.__all__)


def test_a_function_named_like_its_module_stays_the_function() -> None:
    """resilience.retry is the decorator even after resilience/retry.py was imported."""
    code = (
        "import importlib, resilience, types\n"
        "for name in ('retry', 'timeout', 'fallback', 'bulkhead', 'hedge', 'chaos'):\n"
        "    importlib.import_module('resilience.' + name)\n"
        "    assert callable(getattr(resilience, name)), name\n"
        "    assert not isinstance(getattr(resilience, name), types.ModuleType), name\n"
        "from resilience import retry, Policy\n"
        "print(retry.__module__, Policy.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["resilience.retry", "resilience.policy"]


def test_imports_stay_light() -> None:
    """import resilience loads no policy module; costmodel --help loads no pandas or matplotlib."""
    code = (
        "import contextlib, io, sys\n"
        "import resilience, costmodel\n"
        "light = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pybreaker', 'tenacity', 'cachetools', 'pandas', 'numpy', 'matplotlib'))\n"
        "from costmodel.cli import main\n"
        "for argv in (['--help'], ['--version'], *([c, '--help'] for c in "
        "('prices', 'estimate', 'bill', 'compare', 'simulate', 'demo'))):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(argv) == 0, argv\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'matplotlib'))\n"
        "print(light, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[] []"


def test_resilience_does_not_import_costmodel() -> None:
    """Importing every resilience module loads nothing from costmodel (nor matplotlib)."""
    code = (
        "import pkgutil, importlib, sys, resilience\n"
        "for m in pkgutil.walk_packages(resilience.__path__, 'resilience.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('costmodel', 'matplotlib'))\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-P", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_demo_runs_and_tells_the_story() -> None:
    """`make demo`'s resilience tour runs and shows the breaker, the cache and the fallback."""
    out = subprocess.run(
        [sys.executable, "examples/demo_resilience.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "circuit 'prices' opened" in out
    assert "function calls actually made: 7" in out
    assert "logical calls by outcome: fallback 4, ok 2, cache_hit 1" in out
    assert "attempts by outcome: error 5, rejected 3, ok 2" in out


def _imports_of(path: Path, module: str) -> set[str]:
    """Every module of ours that ``path`` imports, deferred and TYPE_CHECKING ones included."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = {}
    for top in ("resilience", "costmodel"):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return {
        name: {m for m in _imports_of(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_no_import_cycles() -> None:
    """No module reaches itself through imports (a package's __init__ re-exports excepted)."""
    graph = _import_graph()
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen and not _is_parent_init(nxt, start):
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


def _is_parent_init(candidate: str, module: str) -> bool:
    """A package __init__ that re-exports its own submodules is not a cycle of theirs."""
    return module.startswith(candidate + ".")
