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
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(public - set(package.__all__)) == []
    assert sorted(set(package.__all__) - set(vars(package))) == []
    assert len(package.__all__) == len(set(package.__all__))


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
    assert "cache_hit    1" in out and "fallback     4" in out


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
