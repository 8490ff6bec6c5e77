"""Formats read record by record: JSON documents and CSV exports whose records span lines.

``aws logs filter-log-events`` prints one JSON document (``{"events": [...], ...}``,
pretty-printed over many lines), ``gcloud logging read --format=json`` a JSON array, and
a CloudWatch Logs Insights CSV export quotes each ``@message`` (a REPORT message ends in a
newline, so a record can take two lines). None of them can be cut at any newline, so they
are read here record by record from the same stream of text chunks, a batch of records at
a time: memory stays bounded by the batch, not by the file. Each record keeps the line of
the file it starts on (``source_line``).

The formats (names in :data:`costmodel.logs.names.FORMATS`):

``"aws-events"``
    The JSON of ``aws logs filter-log-events`` / ``get-log-events``: objects with
    ``timestamp`` (ms since the epoch), ``message``, ``logStreamName``, ``ingestionTime``,
    ``eventId``, in an ``"events"`` array (several documents, one per page, may follow one
    another), or a bare array of them (``--query events``), or one per line. Each
    ``message`` is read as a line of the ``"aws"`` / ``"aws-json"`` formats; the event's
    ``timestamp`` stands where the message has none.
``"gcp-json"``
    Google Cloud Logging ``LogEntry`` objects, as ``gcloud logging read --format=json``
    prints them (a JSON array) or one per line: request logs of Cloud Run services and
    Cloud Run functions (``resource.type`` ``cloud_run_revision``; ``httpRequest.latency``
    as a duration string such as ``"0.123456s"``) and Cloud Functions (1st gen) entries
    ``"Function execution took 123 ms ..."`` (``resource.type`` ``cloud_function``). Other
    entries (the container's own output) are skipped. These logs carry no memory size
    (``memory_mb=`` gives it) and no billed duration; a request's latency is its wall time
    seen by the front end, so with ``concurrency`` > 1 the sum of latencies is more than the
    instance time Cloud Run bills.
``"aws-insights-csv"``
    A CloudWatch Logs Insights result downloaded as CSV: a header of ``@`` fields. With
    the fields Insights discovers in REPORT lines (``@duration``, ``@billedDuration``,
    ``@memorySize``, ``@maxMemoryUsed`` in bytes, ``@initDuration``) they are read as
    they are; with only ``@message`` each message is read as a REPORT line or
    ``platform.report`` record. ``@timestamp`` is UTC; ``@log`` (``account:/aws/lambda/name``)
    gives the function.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidFile, InvalidUsage
from .formats import MalformedLine, ReadState, read_chunk, rows_frame, with_malformed

__all__ = ["RECORD_FORMATS", "record_frames"]

#: Formats read record by record (not line by line).
RECORD_FORMATS: tuple[str, ...] = ("aws-events", "gcp-json", "aws-insights-csv")

_BATCH = 20_000  # records per frame
_JSON_KINDS = {"aws-events": "log event", "gcp-json": "log entry"}

Chunks = Iterator[tuple[str, int, int]]


def record_frames(
    chunks: Chunks, state: ReadState, progress: Callable[[int], object] | None
) -> Iterator[pd.DataFrame]:
    """Frames of ``state.format`` (one of :data:`RECORD_FORMATS`) read from ``chunks``."""
    assert state.format in RECORD_FORMATS
    counted = _counted(chunks, progress)
    if state.format == "aws-insights-csv":
        yield from _insights_frames(counted, state)
        return
    parse = _parse_events if state.format == "aws-events" else _parse_gcp
    batch: list[tuple[int, Any]] = []
    bad: list[MalformedLine] = []
    for item in _json_records(counted):
        if isinstance(item, MalformedLine):
            bad.append(MalformedLine(item.line, f"{_JSON_KINDS[state.format]}: {item.reason}"))
        else:
            batch.append(item)
        if len(batch) >= _BATCH:
            yield parse(batch, bad, state)
            batch, bad = [], []
    if batch or bad:
        yield parse(batch, bad, state)


def _counted(chunks: Chunks, progress: Callable[[int], object] | None) -> Chunks:
    for chunk in chunks:
        yield chunk
        if progress is not None:
            progress(chunk[2])


# ---------------------------------------------------------------- streaming JSON


class _Scanner:
    """JSON values read one by one from line-aligned chunks of text."""

    def __init__(self, chunks: Chunks) -> None:
        self._chunks = chunks
        self._decoder = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.base_line = 1  # line number of buf[0]
        self.eof = False

    def line(self) -> int:
        return self.base_line + self.buf.count("\n", 0, self.pos)

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self.eof = True
            return False
        self.base_line += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos :] + chunk[0]
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not a blank (``""`` at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def value(self) -> Any:
        """The JSON value at the cursor (raises ValueError when it is not one)."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if exc.pos >= len(self.buf.rstrip()) and self._fill():
                    continue  # the value goes on in the next chunk
                raise ValueError(f"invalid JSON ({exc.msg})") from None
            self.pos = end
            return value

    def grow(self) -> bool:
        """Read one more chunk when the buffer may end before a container's first key."""
        return len(self.buf) - self.pos < 4096 and self._fill()

    def skip_line(self) -> None:
        """Past the end of the current line."""
        while True:
            cut = self.buf.find("\n", self.pos)
            if cut >= 0:
                self.pos = cut + 1
                return
            self.pos = len(self.buf)
            if not self._fill():
                return


