"""Reading invocation reports from real log formats, and billing them."""

from __future__ import annotations

import gzip
import math
import re
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.paths import LOG_FIXTURES

import costmodel
from costmodel import InvalidFile, InvalidUsage, bill_from_logs, estimate, read_logs
from costmodel.logs.reader import COLUMNS, FORMATS, iter_log_frames

FIXTURES = LOG_FIXTURES
AWS = FIXTURES / "aws_text.log"

REPORT = (
    "REPORT RequestId: {rid}\tDuration: {d:.2f} ms\tBilled Duration: {b} ms\t"
    "Memory Size: {m} MB\tMax Memory Used: 40 MB\t"
)


def report(rid: str, duration_ms: float, memory_mb: int = 128, billed: int | None = None) -> str:
    billed_ms = math.ceil(round(duration_ms, 2)) if billed is None else billed
    return REPORT.format(rid=rid, d=duration_ms, b=billed_ms, m=memory_mb)


# ------------------------------------------------------------------ formats


def test_aws_text_reports_between_other_lines() -> None:
    """REPORT lines become rows; START/END/XRAY/INIT_START/app lines are neither rows nor bad."""
    frame = read_logs(AWS)
    assert list(frame.columns) == list(COLUMNS)
    assert frame["source_line"].tolist() == [5, 10, 13, 17, 20, 28]
    first = frame.iloc[0]
    assert first["request_id"] == "3604209a-e9a3-11e6-939a-754dd98c7be3"
    assert (first["duration_ms"], first["billed_duration_ms"]) == (12.34, 173.0)
    assert (first["memory_mb"], first["max_memory_used_mb"]) == (128, 18.0)
    assert first["init_duration_ms"] == 160.45
    assert math.isnan(frame.iloc[1]["init_duration_ms"])
    assert frame["function"].unique().tolist() == ["aws_text"]
    assert frame["status"].tolist() == ["", "", "", "timeout", "error", ""]
    assert frame["memory_mb"].dtype == np.int64
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_older_report_with_space_before_tab() -> None:
    """The older layout (a space before each tab) parses like the current one."""
    row = read_logs(AWS).set_index("source_line").loc[13]
    assert (row["duration_ms"], row["billed_duration_ms"], row["max_memory_used_mb"]) == (
        718.65,
        719.0,
        14.0,
    )


def test_malformed_report_lines_listed_with_line_numbers_and_reasons() -> None:
    """A REPORT line with a missing field is counted and listed, never dropped silently."""
    frame = read_logs(AWS)
    assert frame.attrs["malformed_count"] == 2
    lines = [(m.line, m.reason) for m in frame.attrs["malformed"]]
    assert lines[0] == (23, "Lambda REPORT line: missing or unreadable 'Billed Duration'")
    assert lines[1][0] == 24 and "'Memory Size'" in lines[1][1]


def test_snapstart_restore_durations() -> None:
    """SnapStart's Restore Duration and Billed Restore Duration are read."""
    frame = read_logs(FIXTURES / "aws_snapstart.log")
    assert frame["restore_duration_ms"].iloc[0] == 410.85
    assert frame["billed_restore_duration_ms"].iloc[0] == 289.0
    assert frame["billed_restore_duration_ms"].isna().iloc[1]
    assert frame.attrs["malformed_count"] == 0  # RESTORE_REPORT is not an invocation


def test_cloudwatch_export_prefixes_give_timestamps() -> None:
    """S3-export and `aws logs tail` prefixes before REPORT become the timestamp."""
    frame = read_logs(FIXTURES / "aws_export.log")
    assert frame["timestamp"].tolist() == [
        pd.Timestamp("2024-05-01T10:00:00.117Z"),
        pd.Timestamp("2024-05-01T10:05:00.513Z"),
    ]
    assert frame["request_id"].iloc[1] == "1b0c8a4e-3f2d-4e5a-8b6c-7d8e9f0a1b2c"


def test_aws_json_platform_report_records() -> None:
    """platform.report records parse; broken or incomplete ones are listed as malformed."""
    frame = read_logs(FIXTURES / "aws_json.log")
    assert frame["format"].unique().tolist() == ["aws-json"]
    assert frame["request_id"].tolist() == [
        "b2de8fdb-259d-476f-9546-0b4822dce67a",
        "79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36",
    ]
    assert frame["billed_duration_ms"].tolist() == [253.0, 1234.0]
    assert frame["init_duration_ms"].iloc[0] == 235.086
    assert frame["status"].tolist() == ["success", "error"]
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2024-07-01T08:54:54.127Z")
    bad = {m.line: m.reason for m in frame.attrs["malformed"]}
    assert set(bad) == {8, 9}
    assert "invalid JSON" in bad[8] and "missing metrics.memorySizeMB" in bad[9]


def test_alibaba_fc_lines_take_request_id_of_invoke_line() -> None:
    """FC report lines get the request id of the FC Invoke Start/End line before them."""
    frame = read_logs(FIXTURES / "fc_text.log")
    assert frame["request_id"].tolist() == [
        "1-65dd9ece-123e1745-e6b2fe71423f",
        "5a3a8a36-f774-4708-86b2-2b1e4c3a9d4e",
    ]
    assert frame["max_memory_used_mb"].tolist() == [34.80, 52.32]
    assert frame["billed_duration_ms"].tolist() == [19.0, 117.0]
    assert [(m.line, m.reason) for m in frame.attrs["malformed"]] == [
        (13, "Function Compute report line: missing or unreadable 'Max Memory Used'")
    ]


