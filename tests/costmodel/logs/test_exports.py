"""Exports and API outputs: aws logs JSON, Logs Insights CSV, Cloud Logging, SLS CSV.

The fixtures in ``tests/fixtures/logs/exports/`` follow the shapes their README cites; the
Lambda messages inside them are real lines from ``tests/fixtures/logs/real/``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from support.cli import run
from support.paths import LOG_FIXTURES

from costmodel import InvalidFile, InvalidUsage, bill_from_logs, read_logs

EXPORTS = LOG_FIXTURES / "exports"
REAL = LOG_FIXTURES / "real"

DETECTED = {
    "filter-log-events-page1.json": "aws-events",
    "filter-log-events-page2.json": "aws-events",
    "insights-fields.csv": "aws-insights-csv",
    "insights-messages.csv": "aws-insights-csv",
    "gcloud-logging-read.json": "gcp-json",
    "cloud-logging-entries.jsonl": "gcp-json",
    "sls-fc3-request-metrics.csv": "csv",
}


@pytest.mark.parametrize("name", sorted(DETECTED))
def test_every_export_reads_with_nothing_malformed(name: str) -> None:
    """Detected or named, each export gives the same rows and no malformed line."""
    auto = read_logs(EXPORTS / name, memory_mb=512)
    named = read_logs(EXPORTS / name, DETECTED[name], memory_mb=512)
    assert auto.attrs["malformed_count"] == 0, auto.attrs["malformed"]
    assert len(auto) > 0
    pd.testing.assert_frame_equal(auto, named)


def test_filter_log_events_pages_read_their_messages() -> None:
    """Each event's message is a REPORT line or platform.report record; the row keeps the
    file line of its event and the report's own values."""
    page1 = read_logs(EXPORTS / "filter-log-events-page1.json")
    text = read_logs(REAL / "init_text.log").iloc[:2]
    assert list(page1["request_id"]) == list(text["request_id"])
    assert list(page1["init_duration_ms"]) == list(text["init_duration_ms"])
    assert list(page1["source_line"]) == [24, 52]  # event 4 and event 8, 7 lines each
    assert page1["timestamp"].notna().all()  # from the event's timestamp (ms)
    page2 = read_logs(EXPORTS / "filter-log-events-page2.json")
    assert list(page2["format"]) == ["aws-json"] and page2["billed_duration_ms"].iloc[0] == 27
    both = read_logs(sorted(EXPORTS.glob("filter-log-events-*.json")))
    assert len(both) == 3


def test_filter_log_events_as_one_line_bare_array_and_concatenated_pages(tmp_path: Path) -> None:
    """--output json with --query events (a bare array), compact JSON, and two pages in
    one file read the same events."""
    page = json.loads((EXPORTS / "filter-log-events-page1.json").read_text())
    (tmp_path / "bare.json").write_text(json.dumps(page["events"], indent=2))
    (tmp_path / "compact.json").write_text(json.dumps(page))
    (tmp_path / "two.json").write_text(json.dumps(page, indent=4) + "\n" + json.dumps(page))
    ids = list(read_logs(EXPORTS / "filter-log-events-page1.json")["request_id"])
    for name, factor in (("bare.json", 1), ("compact.json", 1), ("two.json", 2)):
        frame = read_logs(tmp_path / name, "aws-events")
        assert list(frame["request_id"]) == ids * factor and frame.attrs["malformed_count"] == 0


def test_a_broken_event_is_malformed_and_reading_goes_on(tmp_path: Path) -> None:
    """An event that is not JSON is counted with its line; the events after it are read."""
    text = (EXPORTS / "filter-log-events-page1.json").read_text().splitlines()
    text[25] = text[25].replace('"timestamp": ', '"timestamp" ')  # event 4 loses a colon
    (tmp_path / "broken.json").write_text("\n".join(text) + "\n")
    frame = read_logs(tmp_path / "broken.json")
    assert [m.line for m in frame.attrs["malformed"]] == [24]  # where the event starts
    assert "invalid JSON" in frame.attrs["malformed"][0].reason
    assert list(frame["source_line"]) == [52]


