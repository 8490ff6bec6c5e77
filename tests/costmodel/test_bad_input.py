"""Bad input on the costmodel side is a clear error before long work: never an inf bill, a
traceback, or data silently dropped. The CLI answers each with exit 2 and one line."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from support.cli import run
from support.paths import EXAMPLES

import costmodel
from costmodel import InvalidFile, InvalidUsage, estimate, read_logs


@pytest.mark.parametrize(
    "options",
    [
        {"invocations": 1e308, "duration_ms": 100, "memory_mb": 128},
        {"invocations": 1e6, "duration_ms": 1e308, "memory_mb": 128},
    ],
)
def test_a_bill_that_would_overflow_is_refused_naming_the_inputs(options: dict[str, float]) -> None:
    """1e308 requests or ms: InvalidUsage naming invocations and duration_ms, not inf."""
    with pytest.raises(InvalidUsage, match=r"invocations=.* with duration_ms=.*overflows"):
        estimate("aws-lambda", **options)
    status, out, err = run(
        "estimate", "aws-lambda", "--invocations", str(options["invocations"]),
        "--duration-ms", str(options["duration_ms"]), "--memory-mb", "128",
    )  # fmt: skip
    assert (status, out) == (2, "") and err.count("\n") == 1 and "Infinity" not in err


def test_a_huge_integer_in_a_toml_file_is_named(tmp_path: Path) -> None:
    """invocations = 10**400 in an architecture file: the file and field, exit 2."""
    text = (EXAMPLES / "video_pipeline.toml").read_text()
    huge = tmp_path / "huge.toml"
    huge.write_text(text.replace("invocations = ", "invocations = 1" + "0" * 400 + " #", 1))
    status, _, err = run("compare", str(huge), "--no-charts")
    assert status == 2 and f"{huge}: invocations:" in err and err.count("\n") == 1


@pytest.mark.parametrize("command", ["compare", "simulate"])
@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x89PNG binary", "título = 1".encode("latin-1")])
def test_a_binary_or_non_utf8_file_is_named(command: str, content: bytes, tmp_path: Path) -> None:
    """A file that is not UTF-8 text: one line naming it, exit 2 (no UnicodeDecodeError)."""
    path = tmp_path / "input.toml"
    path.write_bytes(content)
    status, _, err = run(command, str(path))
    assert status == 2 and err.count("\n") == 1
    assert f"{path}: <file>: not UTF-8 text" in err
    with pytest.raises(InvalidFile, match="not UTF-8 text"):
        costmodel.load_architectures(path)


@pytest.mark.parametrize("command", ["compare", "simulate"])
def test_an_impossible_chart_folder_fails_before_the_work(command: str, tmp_path: Path) -> None:
    """--out under a file: exit 2 at once, before any table (the simulation never starts)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    example = EXAMPLES / ("video_pipeline.toml" if command == "compare" else "outage.toml")
    status, out, err = run(command, str(example), "--out", str(blocker / "charts"))
    assert (status, out) == (2, "")
    assert "cannot write charts there" in err and err.count("\n") == 1


def test_inf_in_a_csv_is_a_malformed_line_named_by_its_file_line(tmp_path: Path) -> None:
    """inf durations or memory are malformed lines (1-based, header = line 1), no warning."""
    csv = tmp_path / "calls.csv"
    csv.write_text(
        "request_id,duration_ms,billed_duration_ms,memory_mb\n"
        "a,10,10,128\nb,inf,10,128\nc,10,10,inf\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "invalid value encountered in cast"
        frame = read_logs(csv)
    assert len(frame) == 1
    assert [(m.line, m.reason) for m in frame.attrs["malformed"]] == [
        (3, "CSV row: unreadable duration_ms='inf'"),
        (4, "CSV row: unreadable memory_mb='inf'"),
    ]


def test_a_frame_error_names_the_log_line(tmp_path: Path) -> None:
    """A bad value in a frame read from a log is named by its line in the log, not a row index."""
    frame = read_logs(EXAMPLES / "logs" / "lambda_report.log")
    frame.loc[5, "duration_ms"] = -1.0
    line = int(frame.loc[5, "source_line"])
    with pytest.raises(InvalidUsage, match=rf"duration_ms=-1.0 in line {line} of the log"):
        costmodel.bill_from_logs(frame, provider="aws-lambda")


def test_a_list_of_paths_and_a_folder_are_read_as_files(tmp_path: Path) -> None:
    """read_logs([a, b]) and read_logs(folder) read the files (once taken as two text lines)."""
    for name in ("a.log", "b.log"):
        shutil.copy(EXAMPLES / "logs" / "lambda_report.log", tmp_path / name)
    one = read_logs(tmp_path / "a.log")
    paths = [str(tmp_path / "a.log"), str(tmp_path / "b.log")]
    assert len(read_logs(paths)) == len(read_logs(tmp_path)) == 2 * len(one) > 0
    assert len(read_logs([tmp_path / "a.log"])) == len(one)
    bill = costmodel.bill_from_logs(tmp_path, provider="aws-lambda")
    assert bill.total == pytest.approx(
        2 * costmodel.bill_from_logs(paths[0], provider="aws-lambda").total
    )