def test_alibaba_sls_request_metrics() -> None:
    """SLS request-metric records (string or number values) parse; no billed duration."""
    frame = read_logs(FIXTURES / "fc_sls.jsonl")
    assert frame["function"].tolist() == ["sync-clone", "sync-clone", "media/thumbs"]
    assert frame["duration_ms"].tolist() == [1.56, 120.2, 20.2]
    assert frame["memory_mb"].tolist() == [512, 512, 1024]
    assert frame["billed_duration_ms"].isna().all()
    assert frame["status"].tolist() == ["success", "error", "success"]
    assert frame["init_duration_ms"].iloc[1] == 99.0
    assert frame["timestamp"].iloc[0] == pd.Timestamp(1705476027407, unit="ms", tz="UTC")
    assert [m.line for m in frame.attrs["malformed"]] == [3]
    assert "missing memoryMB" in frame.attrs["malformed"][0].reason


def test_csv_with_bad_rows() -> None:
    """A plain CSV reads; a non-numeric value or a wrong field count is a malformed line."""
    frame = read_logs(FIXTURES / "invocations.csv")
    assert frame["request_id"].tolist() == ["r-1", "r-2", "r-4"]
    assert frame["source_line"].tolist() == [2, 3, 5]
    assert math.isnan(frame["billed_duration_ms"].iloc[2])
    assert [(m.line, m.reason) for m in frame.attrs["malformed"]] == [
        (4, "CSV row: unreadable duration_ms='abc'"),
        (6, "CSV row has 8 fields, the header 7"),
    ]


def test_csv_without_required_column(tmp_path: Path) -> None:
    """A CSV without memory_mb fails naming the column and the required ones."""
    path = tmp_path / "x.csv"
    path.write_text("duration_ms,function\n12,f\n")
    with pytest.raises(InvalidFile, match=r"x\.csv: memory_mb: required CSV column missing"):
        read_logs(path)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("aws_text.log", "aws"),
        ("aws_snapstart.log", "aws"),
        ("aws_export.log", "aws"),
        ("aws_json.log", "aws-json"),
        ("fc_text.log", "fc"),
        ("fc_sls.jsonl", "fc-sls"),
        ("invocations.csv", "csv"),
    ],
)
def test_auto_detection_matches_explicit_format(name: str, fmt: str) -> None:
    """format='auto' picks the right reader for every fixture."""
    auto, explicit = read_logs(FIXTURES / name), read_logs(FIXTURES / name, fmt)
    assert set(auto["format"]) == {fmt}
    pd.testing.assert_frame_equal(auto, explicit)
    assert auto.attrs == explicit.attrs


def test_lines_gzip_and_path_agree(tmp_path: Path) -> None:
    """The same log read as a path, a gzip file and a list of lines gives the same frame."""
    packed = tmp_path / "aws_text.log.gz"
    with AWS.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain = read_logs(AWS)
    pd.testing.assert_frame_equal(read_logs(packed), plain)
    lines = AWS.read_text().splitlines(keepends=True)
    pd.testing.assert_frame_equal(read_logs(lines, function="aws_text"), plain)


def test_crlf_line_endings(tmp_path: Path) -> None:
    """Windows line endings do not turn reports into malformed lines."""
    path = tmp_path / "crlf.log"
    path.write_bytes(AWS.read_bytes().replace(b"\n", b"\r\n"))
    frame = read_logs(path, function="aws_text")
    pd.testing.assert_frame_equal(frame, read_logs(AWS))


def test_reports_after_more_than_a_megabyte_of_app_logs(tmp_path: Path) -> None:
    """Reports after > 1 MB of application output are found, from lines and from a file."""
    app = "2024-05-01T10:00:00.000Z\t3604209a-e9a3-11e6-939a-754dd98c7be3\tINFO\t" + "x" * 100
    lines = [app] * 10_000 + [report(f"r{i}", 10.5 + i) for i in range(3)]
    assert sum(len(line) + 1 for line in lines) > 1.1 * 2**20
    path = tmp_path / "verbose.log"
    path.write_text("\n".join(lines) + "\n")
    for source in (lines, path):
        frame = read_logs(source)
        assert frame["source_line"].tolist() == [10_001, 10_002, 10_003]
        assert frame["duration_ms"].tolist() == [10.5, 11.5, 12.5]
        assert frame.attrs["malformed_count"] == 0


PLATFORM_REPORT = (
    '{"time":"2024-07-01T08:54:54.127Z","type":"platform.report","record":{"requestId":"j1",'
    '"metrics":{"durationMs":17.5,"billedDurationMs":18,"memorySizeMB":128,'
    '"maxMemoryUsedMB":75},"status":"success"}}'
)
FC_REPORT = (
    "Duration: 18.42 ms, Billed Duration: 19 ms, Memory Size: 128 MB, Max Memory Used: 34 MB"
)
SLS_RECORD = '{"durationMs":"1.56","functionName":"f","memoryMB":"512","requestId":"s1"}'


