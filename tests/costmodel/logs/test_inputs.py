"""Logs as users have them: gzip files, folders, globs and several formats at once."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from support.cli import run
from support.paths import LOG_FIXTURES

from costmodel import InvalidUsage, bill_from_logs, read_logs
from costmodel.logs.reader import iter_log_frames
from costmodel.logs.sources import expand_sources, looks_like_path, shown_url

EXPORT = LOG_FIXTURES / "aws_export.log"


def _export_tree(root: Path) -> list[Path]:
    """A CloudWatch export to S3 copied locally: <prefix>/<task>/<stream>/000000.gz."""
    made = []
    for stream, source in (
        ("2024-05-01-[$LATEST]e34ea4d3", EXPORT),
        ("2024-05-02-[$LATEST]0a1b", EXPORT),
    ):
        folder = root / "exportedlogs" / "9f0c2d1e-task" / stream
        folder.mkdir(parents=True)
        target = folder / "000000.gz"
        target.write_bytes(gzip.compress(source.read_bytes()))
        made.append(target)
    (root / "exportedlogs" / "9f0c2d1e-task" / "aws-logs-write-test").write_text(
        "Permission Check Successful"
    )
    return made


def test_gzip_is_read_whatever_its_name(tmp_path: Path) -> None:
    """A gzip file reads like the plain one, with or without its .gz suffix."""
    plain = read_logs(EXPORT)
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(EXPORT.read_bytes()))
    (tmp_path / "b.log").write_bytes(gzip.compress(EXPORT.read_bytes()))
    for name in ("a.log.gz", "b.log"):
        frame = read_logs(tmp_path / name, function="aws_export")
        pd.testing.assert_frame_equal(frame, plain)


def test_a_cloudwatch_export_folder_is_read_recursively(tmp_path: Path) -> None:
    """Every 000000.gz under the export prefix is read; the write-test object has no
    report and is not malformed."""
    _export_tree(tmp_path)
    frame = read_logs(tmp_path / "exportedlogs", function="api")
    one = read_logs(EXPORT)
    assert len(frame) == 2 * len(one) and frame.attrs["malformed_count"] == 0
    assert frame["timestamp"].notna().all()
    assert frame["duration_ms"].sum() == pytest.approx(2 * one["duration_ms"].sum())


def test_globs_expand_sorted_and_mixed_with_paths(tmp_path: Path) -> None:
    """A glob, '**' for any depth, and a list mixing globs and paths name the same files."""
    made = _export_tree(tmp_path)
    deep = expand_sources(str(tmp_path / "**" / "*.gz"))
    assert [f.path for f in deep] == [str(p) for p in made]
    mixed = expand_sources(
        [str(made[0]), str(tmp_path / "exportedlogs" / "*" / "*05-02*" / "*.gz")]
    )
    assert [f.path for f in mixed] == [str(p) for p in made]
    frame = read_logs([str(tmp_path / "**" / "*.gz")], function="api")
    assert len(frame) == 2 * len(read_logs(EXPORT))


def test_a_glob_that_matches_nothing_is_an_error_naming_it(tmp_path: Path) -> None:
    """No silent empty bill: the pattern is named."""
    pattern = str(tmp_path / "*.gz")
    with pytest.raises(InvalidUsage, match=r"no file matches '.*\*\.gz'"):
        read_logs(pattern)
    with pytest.raises(InvalidUsage, match="no file matches"):
        bill_from_logs([pattern], provider="aws-lambda")
    with pytest.raises(InvalidUsage, match="no file matches"):
        read_logs([str(EXPORT), pattern])


def test_list_items_are_paths_or_lines_never_both() -> None:
    """Paths, globs and URLs read as paths; log lines (blanks, JSON) as text."""
    assert looks_like_path("logs/*.gz") and looks_like_path("s3://bucket/x/*.gz")
    assert looks_like_path("missing.log") and looks_like_path(Path("x"))
    assert not looks_like_path("REPORT RequestId: 1\tDuration: 1 ms")
    assert not looks_like_path('{"type":"platform.report"}')
    assert not looks_like_path("12.5,128")
    with pytest.raises(FileNotFoundError, match=r"missing\.log"):
        read_logs(["missing.log"])


def test_each_file_has_its_own_format(tmp_path: Path) -> None:
    """A folder mixing Lambda text, JSON, FC, SLS, CSV and gzip: each file detected alone,
    every report read, nothing malformed."""
    names = ("aws_text.log", "aws_json.log", "fc_text.log", "fc_sls.jsonl", "invocations.csv")
    for name in names:
        shutil.copy(LOG_FIXTURES / name, tmp_path / name)
    (tmp_path / "z.log.gz").write_bytes(gzip.compress(EXPORT.read_bytes()))
    frame = read_logs(tmp_path)
    alone = [read_logs(LOG_FIXTURES / name) for name in names] + [read_logs(EXPORT)]
    assert len(frame) == sum(len(f) for f in alone)
    assert set(frame["format"]) == {"aws", "aws-json", "fc", "fc-sls", "csv"}
    expected = sum(f.attrs["malformed_count"] for f in alone)
    assert frame.attrs["malformed_count"] == expected


def test_malformed_lines_name_their_file_and_csv_lines_count_the_header(tmp_path: Path) -> None:
    """With several files each reason starts with its file; a CSV row is its file line."""
    (tmp_path / "a.csv").write_text("duration_ms,memory_mb\n12,128\nx,128\n")
    (tmp_path / "b.log").write_text("REPORT RequestId: 1\tDuration: twelve ms\n")
    frame = read_logs([tmp_path / "a.csv", tmp_path / "b.log"])
    assert [(m.line, m.reason.split(":")[0]) for m in frame.attrs["malformed"]] == [
        (3, str(tmp_path / "a.csv")),
        (1, str(tmp_path / "b.log")),
    ]
    result = bill_from_logs(tmp_path, provider="aws-lambda")
    assert [(Path(s).name, line) for s, line, _ in result.malformed] == [("a.csv", 3), ("b.log", 1)]


def test_iter_log_frames_reads_one_file_at_a_time(tmp_path: Path) -> None:
    """Streaming over a folder yields frames file by file, in order."""
    for index in range(3):
        shutil.copy(LOG_FIXTURES / "aws_text.log", tmp_path / f"f{index}.log")
    frames = [f for f in iter_log_frames(tmp_path, chunk_chars=200) if len(f)]
    assert {f["function"].iloc[0] for f in frames} == {"f0", "f1", "f2"}
    assert sum(len(f) for f in frames) == 3 * len(read_logs(LOG_FIXTURES / "aws_text.log"))


def test_urls_never_show_credentials() -> None:
    """A user:password@ part is dropped from every name."""
    assert shown_url("s3://AKIA:s3cr3t@bucket/key.gz") == "s3://bucket/key.gz"
    assert shown_url("s3://bucket/key.gz") == "s3://bucket/key.gz"


def test_cli_takes_several_paths_and_globs(tmp_path: Path) -> None:
    """costmodel bill FILE GLOB ... bills them all; a glob without match exits 2 naming it."""
    _export_tree(tmp_path)
    status, out, err = run(
        "bill", str(EXPORT), str(tmp_path / "**" / "*.gz"), "--provider", "aws-lambda",
        "--function", "api", "--format", "json",
    )  # fmt: skip
    assert status == 0, err
    assert sum(group["invocations"] for group in json.loads(out)["groups"]) == 3 * len(
        read_logs(EXPORT)
    )
    status, _, err = run("bill", str(tmp_path / "none-*.gz"), "--provider", "aws-lambda")
    assert status == 2 and "no file matches" in err and "none-*.gz" in err
