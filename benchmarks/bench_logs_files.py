"""Billing many log files: peak memory stays flat whatever the number of files.

Peak traced memory (``tracemalloc``) of ``bill_from_logs(folder, provider="aws-lambda")``
over gzip files of generated Lambda REPORT lines (as a CloudWatch export to S3 lays them
out, one ``000000.gz`` per log stream):

1. 1,000 files vs 100 files of 1,000 lines each (ten times the files and the lines): the
   ratio should stay near 1.
2. 1,000 files of 1,000 lines vs one file of the same 1,000,000 lines: many small files
   cost no more than one large one.

Both bills are checked to be equal where the invocations are (case 2) before the figures
are kept. The files go to a temporary folder (about 30 MB) and are deleted afterwards; the
run takes about a minute.
"""

from __future__ import annotations

import gzip
import tempfile
import tracemalloc
from pathlib import Path

from benchmarks.bench_logs import write_log
from benchmarks.harness import Row
from costmodel import bill_from_logs

TITLE = "Logs over many files (bill_from_logs peak memory: 1,000 files vs 100, vs one file)"
LINES_PER_FILE = 1_000
MANY, FEW = 1_000, 100


def write_tree(root: Path, files: int, source: Path) -> None:
    """``files`` gzip objects <root>/<task>/<stream>/000000.gz, each ``source`` gzipped."""
    body = gzip.compress(source.read_bytes())
    for index in range(files):
        folder = root / "exportedlogs" / "task" / f"2026-12-03-[$LATEST]{index:06x}"
        folder.mkdir(parents=True)
        (folder / "000000.gz").write_bytes(body)


def peak(source: Path, **options: object) -> tuple[int, float, int]:
    """(peak traced bytes, total, invocations) of billing ``source`` on aws-lambda."""
    tracemalloc.start()
    try:
        result = bill_from_logs(source, provider="aws-lambda", function="api", **options)
        return tracemalloc.get_traced_memory()[1], result.total, result.invocations
    finally:
        tracemalloc.stop()


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="callwise-bench-files-") as folder:
        base = Path(folder)
        one_file = base / "one-file.log"
        write_log(one_file, LINES_PER_FILE)
        few, many = base / "few", base / "many"
        write_tree(few, FEW, one_file)
        write_tree(many, MANY, one_file)
        big = base / "big.log"
        big.write_text(one_file.read_text() * MANY)
        peak(few)  # warm-up: imports, compiled patterns, price sheet
        few_peak, _, few_n = peak(few)
        many_peak, many_total, many_n = peak(many)
        big_peak, big_total, big_n = peak(big)
    if not (few_n * (MANY // FEW) == many_n == big_n and abs(many_total - big_total) < 1e-9):
        raise AssertionError("the folder of files and the single file bill differently")
    mb = 1 << 20
    return [
        Row(
            name=f"bill_from_logs peak MB, {MANY:,} vs {FEW:,} gzip files "
            f"of {LINES_PER_FILE:,} lines",
            ours=many_peak / mb,
            anchor=few_peak / mb,
            unit="MB; ratio = many / few (flat = 1)",
            target="flat",
        ),
        Row(
            name=f"bill_from_logs peak MB, {MANY:,} files vs one file "
            f"of {MANY * LINES_PER_FILE:,} lines",
            ours=many_peak / mb,
            anchor=big_peak / mb,
            unit="MB; ratio = files / one file",
            target="<= 1x",
        ),
    ]