@pytest.mark.parametrize("chunk_chars", [1, 1 << 20])
def test_text_and_json_reports_of_one_vendor_are_both_read(chunk_chars: int) -> None:
    """A log switched between text and JSON mid-file: every report of that vendor is read."""
    cases = [
        ([report("t1", 10.0), PLATFORM_REPORT, report("t2", 20.0)], ["aws", "aws-json", "aws"]),
        ([PLATFORM_REPORT, "START RequestId: t1", report("t1", 10.0)], ["aws-json", "aws"]),
        (["FC Invoke End RequestId: c1", FC_REPORT, SLS_RECORD], ["fc", "fc-sls"]),
        ([SLS_RECORD, FC_REPORT], ["fc-sls", "fc"]),
    ]
    for lines, formats in cases:
        frame = pd.concat(iter_log_frames(lines, chunk_chars=chunk_chars), ignore_index=True)
        assert frame["format"].tolist() == formats
        assert frame["source_line"].tolist() == sorted(frame["source_line"])
        assert len(frame) == len(formats) and frame["duration_ms"].notna().all()
        assert read_logs(lines).attrs["malformed_count"] == 0


def test_another_vendors_report_lines_are_counted_malformed() -> None:
    """A report line in another vendor's format is counted, once, naming both formats."""
    frame = read_logs([report("t1", 10.0), FC_REPORT, SLS_RECORD, report("t2", 20.0)])
    assert frame["request_id"].tolist() == ["t1", "t2"]
    assert frame.attrs["malformed"] == [
        (2, "line in format 'fc', file read as 'aws'"),
        (3, "line in format 'fc-sls', file read as 'aws'"),
    ]
    frame = read_logs([FC_REPORT, report("t1", 10.0), PLATFORM_REPORT, FC_REPORT])
    assert frame["source_line"].tolist() == [1, 4]
    assert frame.attrs["malformed"] == [
        (2, "line in format 'aws', file read as 'fc'"),
        (3, "line in format 'aws-json', file read as 'fc'"),
    ]
    broken = report("t3", 5.0).replace("Memory Size", "Memory")
    frame = read_logs([report("t1", 10.0), broken, FC_REPORT.replace("19", "x")])
    assert [m.line for m in frame.attrs["malformed"]] == [2, 3]
    assert frame.attrs["malformed"][0].reason.startswith("Lambda REPORT line")
    assert frame.attrs["malformed"][1].reason == "line in format 'fc', file read as 'aws'"


def test_empty_and_reportless_inputs() -> None:
    """No report at all gives an empty frame with every column, and nothing malformed."""
    for source in ([], ["START RequestId: x Version: 1", "hello"]):
        frame = read_logs(source)
        assert list(frame.columns) == list(COLUMNS) and len(frame) == 0
        assert frame.attrs["malformed_count"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "cloudwatch"}, r"format='cloudwatch': must be 'auto' or one of 'aws'"),
        ({"max_malformed_listed": -1}, r"max_malformed_listed=-1: must be an integer >= 0"),
    ],
)
def test_bad_arguments_name_parameter_and_allowed(kwargs: dict[str, object], message: str) -> None:
    """Bad arguments raise InvalidUsage naming the parameter and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        read_logs(AWS, **kwargs)  # type: ignore[arg-type]


def test_bad_sources() -> None:
    """Bytes or non-string lines are refused with the reason; a missing file raises."""
    with pytest.raises(InvalidUsage, match="source=bytes"):
        read_logs(b"REPORT")  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="line 2 is a int"):
        read_logs(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(FileNotFoundError):
        read_logs("/nonexistent/x.log")


def test_malformed_listing_is_capped_but_counted() -> None:
    """Only the first max_malformed_listed are listed; all are counted."""
    frame = read_logs(["REPORT RequestId: x\tDuration: 1 ms"] * 5, max_malformed_listed=2)
    assert frame.attrs["malformed_count"] == 5
    assert [m.line for m in frame.attrs["malformed"]] == [1, 2]


# ------------------------------------------------------------------ properties

LINE_KINDS = st.sampled_from(
    [
        "START RequestId: {rid} Version: $LATEST",
        "END RequestId: {rid}",
        "2024-05-01T10:00:00.115Z\t{rid}\tINFO\thello",
        "REPORT RequestId: {rid}\tDuration: 1.5 ms",  # malformed
        "",
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(
        st.one_of(
            st.tuples(st.just("report"), st.floats(0, 90_000), st.sampled_from([128, 1769])),
            st.tuples(st.just("other"), LINE_KINDS, st.just(0)),
        ),
        max_size=60,
    ),
    chunk_chars=st.integers(1, 400),
)
def test_chunking_never_changes_the_result(
    items: list[tuple[str, object, int]], chunk_chars: int
) -> None:
    """Any chunk size yields the same rows and malformed lines as one pass."""
    lines = []
    for i, (kind, value, memory) in enumerate(items):
        rid = f"id-{i}"
        lines.append(
            report(rid, float(value), memory) if kind == "report" else str(value).format(rid=rid)
        )
    whole = read_logs(lines)
    parts = list(iter_log_frames(lines, "aws", chunk_chars=chunk_chars))
    joined = pd.concat([whole.iloc[:0], *parts], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole)
    bad = [m for part in parts for m in part.attrs["malformed"]]
    assert bad == whole.attrs["malformed"]
    assert len(whole) == sum(kind == "report" for kind, _, _ in items)
    assert whole["duration_ms"].tolist() == [
        round(float(v), 2) for k, v, _ in items if k == "report"
    ]


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.floats(0.01, 5000), st.sampled_from(["start", "end"])),
        min_size=1,
        max_size=30,
    ),
    chunk_chars=st.integers(1, 300),
)
def test_fc_request_ids_carry_across_chunks(
    rows: list[tuple[float, str]], chunk_chars: int
) -> None:
    """An FC report keeps its request id when the chunk boundary falls before it."""
    lines = []
    for i, (duration, which) in enumerate(rows):
        word = "Start" if which == "start" else "End"
        lines.append(f"FC Invoke {word} RequestId: rq-{i}")
        lines.append(
            f"Duration: {duration:.2f} ms, Billed Duration: {math.ceil(round(duration, 2))} ms, "
            "Memory Size: 128 MB, Max Memory Used: 20.50 MB"
        )
    parts = list(iter_log_frames(lines, "fc", chunk_chars=chunk_chars))
    frame = pd.concat(parts, ignore_index=True)
    assert frame["request_id"].tolist() == [f"rq-{i}" for i in range(len(rows))]


# ------------------------------------------------------------------ bills


def test_bill_uses_stated_billed_duration_on_own_provider() -> None:
    """AWS logs on aws-lambda bill the stated Billed Duration (it includes billed init)."""
    result = bill_from_logs(AWS, provider="aws-lambda")
    frame = read_logs(AWS)
    by_memory = frame.groupby("memory_mb")["billed_duration_ms"].sum()
    groups = result.groups.set_index("memory_mb")
    assert groups["billed_duration_ms"].to_dict() == by_memory.to_dict()
    assert groups["stated_share"].tolist() == [1.0, 1.0]
    expected = estimate(
        "aws-lambda", duration_ms=frame.loc[frame.memory_mb == 128, "billed_duration_ms"],
        memory_mb=128,
    ) + estimate("aws-lambda", duration_ms=[2.0], memory_mb=512)  # fmt: skip
    assert result.total == pytest.approx(expected.total, rel=1e-12)
    assert result.malformed_count == 2
    assert result.malformed[0] == (
        str(AWS),
        23,
        "Lambda REPORT line: missing or unreadable 'Billed Duration'",
    )


def test_bill_on_another_provider_rounds_measured_durations_per_invocation() -> None:
    """Billed elsewhere, each measured duration is rounded to that provider's step."""
    result = bill_from_logs(AWS, provider="gcp-cloud-run-functions")
    groups = result.groups.set_index("memory_mb")
    # 12.34, 101.51, 718.65, 3000.00, 812.33 ms at 100 ms steps
    assert groups.loc[128, "billed_duration_ms"] == 100 + 200 + 800 + 3000 + 900
    assert groups.loc[128, "stated_share"] == 0.0