def _json_records(chunks: Chunks) -> Iterator[tuple[int, Any] | MalformedLine]:
    """Each record (line, value) of a stream of JSON: elements of top-level arrays and of
    ``"events"`` arrays in top-level objects, and other top-level objects themselves.

    An unreadable value is a ``MalformedLine`` (at the line it starts on) and reading goes
    on at the next line that starts with ``{``.
    """
    scan = _Scanner(chunks)
    depth: list[str] = []  # "array" or "object" (a container being streamed)
    while True:
        char = scan.peek()
        if not char:
            return
        line = scan.line()
        try:
            step = _step(scan, depth, char)
        except ValueError as exc:
            yield MalformedLine(line, str(exc))
            _resync(scan)
            continue
        if step is not None:
            yield step


def _resync(scan: _Scanner) -> None:
    """Past the unreadable value: on to the next line that starts with ``{`` (the next
    record of JSON lines or of a pretty-printed array), or to the end."""
    while True:
        scan.skip_line()
        if scan.peek() in ("{", ""):
            return


_CONTAINER_KEY = "events"  # aws logs: {"events": [...], "searchedLogStreams": ..., ...}
_CONTAINER = re.compile(r'\{\s*"events"\s*:\s*\[')


def _step(scan: _Scanner, depth: list[str], char: str) -> tuple[int, Any] | None:
    """Read one token or record at the cursor; a record is returned."""
    if char in ",:":
        scan.pos += 1
        return None
    if char in "]}":
        if depth:
            depth.pop()
        scan.pos += 1
        return None
    if not depth and char == "[":
        depth.append("array")
        scan.pos += 1
        return None
    if not depth and char == "{":
        while not _CONTAINER.match(scan.buf, scan.pos) and scan.grow():
            pass
        if _CONTAINER.match(scan.buf, scan.pos):
            depth += ["object", "array"]
            scan.pos = scan.buf.index("[", scan.pos) + 1
            return None
    if depth and depth[-1] == "object":  # another key of the container: read and drop
        name = scan.value()
        if scan.peek() != ":":
            raise ValueError(f"invalid JSON (a key {name!r:.40} without a value)")
        scan.pos += 1
        value = scan.value()
        if name == _CONTAINER_KEY and isinstance(value, list):
            raise ValueError(f"a second {_CONTAINER_KEY!r} array in one object")
        return None
    line = scan.line()
    return line, scan.value()


# ---------------------------------------------------------------- aws-events


@dataclass(slots=True)
class _Messages:
    """Log messages to read as lines of the ``aws`` formats, with where each came from."""

    lines: list[int]
    texts: list[str]
    epoch_ms: list[float]


def _parse_messages(messages: _Messages, state: ReadState) -> pd.DataFrame:
    """The messages read as lines of text (``aws`` / ``aws-json``), lines mapped back."""
    if not messages.texts:
        return with_malformed(rows_frame([], "aws"), [])
    text = "".join(
        t.rstrip("\r\n").replace("\r", " ").replace("\n", " ") + "\n" for t in messages.texts
    )
    inner = replace(state, format="aws", last_request_id="", csv_header=None)
    frame = read_chunk(text, 1, inner)
    where = np.asarray(messages.lines, dtype=np.int64)
    index = frame["source_line"].to_numpy() - 1
    epoch = np.asarray(messages.epoch_ms, dtype=np.float64)[index]
    if np.isfinite(epoch).any():
        stamps = frame["timestamp"]
        fill = pd.Series(pd.to_datetime(epoch, unit="ms", utc=True), index=stamps.index)
        frame["timestamp"] = stamps.where(stamps.notna(), fill).astype("datetime64[ns, UTC]")
    frame["source_line"] = where[index]
    bad = [MalformedLine(int(where[m.line - 1]), m.reason) for m in frame.attrs["malformed"]]
    return with_malformed(frame, bad)


