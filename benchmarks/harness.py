"""Timing helpers shared by the benchmark scripts.

Every figure is a ratio against an anchor measured in the same run (pybreaker,
cachetools, tenacity, a plain Python loop), so the machine's speed cancels out.
"""

from __future__ import annotations

import gc
import importlib
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the report: what was measured, our figure, the anchor's, the target."""

    name: str
    ours: float
    anchor: float
    unit: str
    target: str

    @property
    def ratio(self) -> float:
        return self.ours / self.anchor if self.anchor else float("inf")


def per_call_seconds(fn: Callable[[], object], *, number: int = 20_000, repeat: int = 5) -> float:
    """Best-of-``repeat`` seconds per call of ``fn`` over ``number`` calls."""
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best = min(best, (time.perf_counter() - start) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def wall_seconds(fn: Callable[[], object], *, repeat: int = 3) -> float:
    """Best-of-``repeat`` wall-clock seconds of one run of ``fn``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def print_rows(title: str, rows: list[Row]) -> None:
    """Print a block of rows as a table."""
    print(f"\n## {title}")
    print(f"{'measure':58} {'ours':>12} {'anchor':>12} {'ratio':>8}  target")
    for row in rows:
        print(
            f"{row.name:58} {row.ours:12.4g} {row.anchor:12.4g} {row.ratio:7.2f}x  "
            f"{row.target} ({row.unit})"
        )


ROOT = Path(__file__).resolve().parent.parent


def base_package(tmp: Path, package: str, commit: str) -> Any:
    """``package`` as it was at ``commit``, imported as ``<package>_base`` from ``tmp``.

    A ``git archive`` of the package's folder, renamed: its modules import each other
    relatively, so it loads under the other name in this process, beside this tree's
    package, and both are timed under the same load, interpreter and dependencies.
    """
    name = f"{package}_base"
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", f"--prefix={name}/", commit, package],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    (tmp / name / package).rename(tmp / "base_tree")
    (tmp / name).rmdir()
    (tmp / "base_tree").rename(tmp / name)
    sys.path.insert(0, str(tmp))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp))