@pytest.mark.parametrize(
    ("billed_duration", "init_billed", "expected_ms"),
    [
        ("stated", "auto", 173 + 102 + 719 + 3000 + 813),
        ("measured", False, 13 + 102 + 719 + 3000 + 813),
        ("measured", True, 173 + 102 + 719 + 3000 + 813),  # ceil(12.34 + 160.45 init)
    ],
)
def test_billed_duration_choice(billed_duration: str, init_billed: bool, expected_ms: int) -> None:
    """'stated' bills the log's billed duration, 'measured' the measured one rounded up,
    with the cold start's init when it is billed."""
    result = bill_from_logs(
        AWS, provider="aws-lambda", billed_duration=billed_duration, init_billed=init_billed
    )
    assert result.groups.set_index("memory_mb").loc[128, "billed_duration_ms"] == expected_ms


def _cold_starts(*stamps: str | None) -> pd.DataFrame:
    """One 100.2 ms invocation with a 200.5 ms init per timestamp, 128 MB."""
    n = len(stamps)
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(list(stamps), utc=True, format="ISO8601"),
            "duration_ms": [100.2] * n,
            "memory_mb": [128] * n,
            "init_duration_ms": [200.5] * n,
        }
    )


@pytest.mark.parametrize(
    ("package_type", "expected_ms"), [("zip", 101 + 301), ("image", 301 + 301)]
)
def test_measured_bills_init_by_the_rule_of_its_day(package_type: str, expected_ms: int) -> None:
    """AWS bills the INIT phase of ZIP functions from 2025-08-01 (images before too):
    'auto' reads each row's timestamp."""
    frame = _cold_starts("2025-07-31T23:59:59.999Z", "2025-08-01T00:00:00Z")
    result = bill_from_logs(
        frame, provider="aws-lambda", billed_duration="measured", package_type=package_type
    )
    assert result.groups["billed_duration_ms"].tolist() == [expected_ms]


def test_auto_init_without_a_timestamp_asks_for_the_choice() -> None:
    """A cold start with no timestamp cannot be dated: the error names init_billed."""
    frame = _cold_starts(None)
    with pytest.raises(InvalidUsage, match=r"init_billed='auto': 1 row\(s\).*no timestamp"):
        bill_from_logs(frame, provider="aws-lambda", billed_duration="measured")
    warm = frame.assign(init_duration_ms=np.nan)  # no init: nothing to decide
    assert bill_from_logs(warm, provider="aws-lambda", billed_duration="measured").total > 0
    billed = bill_from_logs(frame, provider="aws-lambda", billed_duration="measured",
                            init_billed=True)  # fmt: skip
    assert billed.groups["billed_duration_ms"].tolist() == [301]


