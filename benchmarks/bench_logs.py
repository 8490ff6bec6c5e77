"""Reading and billing logs: ``read_logs`` vs its base commit, split-and-cast readers, a
per-line regex loop; streaming memory.

1. ``read_logs(path)`` on 1,000,000 generated Lambda REPORT lines (2% cold starts with
   ``Init Duration``), in lines per second (CPU seconds of this process, best of 3, in
   alternating rounds so every reader sees the same machine load), against:

   a. the same ``read_logs`` of the base commit (89b7857, before this change), from a
      ``git archive`` imported in this process as ``costmodel_base`` (its imports are
      relative): target >= 2x;
   b. ``pyarrow.compute`` and ``polars`` (one thread) splitting the same lines at their
      tabs and casting the five numbers (labels and units cut off by position): they
      only split and cast, with no check of a label, no line numbers, no malformed
      lines and no timestamps, so the comparison is fair only as a floor of what
      splitting costs; their durations are checked to equal ours first;
   c. a loop that runs ``re.match`` on each line with the same pattern, builds a dict
      per report and makes a DataFrame of them (the first anchor of the reader).

   Every frame is checked to hold the same durations before timing.
2. Peak traced memory (``tracemalloc``) of ``bill_from_logs(path, provider="aws-lambda")``
   on 1,000,000 and on 5,000,000 lines: the ratio should stay near 1 (flat memory); and
   the peak resident memory (``VmHWM``) of a child process billing the 5M-line file,
   with this tree and with the base commit, so both are measured alike.

The log files are written to a temporary folder and deleted afterwards (about 0.8 GB for
the 5M-line file). The whole run takes a few minutes. ``BENCH_QUICK=1`` in the
environment runs only part 1, for iterating on the reader.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.harness import Row, base_package
from costmodel import bill_from_logs, read_logs
from costmodel.logs.formats import _NUM, _TS

TITLE = "Logs (read_logs vs its base commit, split-and-cast readers, a re.match loop; memory)"
BASE_COMMIT = "89b7857"
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


# Where each number starts in its tab-separated field ("Duration: " ...), for the
# split-and-cast readers; each field ends in a 3-byte unit (" ms", " MB").
_FIELDS = {"duration_ms": 10, "billed_duration_ms": 17, "memory_mb": 13, "max_memory_used_mb": 17}


def arrow_split(path: Path) -> dict[str, Any]:
    """pyarrow.compute: lines, fields at the tabs, numbers cut out by position and cast."""
    import pyarrow as pa
    import pyarrow.compute as pc

    whole = pa.array([path.read_bytes()], pa.large_binary())
    lines = pc.split_pattern(whole, b"\n")[0].values.cast(pa.large_string())
    lines = lines.filter(pc.greater(pc.utf8_length(lines), 0))
    fields = pc.split_pattern(lines, "\t")
    columns = {
        name: pc.cast(
            pc.utf8_slice_codeunits(pc.list_element(fields, i + 1), start, -3), pa.float64()
        )
        for i, (name, start) in enumerate(_FIELDS.items())
    }
    init = pc.list_element(pc.list_slice(fields, 5, 6), 0)  # null where there is none
    cold = pc.starts_with(pc.fill_null(init, ""), "Init Duration: ")
    columns["init_duration_ms"] = pc.cast(
        pc.utf8_slice_codeunits(pc.if_else(cold, init, None), 15, -3), pa.float64()
    )
    return columns


def polars_split(path: Path) -> Any:
    """polars (one thread): the same split and cast, as a lazy query over the file."""
    import polars as pl

    line = pl.col("line").str.split("\t")
    numbers = [
        line.list.get(i + 1).str.slice(start).str.strip_suffix(" ms").str.strip_suffix(" MB")
        .cast(pl.Float64).alias(name)
        for i, (name, start) in enumerate(_FIELDS.items())
    ]  # fmt: skip
    init = line.list.get(5, null_on_oob=True)
    numbers.append(
        pl.when(init.str.starts_with("Init Duration: "))
        .then(init.str.slice(15).str.strip_suffix(" ms").cast(pl.Float64))
        .alias("init_duration_ms")
    )
    frame = pl.scan_csv(
        path, has_header=False, separator="\x01", quote_char=None, new_columns=["line"]
    )
    return frame.select(numbers).collect()


def cpu_seconds(fn: Callable[[], object]) -> float:
    """CPU seconds of this process for one run of ``fn`` (the load of others excluded)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def peak_bytes(path: Path) -> tuple[int, float]:
    """(peak traced bytes, total) of billing ``path`` on aws-lambda."""
    tracemalloc.start()
    try:
        total = bill_from_logs(path, provider="aws-lambda").total
        return tracemalloc.get_traced_memory()[1], total
    finally:
        tracemalloc.stop()


