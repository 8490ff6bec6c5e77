"""Reading and billing logs: ``read_logs`` vs a per-line regex loop; streaming memory.

1. ``read_logs(path)`` on 1,000,000 generated Lambda REPORT lines (2% cold starts with
   ``Init Duration``) against the anchor: a loop that runs ``re.match`` on each line with
   the same pattern, builds a dict per report and makes a DataFrame of them. Both frames
   are checked to hold the same durations before timing. Figures are lines per second.
2. Peak traced memory (``tracemalloc``) of ``bill_from_logs(path, provider="aws-lambda")``
   on 1,000,000 and on 5,000,000 lines: the ratio should stay near 1 (flat memory).

The log files are written to a temporary folder and deleted afterwards (about 0.8 GB for
the 5M-line file). The whole run takes a minute or two. ``BENCH_QUICK=1`` in the
environment runs only part 1 (about 30 s), for iterating on the reader.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import Row, wall_seconds
from costmodel import bill_from_logs, read_logs
from costmodel.logs.formats import _NUM, _TS

TITLE = "Logs (read_logs vs a per-line re.match loop; bill_from_logs peak memory)"
READ_LINES = 1_000_000
MEMORY_LINES = (1_000_000, 5_000_000)

# The anchor's pattern: the same fields read_logs reads, one named group each.
LINE = re.compile(
    rf"(?:{_TS}[ \t])?.*?REPORT RequestId: (?P<rid>\S+)\s+Duration: (?P<d>{_NUM}) ms"
    rf"\s+Billed Duration: (?P<b>\d+) ms\s+Memory Size: (?P<m>\d+) MB"
    rf"\s+Max Memory Used: (?P<x>\d+) MB(?:\s+Init Duration: (?P<i>{_NUM}) ms)?"
    rf"(?:\s+Restore Duration: (?P<r>{_NUM}) ms)?(?:\s+Billed Restore Duration: (?P<br>\d+) ms)?"
)


def write_log(path: Path, lines: int, *, seed: int = 7, block: int = 200_000) -> None:
    """``lines`` Lambda REPORT lines, as Lambda prints them, 2% of them cold starts."""
    rng = np.random.default_rng(seed)
    with path.open("w") as stream:
        for start in range(0, lines, block):
            n = min(block, lines - start)
            duration = np.round(rng.lognormal(math.log(120.0), 0.8, n), 2)
            init = np.round(rng.uniform(150, 450, n), 2)
            cold = rng.random(n) < 0.02
            memory = rng.choice([128, 512, 1024], n)
            used = rng.integers(40, 120, n)
            out = []
            for i in range(n):
                tail = f"\tInit Duration: {init[i]:.2f} ms" if cold[i] else ""
                billed = math.ceil(duration[i] + (init[i] if cold[i] else 0.0))
                out.append(
                    f"REPORT RequestId: {start + i:08x}-e9a3-11e6-939a-754dd98c7be3\t"
                    f"Duration: {duration[i]:.2f} ms\tBilled Duration: {billed} ms\t"
                    f"Memory Size: {memory[i]} MB\tMax Memory Used: {used[i]} MB{tail}\t\n"
                )
            stream.write("".join(out))


def loop_read(path: Path) -> pd.DataFrame:
    """The anchor: re.match on every line, a dict per report, a DataFrame at the end."""
    rows = []
    with path.open() as stream:
        for number, line in enumerate(stream, 1):
            match = LINE.match(line)
            if match is None:
                continue
            g = match.groupdict()
            rows.append(
                {
                    "timestamp": g["ts"],
                    "request_id": g["rid"],
                    "duration_ms": float(g["d"]),
                    "billed_duration_ms": float(g["b"]),
                    "memory_mb": int(g["m"]),
                    "max_memory_used_mb": float(g["x"]),
                    "init_duration_ms": float(g["i"]) if g["i"] else math.nan,
                    "restore_duration_ms": float(g["r"]) if g["r"] else math.nan,
                    "billed_restore_duration_ms": float(g["br"]) if g["br"] else math.nan,
                    "source_line": number,
                }
            )
    return pd.DataFrame(rows)


def peak_bytes(path: Path) -> tuple[int, float]:
    """(peak traced bytes, total) of billing ``path`` on aws-lambda."""
    tracemalloc.start()
    try:
        total = bill_from_logs(path, provider="aws-lambda").total
        return tracemalloc.get_traced_memory()[1], total
    finally:
        tracemalloc.stop()


def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="callwise-bench-logs-") as folder:
        small = Path(folder) / "report-1m.log"
        write_log(small, READ_LINES)
        ours, anchor = read_logs(small), loop_read(small)
        if not (
            np.array_equal(ours["duration_ms"], anchor["duration_ms"])
            and np.array_equal(ours["init_duration_ms"], anchor["init_duration_ms"], equal_nan=True)
        ):
            raise AssertionError("read_logs and the per-line loop disagree")
        del ours, anchor
        ours_s = wall_seconds(lambda: read_logs(small), repeat=3)
        loop_s = wall_seconds(lambda: loop_read(small), repeat=3)
        rows.append(
            Row(
                name=f"read_logs, {READ_LINES:,} REPORT lines",
                ours=READ_LINES / ours_s,
                anchor=READ_LINES / loop_s,
                unit="lines/s; ratio = speed-up over re.match loop",
                target=">= 2x",
            )
        )
        if os.environ.get("BENCH_QUICK"):
            return rows
        peaks = {}
        for lines in MEMORY_LINES:
            path = small if lines == READ_LINES else Path(folder) / f"report-{lines}.log"
            if not path.exists():
                write_log(path, lines)
            peak_bytes(small)  # warm-up: imports, compiled patterns, price sheet
            peaks[lines], _ = peak_bytes(path)
            if path != small:
                path.unlink()
        low, high = MEMORY_LINES
        rows.append(
            Row(
                name=f"bill_from_logs(path) peak MB, {high:,} vs {low:,} lines",
                ours=peaks[high] / 2**20,
                anchor=peaks[low] / 2**20,
                unit="MB traced peak; ratio = growth for 5x the lines",
                target="flat (~1.0x)",
            )
        )
    return rows