def test_init_is_not_added_on_other_vendors_unless_asked() -> None:
    """'auto' applies AWS's rule on AWS sheets only; True adds the init anywhere."""
    frame = _cold_starts("2026-01-01T00:00:00Z")
    other = bill_from_logs(frame, provider="gcp-cloud-run-functions")
    assert other.groups["billed_duration_ms"].tolist() == [200]  # 100.2 ms at 100 ms steps
    added = bill_from_logs(frame, provider="gcp-cloud-run-functions", init_billed=True)
    assert added.groups["billed_duration_ms"].tolist() == [400]  # 300.7 ms


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"init_billed": "yes"}, "init_billed='yes': must be 'auto', True or False"),
        ({"init_billed": 1}, "init_billed=1: must be"),
        ({"package_type": "oci"}, "package_type='oci': must be one of 'zip', 'image'"),
        ({"billed_duration": "billed"}, "billed_duration='billed': must be one of"),
    ],
)
def test_bill_from_logs_choices_are_checked_first(kwargs: dict[str, Any], message: str) -> None:
    """A choice outside its set is an error naming the parameter, before any reading."""
    with pytest.raises(InvalidUsage, match=re.escape(message)):
        bill_from_logs(FIXTURES / "does-not-exist.log", provider="aws-lambda", **kwargs)


def test_real_dated_cold_starts_bill_the_same_measured_or_stated() -> None:
    """Real platform.report cold starts dated before 2025-08-01 (json_status.log, see its
    README): the stated Billed Duration leaves the init out, and so does 'measured' by the
    rule of their day."""
    path = FIXTURES / "real" / "json_status.log"
    stated = bill_from_logs(path, provider="aws-lambda", billed_duration="stated")
    measured = bill_from_logs(path, provider="aws-lambda", billed_duration="measured")
    pd.testing.assert_frame_equal(stated.groups.drop(columns="stated_share"),
                                  measured.groups.drop(columns="stated_share"))  # fmt: skip


def test_snapstart_billed_restore_is_billed_once() -> None:
    """SnapStart: the stated Billed Duration (313 ms) already includes the Billed Restore
    Duration (289 ms of it), as in AWS's real REPORT lines: it is billed as stated, the
    restore is not added a second time."""
    result = bill_from_logs(FIXTURES / "aws_snapstart.log", provider="aws-lambda")
    assert result.groups["billed_duration_ms"].tolist() == [313 + 5]


def test_alibaba_logs_bill_on_fc3_with_vcpu() -> None:
    """FC text logs bill on alibaba-fc3 with their stated billed duration and the vCPU."""
    result = bill_from_logs(FIXTURES / "fc_text.log", provider="alibaba-fc3", vcpu=0.1)
    assert result.groups["billed_duration_ms"].tolist() == [19 + 117]
    expected = estimate("alibaba-fc3", duration_ms=[19, 117], memory_mb=128, vcpu=0.1)
    assert result.total == pytest.approx(expected.total, rel=1e-12)


def test_stated_without_billed_duration_is_refused() -> None:
    """SLS metrics state no billed duration: 'stated' says so, 'auto' measures."""
    with pytest.raises(InvalidUsage, match=r"billed_duration='stated': 3 row\(s\) state no"):
        bill_from_logs(FIXTURES / "fc_sls.jsonl", provider="alibaba-fc3", vcpu=0.5,
                       billed_duration="stated")  # fmt: skip
    result = bill_from_logs(FIXTURES / "fc_sls.jsonl", provider="alibaba-fc3", vcpu=0.5)
    assert result.groups["billed_duration_ms"].tolist() == [21.0, 2 + 121]
    assert result.groups["function"].tolist() == ["media/thumbs", "sync-clone"]


def test_fractional_memory_is_refused_not_truncated() -> None:
    """A frame's memory_mb that is not a whole number of MB is refused, naming it and the rows."""
    frame = pd.DataFrame({"duration_ms": [10.0, 20.0, 30.0], "memory_mb": [128.0, 128.9, 256.5]})
    with pytest.raises(InvalidUsage, match=r"memory_mb=128\.9 in row 1.*whole.*2 row\(s\)"):
        bill_from_logs(frame, provider="aws-lambda")


def test_streaming_equals_in_memory_bill(tmp_path: Path) -> None:
    """Billing a path in tiny chunks equals billing the frame read in one go, exactly."""
    rng = np.random.default_rng(7)
    lines = [
        report(f"r{i}", float(d), int(m))
        for i, (d, m) in enumerate(
            zip(rng.lognormal(4, 1, 3000), rng.choice([128, 512, 1024], 3000), strict=True)
        )
    ]
    path = tmp_path / "big.log"
    path.write_text("\n".join(lines) + "\n")
    in_memory = bill_from_logs(read_logs(path), provider="aws-lambda", free_tier=True)
    streamed = bill_from_logs(path, provider="aws-lambda", free_tier=True)
    pd.testing.assert_frame_equal(streamed.groups, in_memory.groups, check_exact=True)
    pd.testing.assert_frame_equal(streamed.lines, in_memory.lines, check_exact=True)
    assert streamed.total == in_memory.total


def test_streaming_bill_memory_stays_flat(tmp_path: Path) -> None:
    """Peak traced memory of bill_from_logs(path) barely grows from N to 4N lines."""
    n = 50_000
    lines = [report(f"r{i:06d}", 10 + (i % 997) * 0.37, (128, 512)[i % 2]) for i in range(4 * n)]
    peaks = []
    for count in (n, 4 * n):
        path = tmp_path / f"{count}.log"
        path.write_text("\n".join(lines[:count]) + "\n")
        tracemalloc.start()
        try:
            result = bill_from_logs(path, provider="aws-lambda", chunk_chars=1 << 20)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert result.invocations == count
    assert peaks[1] < 1.25 * peaks[0], peaks


