"""The public surface: `__all__` lists exactly what each package exports, and the
packages keep their layering (resilience never imports costmodel)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import costmodel
import resilience

ROOT = Path(__file__).resolve().parent.parent


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