def peak_rss_mb(path: Path, module: str, where: Path | None) -> float:
    """Peak resident MB of a fresh process that bills ``path`` with ``module``."""
    # VmHWM, not ru_maxrss: Linux keeps a forked child's ru_maxrss across exec, so it
    # would show this (large) process's resident memory.
    code = (
        f"from {module} import bill_from_logs\n"
        f"bill_from_logs({str(path)!r}, provider='aws-lambda')\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "print(status.split()[0])\n"
    )
    env = dict(os.environ)
    if where is not None:
        env["PYTHONPATH"] = f"{where}{os.pathsep}{env.get('PYTHONPATH', '')}"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, text=True, env=env
    ).stdout
    return int(out.split()[-1]) / 1024


def _check_same(ours: pd.DataFrame, others: dict[str, Any]) -> None:
    for name, other in others.items():
        duration = np.asarray(other["duration_ms"], dtype=np.float64)
        init = np.asarray(other["init_duration_ms"], dtype=np.float64)
        if not (
            np.array_equal(ours["duration_ms"], duration)
            and np.array_equal(ours["init_duration_ms"], init, equal_nan=True)
        ):
            raise AssertionError(f"read_logs and {name} disagree")


def _read_rows(small: Path, base: Any) -> list[Row]:
    readers: dict[str, Callable[[], object]] = {
        "ours": lambda: read_logs(small, client=False),
        "base": lambda: base.read_logs(small),
        "pyarrow": lambda: arrow_split(small),
        "polars": lambda: polars_split(small),
        "loop": lambda: loop_read(small),
    }
    ours = read_logs(small, client=False)
    _check_same(ours, {name: readers[name]() for name in ("base", "pyarrow", "polars", "loop")})
    del ours
    best = dict.fromkeys(readers, math.inf)
    for _ in range(3):  # alternating rounds: every reader sees the same load
        for name, fn in readers.items():
            best[name] = min(best[name], cpu_seconds(fn))
    speed = {name: READ_LINES / seconds for name, seconds in best.items()}
    lines = f"{READ_LINES:,} REPORT lines"
    return [
        Row(f"read_logs vs base {BASE_COMMIT}, {lines}", speed["ours"], speed["base"],
            "lines/s (CPU); ratio = speed-up over the base commit", ">= 2x"),
        Row(f"read_logs vs pyarrow.compute split-and-cast, {lines}", speed["ours"],
            speed["pyarrow"], "lines/s (CPU); they only split and cast", "a floor (no target)"),
        Row(f"read_logs vs polars (1 thread) split-and-cast, {lines}", speed["ours"],
            speed["polars"], "lines/s (CPU); they only split and cast", "a floor (no target)"),
        Row(f"read_logs vs re.match loop, {lines}", speed["ours"], speed["loop"],
            "lines/s (CPU); ratio = speed-up over the loop", ">= 2x"),
    ]  # fmt: skip


def run() -> list[Row]:
    os.environ.setdefault("POLARS_MAX_THREADS", "1")  # before polars is imported: one core
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="callwise-bench-logs-") as folder:
        small = Path(folder) / "report-1m.log"
        write_log(small, READ_LINES)
        base = base_package(Path(folder), "costmodel", BASE_COMMIT)
        rows += _read_rows(small, base)
        if os.environ.get("BENCH_QUICK"):
            return rows
        peaks = {}
        for lines in MEMORY_LINES:
            path = small if lines == READ_LINES else Path(folder) / f"report-{lines}.log"
            if not path.exists():
                write_log(path, lines)
            peak_bytes(small)  # warm-up: imports, compiled patterns, price sheet
            peaks[lines], _ = peak_bytes(path)
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
        big = Path(folder) / f"report-{high}.log"
        rows.append(
            Row(
                name=f"bill_from_logs peak RSS MB, {high:,} lines, vs base {BASE_COMMIT}",
                ours=peak_rss_mb(big, "costmodel", None),
                anchor=peak_rss_mb(big, "costmodel_base", Path(folder)),
                unit="MB resident (child process); ratio = this tree / base",
                target="<= ~1x",
            )
        )
    return rows