def test_bill_pools_groups_so_tiers_and_free_tier_apply_once() -> None:
    """The total is one bill over all groups: the free tier is not granted per group."""
    result = bill_from_logs(AWS, provider="aws-lambda", free_tier=True)
    assert result.total == 0.0  # 6 requests and 0.6 GB-s fit the free tier once
    free_lines = result.lines[result.lines["item"].str.contains("free tier")]
    assert len(free_lines) == 2  # requests and duration, each once


def test_histogram_batches_bound_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Samples reach estimate() in bounded batches, and the bill does not change."""
    import costmodel.logs.bill as log_billing

    frame = read_logs([report(f"r{i}", 10.0 + i % 7) for i in range(50)])
    whole = bill_from_logs(frame, provider="azure-functions-consumption")
    seen: list[int] = []
    real = log_billing.estimate

    def spy(*args: object, **kwargs: object) -> costmodel.Bill:
        seen.append(len(kwargs["duration_ms"]))  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(log_billing, "_BATCH_SAMPLES", 8)
    monkeypatch.setattr(log_billing, "estimate", spy)
    batched = bill_from_logs(frame, provider="azure-functions-consumption")
    assert max(seen) == 8 and sum(seen) == 50
    assert batched.total == pytest.approx(whole.total, rel=1e-12)
    assert batched.groups["billed_duration_ms"].tolist() == [100.0 * 50]  # 100 ms minimum


def test_dask_frame_bills_like_pandas() -> None:
    """A Dask DataFrame (local synchronous scheduler) gives the pandas frame's bill."""
    import dask  # the dev extra has it; imported here as it takes a second to import
    import dask.dataframe as dd

    frame = pd.concat([read_logs(AWS)] * 40, ignore_index=True)
    expected = bill_from_logs(frame, provider="aws-lambda")
    with dask.config.set(scheduler="synchronous"):
        result = bill_from_logs(dd.from_pandas(frame, npartitions=7), provider="aws-lambda")
    pd.testing.assert_frame_equal(result.groups, expected.groups)
    assert result.total == expected.total


def test_folder_and_several_files(tmp_path: Path) -> None:
    """A folder bills every file in it; function names come from the file names."""
    for name in ("aws_text.log", "aws_export.log"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / ".hidden").write_text("REPORT RequestId: x\tDuration: 1 ms")
    result = bill_from_logs(tmp_path, provider="aws-lambda")
    assert sorted(result.groups["function"].unique()) == ["aws_export", "aws_text"]
    same = bill_from_logs(
        [tmp_path / "aws_export.log", tmp_path / "aws_text.log"], provider="aws-lambda"
    )
    assert same.total == result.total
    assert result.invocations == 8


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: bill_from_logs(AWS, provider="aws-lamda"), KeyError, "did you mean"),
        (
            lambda: bill_from_logs(AWS, provider="aws-lambda", billed_duration="both"),
            InvalidUsage,
            r"billed_duration='both': must be one of 'auto', 'stated', 'measured'",
        ),
        (
            lambda: bill_from_logs(AWS, provider="aws-lambda", vcpu=1),
            InvalidUsage,
            "aws-lambda does not bill option",
        ),
        (
            lambda: bill_from_logs(pd.DataFrame({"duration_ms": [1.0]}), provider="aws-lambda"),
            InvalidUsage,
            "missing column",
        ),
        (
            lambda: bill_from_logs(
                pd.DataFrame({"duration_ms": [-1.0], "memory_mb": [128]}), provider="aws-lambda"
            ),
            InvalidUsage,
            r"duration_ms=-1\.0 in row 0: must be a finite number >= 0",
        ),
        (
            lambda: bill_from_logs(["START RequestId: x"], provider="aws-lambda"),
            FileNotFoundError,
            "no such file",
        ),
        (
            lambda: bill_from_logs(read_logs([]), provider="aws-lambda"),
            InvalidUsage,
            "no invocation found",
        ),
    ],
)
def test_bill_bad_input(call: object, error: type[Exception], message: str) -> None:
    """Bad provider, option, frame or source: a clear error naming it."""
    with pytest.raises(error, match=message):
        call()  # type: ignore[operator]


def test_formats_constant_lists_readers() -> None:
    """FORMATS names every reader, and read_logs/bill_from_logs are exported."""
    assert FORMATS == (
        "aws", "aws-json", "aws-events", "aws-insights-csv", "fc", "fc-sls", "gcp-json", "csv",
    )  # fmt: skip
    assert {"read_logs", "bill_from_logs", "LogBill"} <= set(costmodel.__all__)


TAILS = [
    *("", "\t", " \t", " ", "\t ", "\tStatus: timeout"),
    *("\tInit Duration: {n} ms", " \tInit Duration: {n} ms \t", "\tInit Duration: {n} ms\t"),
    *("\tInit Duration: {n} ms", "\tRestore Duration: {n} ms\tBilled Restore Duration: 2 ms\t"),
]
DECIMALS = st.from_regex(r"\A[0-9]{1,10}(\.[0-9]{1,8})?\Z")
INTEGERS = st.from_regex(r"\A[0-9]{1,17}\Z")
REPORT_LINES = st.builds(
    "{}REPORT RequestId: {}{sep}Duration: {} ms{sep}Billed Duration: {} ms{sep}"
    "Memory Size: {} MB{sep}Max Memory Used: {} MB{}".format,
    st.sampled_from(["", "2024-05-01T10:00:00.117Z ", "2024-05-01T10:05:00.513+00:00 s ", "x\t"]),
    st.one_of(
        st.sampled_from(["3604209a-e9a3-11e6-939a-754dd98c7be3", "a" * 47, "b" * 48]),
        st.from_regex(r"\A[!-~]{1,12}\Z"),
    ),
    DECIMALS,
    INTEGERS,
    INTEGERS,
    INTEGERS,
    st.tuples(st.sampled_from(TAILS), DECIMALS).map(lambda tail: tail[0].format(n=tail[1])),
    sep=st.sampled_from(["\t", " \t"]),
)