def _parse_events(
    records: list[tuple[int, Any]], bad: list[MalformedLine], state: ReadState
) -> pd.DataFrame:
    messages = _Messages([], [], [])
    for line, event in records:
        if not isinstance(event, dict) or not isinstance(event.get("message"), str):
            bad.append(MalformedLine(line, "log event: not an object with a 'message' string"))
            continue
        stamp = event.get("timestamp")
        messages.lines.append(line)
        messages.texts.append(event["message"])
        epoch = math.nan
        if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and math.isfinite(stamp):
            epoch = float(stamp)
        messages.epoch_ms.append(epoch)
    frame = _parse_messages(messages, state)
    return with_malformed(frame, sorted([*bad, *frame.attrs["malformed"]]))


# ---------------------------------------------------------------- gcp-json

_GEN1_EXECUTION = re.compile(r"Function execution took (\d+(?:\.\d+)?) ms")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


def _parse_gcp(
    records: list[tuple[int, Any]], bad: list[MalformedLine], state: ReadState
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for line, entry in records:
        try:
            row = _gcp_row(entry, state)
        except ValueError as exc:
            bad.append(MalformedLine(line, f"log entry: {exc}"))
            continue
        if row is not None:
            row["source_line"] = line
            rows.append(row)
    if rows and state.memory_mb is None:
        raise InvalidUsage(
            f"{state.path}: Cloud Logging entries (format 'gcp-json') carry no memory size: "
            "give memory_mb= (the service's or function's memory limit, MB; CLI --memory-mb)"
        )
    for row in rows:
        row["memory_mb"] = state.memory_mb
    return with_malformed(rows_frame(rows, "gcp-json"), sorted(bad))


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _gcp_row(entry: Any, state: ReadState) -> dict[str, Any] | None:
    """The invocation in one LogEntry, None for an entry that reports none."""
    if not isinstance(entry, dict):
        raise ValueError("not a JSON object")
    labels = _object(_object(entry.get("resource")).get("labels"))
    http = entry.get("httpRequest")
    row: dict[str, Any] = {"timestamp": entry.get("timestamp"), "request_id": "", "status": ""}
    if isinstance(http, dict):
        latency = http.get("latency")
        found = _DURATION.match(latency) if isinstance(latency, str) else None
        if found is None:
            raise ValueError(
                f"httpRequest.latency={latency!r}: a request log needs a duration such as "
                "'0.25s' to be billed"
            )
        row["duration_ms"] = float(found[1]) * 1000.0
        row["status"] = str(http.get("status", ""))
        row["function"] = str(labels.get("service_name") or state.function)
        trace = entry.get("trace")
        row["request_id"] = str(trace).rsplit("/", 1)[-1] if trace else ""
        return row
    text = entry.get("textPayload")
    executed = _GEN1_EXECUTION.search(text) if isinstance(text, str) else None
    if executed is None:
        return None  # the container's own output: not an invocation
    row["duration_ms"] = float(executed[1])
    row["function"] = str(labels.get("function_name") or state.function)
    row["request_id"] = str(_object(entry.get("labels")).get("execution_id", ""))
    return row


# ---------------------------------------------------------------- aws-insights-csv

#: Insights field -> (our column, factor to our unit). Memory fields are bytes (the AWS
#: sample queries divide them by 1000 twice to show MB).
_INSIGHTS_FIELDS: dict[str, tuple[str, float]] = {
    "@duration": ("duration_ms", 1.0),
    "@billedDuration": ("billed_duration_ms", 1.0),
    "@memorySize": ("memory_mb", 1e-6),
    "@maxMemoryUsed": ("max_memory_used_mb", 1e-6),
    "@initDuration": ("init_duration_ms", 1.0),
}
_INSIGHTS_REQUIRED = ("@duration", "@memorySize")
_LAMBDA_LOG = re.compile(r"/aws/lambda/([^/\s]+)$")


def _lines(chunks: Chunks) -> Iterator[str]:
    for text, _, _ in chunks:
        yield from text.splitlines(keepends=True)


def _insights_frames(chunks: Chunks, state: ReadState) -> Iterator[pd.DataFrame]:
    reader = csv.reader(_lines(chunks))
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        return
    names = [h.strip().lstrip("\ufeff") for h in header]
    fields = all(name in names for name in _INSIGHTS_REQUIRED)
    if not fields and "@message" not in names:
        raise InvalidFile(
            state.path,
            "header",
            "a CloudWatch Logs Insights CSV needs @duration and @memorySize (the fields "
            f"Insights discovers in REPORT lines) or @message; found: {', '.join(names)}",
        )
    columns = {name: names.index(name) for name in names}
    parse = _insights_fields if fields else _insights_messages
    batch: list[tuple[int, list[str]]] = []
    bad: list[MalformedLine] = []
    end = reader.line_num
    for row in reader:
        start, end = end + 1, reader.line_num
        if len(row) != len(names):
            if any(cell.strip() for cell in row):
                bad.append(
                    MalformedLine(start, f"CSV row has {len(row)} fields, the header {len(names)}")
                )
            continue
        batch.append((start, row))
        if len(batch) >= _BATCH:
            yield parse(batch, bad, columns, state)
            batch, bad = [], []
    if batch or bad:
        yield parse(batch, bad, columns, state)


def _function_of(row: list[str], columns: dict[str, int], default: str) -> str:
    if "@log" in columns:
        found = _LAMBDA_LOG.search(row[columns["@log"]].strip())
        if found:
            return found[1]
    return default


def _epoch_ms(text: str) -> float:
    if not text.strip():
        return math.nan
    stamp = pd.to_datetime(text.strip(), utc=True, errors="coerce", format="ISO8601")
    return math.nan if pd.isna(stamp) else stamp.value / 1e6


def _insights_messages(
    batch: list[tuple[int, list[str]]],
    bad: list[MalformedLine],
    columns: dict[str, int],
    state: ReadState,
) -> pd.DataFrame:
    by_function: dict[str, _Messages] = {}
    for line, row in batch:
        messages = by_function.setdefault(
            _function_of(row, columns, state.function), _Messages([], [], [])
        )
        messages.lines.append(line)
        messages.texts.append(row[columns["@message"]])
        stamp = row[columns["@timestamp"]] if "@timestamp" in columns else ""
        messages.epoch_ms.append(_epoch_ms(stamp))
    frames = [
        _parse_messages(messages, replace(state, function=name))
        for name, messages in by_function.items()
    ]
    frame = pd.concat(frames, ignore_index=True) if frames else rows_frame([], "aws")
    frame = frame.sort_values("source_line", kind="stable", ignore_index=True)
    found = [m for part in frames for m in part.attrs["malformed"]]
    return with_malformed(frame, sorted([*bad, *found]))


def _insights_fields(
    batch: list[tuple[int, list[str]]],
    bad: list[MalformedLine],
    columns: dict[str, int],
    state: ReadState,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for line, row in batch:
        kind = row[columns["@type"]].strip() if "@type" in columns else ""
        if kind not in ("", "REPORT"):
            continue  # a START, END or application line of the same query
        values = {name: row[index].strip() for name, index in columns.items()}
        if kind == "" and not values["@duration"] and not values["@memorySize"]:
            continue  # a line that is no report (no REPORT fields at all)
        try:
            out = _insights_row(values)
        except ValueError as exc:
            bad.append(MalformedLine(line, f"Insights CSV row: {exc}"))
            continue
        out["source_line"] = line
        out["function"] = _function_of(row, columns, state.function)
        out["request_id"] = values.get("@requestId", "")
        out["status"] = ""
        out["timestamp"] = values.get("@timestamp") or None
        rows.append(out)
    frame = rows_frame(rows, "aws-insights-csv")
    return with_malformed(frame, sorted(bad))


def _insights_row(values: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (column, factor) in _INSIGHTS_FIELDS.items():
        text = values.get(name, "")
        if not text:
            if name in _INSIGHTS_REQUIRED:
                raise ValueError(f"{name} is empty")
            out[column] = math.nan
            continue
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{name}={text!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{name}={text!r} is not a finite number >= 0")
        out[column] = number * factor
    memory = out["memory_mb"]
    if abs(memory - round(memory)) > 1e-9:
        raise ValueError(
            f"@memorySize={values['@memorySize']!r} is not a whole number of MB (bytes / 1,000,000)"
        )
    out["memory_mb"] = round(memory)
    return out
