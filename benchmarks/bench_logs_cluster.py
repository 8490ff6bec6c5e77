"""Logs billed on a dask.distributed LocalCluster: 2 workers against 1.

Sixteen gzip files (as a CloudWatch export to S3 lays them out, one ``000000.gz`` per log
stream) of 1,000,000 generated Lambda REPORT lines each, written to a temporary folder
(about 16 x 15 MB). ``bill_from_logs(folder, provider="aws-lambda", client=...)`` runs
one task per file (a gzip file is never split) on a ``LocalCluster`` of 1 worker process,
then of 2 (one thread each), best of 2 wall-clock runs each. Both bills are checked to
equal the serial bill (``client=False``) to the cent, invocations and malformed lines
too, before a figure is kept. The ratio is the speed-up of 2 workers over 1 (target >=
1.7x on 2 idle cores); the throughput per worker (lines per second) is the figure a user
sizes a cluster by (docs/costmodel/scale.md). The run takes a few minutes; on a shared
machine the ratio is as good as the cores that are free (give ``uptime`` beside it).
"""

from __future__ import annotations

import gzip
import math
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.bench_logs import write_log
from benchmarks.harness import Row
from costmodel import bill_from_logs

TITLE = "Logs on a LocalCluster (bill_from_logs over 16 gzip files: 2 workers vs 1)"
FILES = 16
LINES_PER_FILE = 1_000_000


def write_export(root: Path, source: Path) -> None:
    """``FILES`` gzip objects <root>/<task>/<stream>/000000.gz, each ``source`` gzipped."""
    packed = root / "packed.gz"
    with source.open("rb") as plain, gzip.open(packed, "wb", compresslevel=6) as out:
        shutil.copyfileobj(plain, out, 1 << 20)
    for index in range(FILES):
        folder = root / "exportedlogs" / "task" / f"2026-12-03-[$LATEST]{index:06x}"
        folder.mkdir(parents=True)
        shutil.copy(packed, folder / "000000.gz")
    packed.unlink()


def timed_bill(folder: Path, workers: int) -> tuple[float, object]:
    """(best wall seconds of 2 runs, the bill) on a LocalCluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=":0", silence_logs=50,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        best, result = math.inf, None
        for _ in range(2):
            start = time.perf_counter()
            result = bill_from_logs(folder, provider="aws-lambda", client=client)
            best = min(best, time.perf_counter() - start)
    return best, result


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="callwise-bench-cluster-") as tmp:
        root = Path(tmp)
        source = root / "one.log"
        write_log(source, LINES_PER_FILE)
        write_export(root, source)
        source.unlink()
        folder = root / "exportedlogs"
        serial = bill_from_logs(folder, provider="aws-lambda", client=False)
        one_s, one = timed_bill(folder, 1)
        two_s, two = timed_bill(folder, 2)
    for result in (one, two):
        same = (
            result.total == serial.total  # type: ignore[attr-defined]
            and result.invocations == serial.invocations  # type: ignore[attr-defined]
            and result.malformed == serial.malformed  # type: ignore[attr-defined]
        )
        if not same:
            raise AssertionError("the cluster's bill differs from the serial bill")
    lines = FILES * LINES_PER_FILE
    return [
        Row(
            name=f"bill_from_logs, {FILES} gzip files x {LINES_PER_FILE:,} lines, 2 vs 1 worker",
            ours=one_s,
            anchor=two_s,
            unit="s with 1 worker / s with 2; ratio = speed-up",
            target=">= 1.7x",
        ),
        Row(
            name="lines/s per worker (1 worker; 2 workers, per worker)",
            ours=lines / one_s,
            anchor=lines / two_s / 2,
            unit="lines/s; ratio = 1 worker / each of 2",
            target="a figure",
        ),
    ]