def _mutated(line: str, edit: tuple[int, int, str] | None) -> str:
    """``line`` with ``width`` characters at ``at`` replaced by ``text`` (or unchanged)."""
    if edit is None:
        return line
    at, width, text = edit
    at %= len(line) + 1
    return line[:at] + text + line[at + width :]


EDITS = st.none() | st.tuples(
    st.integers(0, 200),
    st.integers(0, 2),
    st.sampled_from(["", " ", "\t", ".", "x", "é", "1", "\u0663", "\x7f", "REPORT RequestId: "]),
)


TRICKY_DURATIONS = ["1..2", "1.2.3", "12345678.5", "123456789012345", "1234567890123456"]
TRICKY_DURATIONS += ["00.10", "1.", ".5", "9" * 15, "1234567.1234567", "0.000000000000001"]
TRICKY_DURATIONS += ["\u0663.5"]  # an Arabic-Indic digit, which \d matches
TRICKY = [
    REPORT.format(rid=f"r{i}", d=0, b=1, m=128).replace("Duration: 0.00 ms", f"Duration: {d} ms")
    for i, d in enumerate(TRICKY_DURATIONS)
]


@example(lines=TRICKY)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.one_of(
            st.builds(_mutated, REPORT_LINES, EDITS),
            LINE_KINDS.map(lambda kind: kind.format(rid="r")),
        ),
        max_size=12,
    )
)
def test_fast_reader_agrees_with_the_regex(lines: list[str]) -> None:
    """The vectorized byte reader gives exactly the regex's rows, values and malformed lines."""
    import costmodel.logs.aws_report_fast as aws_report_bytes

    fast = read_logs(lines, "aws")
    real = aws_report_bytes.fast_reports

    def regex_only(chunk: object, at: object, candidates: np.ndarray) -> object:
        return real(chunk, at, np.zeros_like(candidates))  # type: ignore[arg-type]

    try:
        aws_report_bytes.fast_reports = regex_only  # type: ignore[assignment]
        regex = read_logs(lines, "aws")
    finally:
        aws_report_bytes.fast_reports = real
    pd.testing.assert_frame_equal(fast, regex)
    assert fast.attrs == regex.attrs


def test_a_time_pandas_cannot_hold_is_nat_not_a_crash() -> None:
    """A REPORT line stamped in the year 1024 (out of pandas' ns range) is read with NaT."""
    report = (
        "{year}-05-01T10:00:00.117Z REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\t"
        "Duration: 2.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 9 MB"
    )
    frame = read_logs([report.format(year=1024), report.format(year=2024)], "aws")
    assert frame["timestamp"].isna().tolist() == [True, False]
    assert frame["billed_duration_ms"].tolist() == [3.0, 3.0]


def test_bill_from_logs_in_a_region() -> None:
    """region= bills the logs on that region's sheet; an unknown region names the known ones."""
    here = bill_from_logs(AWS, provider="aws-lambda")
    there = bill_from_logs(AWS, provider="aws-lambda", region="ap-southeast-1")
    expected = costmodel.price_sheet("aws-lambda", region="ap-southeast-1")
    assert there.bill.accounts[0][0] == expected
    assert there.groups["billed_duration_ms"].tolist() == here.groups["billed_duration_ms"].tolist()
    with pytest.raises(InvalidUsage, match="mars-1"):
        bill_from_logs(AWS, provider="aws-lambda", region="mars-1")


