"""Run every benchmark: ``python -m benchmarks [name ...]``.

Each ``benchmarks/bench_<name>.py`` has ``run() -> list[Row]`` and a ``TITLE``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks
from benchmarks.harness import print_rows


def main(argv: list[str]) -> int:
    names = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_")
    )
    wanted = argv or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {names}", file=sys.stderr)
        return 2
    for name in wanted:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print_rows(module.TITLE, module.run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