def test_insights_fields_and_messages_agree_with_the_text_lines() -> None:
    """@memorySize / @maxMemoryUsed are bytes (MB x 1,000,000); the parsed fields and the
    @message column give the REPORT lines' own values; @log names the function."""
    fields = read_logs(EXPORTS / "insights-fields.csv")
    text = read_logs(REAL / "init_text.log")
    reports = text[text["init_duration_ms"].notna()].iloc[:4]
    for column in ("duration_ms", "billed_duration_ms", "memory_mb", "max_memory_used_mb"):
        assert list(fields[column]) == list(reports[column])
    assert set(fields["function"]) == {"java-best-practice"}
    messages = read_logs(EXPORTS / "insights-messages.csv")
    assert list(messages["source_line"]) == [8, 16]  # header = line 1, two lines a row
    assert list(messages["duration_ms"]) == list(reports["duration_ms"].iloc[:2])


def test_insights_csv_needs_the_report_fields_or_the_message(tmp_path: Path) -> None:
    """A header with neither names what is needed; a bad value names its file line."""
    (tmp_path / "q.csv").write_text("@timestamp,@logStream\n2025-01-01 00:00:00.000,x\n")
    with pytest.raises(InvalidFile, match=r"q\.csv: header: .*@duration and @memorySize"):
        read_logs(tmp_path / "q.csv")
    (tmp_path / "bad.csv").write_text(
        "@duration,@memorySize\n12.5,128000000\n12.5,128.5\nx,128000000\n"
    )
    frame = read_logs(tmp_path / "bad.csv")
    assert [m.line for m in frame.attrs["malformed"]] == [3, 4] and len(frame) == 1
    assert "whole number of MB" in frame.attrs["malformed"][0].reason


def test_cloud_logging_requests_need_the_memory_size() -> None:
    """Request logs carry no memory size: memory_mb is asked for, naming the parameter."""
    with pytest.raises(InvalidUsage, match=r"memory_mb="):
        read_logs(EXPORTS / "gcloud-logging-read.json")
    with pytest.raises(InvalidUsage, match="memory_mb"):
        read_logs(EXPORTS / "gcloud-logging-read.json", memory_mb=0)


def test_cloud_logging_entries_array_and_lines_agree() -> None:
    """gcloud's JSON array and JSON lines give the same invocations; latency "0.131206554s"
    is 131.206554 ms; the stdout entry is skipped; gen1's 'Function execution took' counts."""
    array = read_logs(EXPORTS / "gcloud-logging-read.json", memory_mb=512)
    lines = read_logs(EXPORTS / "cloud-logging-entries.jsonl", memory_mb=512)
    pd.testing.assert_frame_equal(
        array.drop(columns="source_line"), lines.drop(columns="source_line")
    )
    assert list(array["duration_ms"]) == pytest.approx([48.713, 131.206554, 1002.381, 215.0])
    assert list(array["function"]) == ["checkout", "checkout", "checkout", "resize-image"]
    assert array["billed_duration_ms"].isna().all() and (array["memory_mb"] == 512).all()


def test_cloud_run_requests_bill_on_cloud_run_functions() -> None:
    """Billed on the measured latency, each rounded up per the provider's step."""
    result = bill_from_logs(
        EXPORTS / "cloud-logging-entries.jsonl", provider="gcp-cloud-run-functions", memory_mb=512
    )
    assert result.invocations == 4 and result.total > 0
    assert (result.groups["stated_share"] == 0).all()