XRAY = (
    "\tXRAY TraceId: 1-5d9f8c3a-2b1f1e7c0f3c8d6a4e2b1a9c\tSegmentId: 6b1d2c3e4f5a6b7c"
    "\tSampled: true"
)
USUAL_IDS = st.from_regex(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
FILE_LINES = st.builds(
    "REPORT RequestId: {}\tDuration: {} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t"
    "Max Memory Used: {} MB{}{}".format,
    USUAL_IDS | st.from_regex(r"\A[!-~]{30,40}\Z"),
    DECIMALS,
    INTEGERS,
    INTEGERS,
    INTEGERS,
    st.tuples(st.sampled_from(TAILS), DECIMALS).map(lambda tail: tail[0].format(n=tail[1])),
    st.sampled_from(["", "\t", XRAY, XRAY + "\t"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.one_of(
            st.builds(_mutated, FILE_LINES, EDITS),
            st.builds(_mutated, REPORT_LINES, EDITS),
            LINE_KINDS.map(lambda kind: kind.format(rid="r")),
        ),
        min_size=1,
        max_size=12,
    ),
    newline=st.sampled_from(["\n", "\r\n"]),
    last_newline=st.booleans(),
)
def test_fast_reader_agrees_with_the_regex_on_files(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], newline: str, last_newline: bool
) -> None:
    """Read from a file (CRLF or LF lines, the last one possibly without a newline, X-Ray,
    Init, SnapStart Restore fields, usual 36-byte ids and others, edits anywhere): the
    byte reader gives exactly what the regex alone reads."""
    import costmodel.logs.aws_report_fast as aws_report_bytes

    path = tmp_path_factory.mktemp("lines") / "api.log"
    path.write_bytes((newline.join(lines) + (newline if last_newline else "")).encode())
    fast = read_logs(path, "aws")
    real = aws_report_bytes.fast_reports

    def regex_only(chunk: object, at: object, candidates: np.ndarray) -> object:
        return real(chunk, at, np.zeros_like(candidates))  # type: ignore[arg-type]

    try:
        aws_report_bytes.fast_reports = regex_only  # type: ignore[assignment]
        regex = read_logs(path, "aws")
    finally:
        aws_report_bytes.fast_reports = real
    pd.testing.assert_frame_equal(fast, regex)
    assert fast.attrs == regex.attrs
    assert len(fast) + fast.attrs["malformed_count"] <= len(lines)


SHORT_DECIMALS = st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,2})?\Z")
SHORT_INTEGERS = st.from_regex(r"\A[0-9]{1,7}\Z")
LAMBDA_LINES = st.builds(
    "REPORT RequestId: {}\tDuration: {} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t"
    "Max Memory Used: {} MB{}".format,
    USUAL_IDS,
    SHORT_DECIMALS,
    SHORT_INTEGERS,
    SHORT_INTEGERS,
    SHORT_INTEGERS,
    st.tuples(st.sampled_from(TAILS), SHORT_DECIMALS).map(lambda t: t[0].format(n=t[1])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.tuples(LAMBDA_LINES, EDITS).map(lambda pair: (pair[0], _mutated(*pair))),
        min_size=1,
        max_size=12,
    )
)
def test_the_usual_lines_reader_agrees_with_the_walk(lines: list[tuple[str, str]]) -> None:
    """``_usual_reports`` (one gather a field, for lines as Lambda prints them) reads the
    same values as the general walk from every line it reads, and reads every unedited
    line with a tab or nothing before its end or Init Duration."""
    from costmodel.logs import aws_report_fast as fast

    text = "".join(edited + "\n" for _, edited in lines)
    chunk = fast.ChunkBytes(text.encode("utf-8", "surrogatepass"))
    marks = fast.find_marks(chunk, chunk.size)
    if len(marks) == 0:
        return
    everywhere = np.ones(len(marks), dtype=bool)
    usual = fast._usual_reports(chunk, marks, everywhere)
    walk = fast._walk_reports(chunk, marks, everywhere)
    assert (walk.ok | ~usual.ok).all()  # the usual reader reads no line the walk does not
    rows = usual.ok[walk.ok]
    for name in ("duration_ms", "billed_ms", "memory_mb", "max_used_mb", "init_ms", "ends"):
        np.testing.assert_array_equal(getattr(usual, name), getattr(walk, name)[rows])
    assert list(usual.request_ids) == [i for i, r in zip(walk.request_ids, rows, strict=True) if r]
    usual_shape = re.compile(r".*MB(\tInit Duration: [0-9.]+ ms)?\t?\Z")
    plain = np.array(
        [
            original == edited and usual_shape.match(original) is not None
            for original, edited in lines
        ]
    )
    line_of = np.searchsorted(chunk.positions(ord("\n")), marks)  # no edit adds a newline
    alone = np.bincount(line_of, minlength=len(lines))[line_of] == 1
    assert usual.ok[plain[line_of] & alone].all()


def test_two_decimal_durations_are_read_as_float_reads_them() -> None:
    """Every duration with two decimals up to 9,999.99 ms (the word-at-a-time parse) and a
    sample up to 900,000.00 ms (the window parse) is the double ``float(text)`` gives."""
    from costmodel.logs import aws_report_fast as fast

    hundredths = np.concatenate(
        [np.arange(1_000_000), np.random.default_rng(19).integers(0, 90_000_001, 100_000)]
    )
    texts = [f"{h // 100}.{h % 100:02d}" for h in hundredths.tolist()]
    data = " ".join(texts).encode()
    starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
    value, length, ok = fast.ChunkBytes(data).numbers(starts, decimal=True)
    assert ok.all()
    assert length.tolist() == [len(t) for t in texts]
    expected = np.array([float(t) for t in texts])
    assert (value == expected).all()


def test_the_reader_without_pyarrow_reads_the_same(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """pyarrow only speeds up the text columns: with the reader told it is absent (its
    object-array path), the frame of usual, walked and regex-read lines is the same."""
    from costmodel.logs import aws_report_fast as fast

    usual = (
        "REPORT RequestId: {:08x}-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\t"
        "Billed Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t"
    )
    others = [
        "REPORT RequestId: r-1 \tDuration: 123456789.5 ms \tBilled Duration: 2 ms \t"
        "Memory Size: 128 MB \tMax Memory Used: 18 MB",
        usual.format(7) + "Restore Duration: 4.5 ms\tBilled Restore Duration: 5 ms\t",
        "2024-05-01T10:00:00.117Z " + usual.format(8),
        "REPORT RequestId: 42\tDuration: twelve ms",
    ]
    log = tmp_path / "api.log"
    log.write_text("\n".join([usual.format(i) for i in range(5)] + others) + "\n")
    with_arrow = read_logs(log)
    assert fast._ARROW is not None and len(with_arrow) == 8
    monkeypatch.setattr(fast, "_ARROW", None)
    without = read_logs(log)
    pd.testing.assert_frame_equal(with_arrow, without)
    assert with_arrow.attrs == without.attrs