def test_a_request_log_without_latency_is_malformed(tmp_path: Path) -> None:
    """An httpRequest without a readable latency cannot be billed: counted, not dropped."""
    entry = json.loads((EXPORTS / "cloud-logging-entries.jsonl").read_text().splitlines()[0])
    entry["httpRequest"]["latency"] = "fast"
    (tmp_path / "e.jsonl").write_text(json.dumps(entry) + "\n" + json.dumps(entry)[:40] + "\n")
    frame = read_logs(tmp_path / "e.jsonl", "gcp-json", memory_mb=256)
    assert [m.line for m in frame.attrs["malformed"]] == [1, 2]
    assert "latency='fast'" in frame.attrs["malformed"][0].reason


def test_sls_csv_download_of_fc3_request_metrics_bills_on_fc3() -> None:
    """The SLS console's CSV of FC 3.0 request metrics: the field names are read as
    aliases; there is no billed duration, so the measured one is billed."""
    frame = read_logs(EXPORTS / "sls-fc3-request-metrics.csv")
    assert list(frame["duration_ms"]) == [2.92, 120.2, 20.2]
    assert list(frame["max_memory_used_mb"]) == [8.99, 41.5, 410.0]
    result = bill_from_logs(  # the records state no vCPU size: it is given
        EXPORTS / "sls-fc3-request-metrics.csv", provider="alibaba-fc3", vcpu=0.5
    )
    assert result.invocations == 3 and (result.groups["stated_share"] == 0).all()


def test_cli_bills_cloud_logging_with_memory_mb() -> None:
    """--memory-mb gives the memory; without it the command exits 2 naming it."""
    path = str(EXPORTS / "gcloud-logging-read.json")
    status, out, err = run(
        "bill", path, "--provider", "gcp-cloud-run-functions", "--memory-mb", "512",
        "--format", "json",
    )  # fmt: skip
    assert status == 0, err
    assert sum(g["invocations"] for g in json.loads(out)["groups"]) == 4
    status, _, err = run("bill", path, "--provider", "gcp-cloud-run-functions")
    assert status == 2 and "memory_mb" in err and "Traceback" not in err


def test_timestamps_are_utc_and_finite() -> None:
    """Every export's timestamps parse (UTC), none in the future of its own day."""
    for name in DETECTED:
        frame = read_logs(EXPORTS / name, memory_mb=512)
        assert frame["timestamp"].notna().all(), name
        assert all(not math.isnan(v) for v in frame["duration_ms"])


# ---------------------------------------------------------------- REPORT variants

VARIANTS = LOG_FIXTURES / "variants" / "telemetry_status.log"


def test_runtime_done_is_no_report_and_no_malformed_line() -> None:
    """platform.runtimeDone (success, failure, timeout; AWS docs examples) reports the
    runtime's end, not a billed invocation: skipped, never counted malformed."""
    frame = read_logs(VARIANTS)
    assert frame.attrs["malformed_count"] == 0
    assert list(frame["source_line"]) == [5, 6, 7]  # the three platform.report records


def test_timeout_and_error_reports_are_billed_like_their_text_lines() -> None:
    """A platform.report with status timeout or error (and errorType) is billed as
    stated, exactly as the real text REPORT line of the same invocation."""
    frame = read_logs(VARIANTS)
    assert list(frame["status"]) == ["", "timeout", "error"]
    text = pd.concat(
        [
            read_logs(REAL / "timeouts_text.log").iloc[[0]],
            read_logs(REAL / "other_variants.log").iloc[[0]],
        ],
        ignore_index=True,
    )
    columns = ["request_id", "duration_ms", "billed_duration_ms", "memory_mb", "status"]
    pd.testing.assert_frame_equal(frame.iloc[1:][columns].reset_index(drop=True), text[columns])
    json_bill = bill_from_logs(frame.iloc[1:], provider="aws-lambda")
    text_bill = bill_from_logs(text, provider="aws-lambda")
    assert json_bill.total == text_bill.total
    assert json_bill.groups["billed_duration_ms"].sum() == 3000 + 12
