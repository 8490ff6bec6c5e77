"""AWS Lambda ``REPORT`` lines read from a chunk's bytes with numpy, all lines at once.

Why it exists: ``read_logs`` on Lambda logs must be at least 2x faster than a per-line
``re.match`` loop building dicts (``benchmarks/bench_logs.py``; it is about 6x). A regular
expression over the chunk still makes a tuple of strings per line and converts every
number from text one by one; this reader makes no Python object per line.

The technique: the chunk is one numpy ``uint8`` array (padded, so reads past its end are
harmless), with strided views over the same memory: every unaligned little-endian 64-bit
word (``ChunkBytes.words``) and 16- and 48-byte windows (``sliding_window_view``). Each
step below is then one fancy index over all lines at once, each line with its own cursor
(``split_reports`` runs them on a chunk):

1. ``find_marks``: every ``REPORT RequestId:``, found by its rarest byte (``q``) and
   confirmed by comparing 8 bytes at a time;
2. ``fast_reports``: first ``_usual_reports``, for lines exactly as Lambda prints them
   today (a 36-byte id, tabs, numbers of at most 7 bytes): one gather of a row of words
   per field (``ChunkBytes.wide``: a row of up to 160 bytes costs about what one word
   does), turned into contiguous columns, then only word arithmetic: each label compared
   at a fixed byte of its row, the number after it shifted out of two words. The lines
   it does not read go to ``_walk_reports``, which walks the whole layout: compare each
   label (``\\tDuration: `` ...) as 64-bit words, then read the number after it with
   SWAR (SIMD within a register: the digits of a number of up to 7 bytes become an
   integer with a few masks, shifts and multiplies on one 64-bit word,
   ``swar_numbers``; longer numbers go through a 16-byte window and a dot product), and
   move the cursor past it;
3. a chunk of nothing but such lines (each marker starts a line, each line read ends
   just before the next marker) needs no pass over its newlines (``split_reports``);
4. a line that fails any check (another layout, SnapStart or ``Status`` fields, two
   markers, a malformed report) is left with ``ok`` False for the regular expression in
   ``_log_formats``, which defines the format; the two read the same values from every
   line both read (a hypothesis test checks this).

Numbers are exact: at most 15 digits make an integer below 2**53, divided by a power of
ten; both are exact doubles, so the quotient is correctly rounded, like ``float(text)``.
"""

from __future__ import annotations

import importlib
import itertools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

try:  # pandas' str dtype is Arrow-backed when pyarrow is installed (pandas >= 3)
    _ARROW: Any = importlib.import_module("pyarrow")
    if not isinstance(pd.array([], dtype="str"), pd.arrays.ArrowStringArray):
        _ARROW = None
except ImportError:
    _ARROW = None

_NEWLINE, _TAB, _SPACE, _DOT = 10, 9, 32, 46
_MARK = b"REPORT RequestId:"
# What comes before each number of a REPORT line (decimals allowed or not): its tab,
# label, and the unit of the number before; older lines put a space before each tab.
_LAYOUT = (
    (b"\tDuration: ", True),
    (b" ms\tBilled Duration: ", False),
    (b" ms\tMemory Size: ", False),
    (b" MB\tMax Memory Used: ", False),
)
_OLDER_LAYOUT = tuple((literal.replace(b"\t", b" \t"), decimal) for literal, decimal in _LAYOUT)
_INIT_LABEL = b"\tInit Duration: "
_NUMBER_BYTES = 16  # digits and dot; at most 15 digits: below 2**53, exact as doubles
_ID_BYTES = 48  # request ids up to 47 bytes (AWS's are 36) take the fast path
_USUAL_ID = 36  # AWS's request ids (UUIDs) are checked 8 bytes at a time
# Zeros after the chunk: every offset the reader looks at stays below its end plus 400
# (the marker, an id, the labels, numbers of at most 15 bytes, a window): no clipping.
_PAD = 512
# The usual line, read with one gather of a row of words per field (``_usual_reports``):
# the marker, a 36-byte id and "\tDuration: " put the duration at byte 65 of the line.
_HEAD_WORDS, _FIELD_WORDS = 10, 4
_DURATION_AT = len(_MARK) + 1 + _USUAL_ID + len(b"\tDuration: ")
_USUAL_LABELS = (b" ms\tBilled Duration: ", b" ms\tMemory Size: ", b" MB\tMax Memory Used: ")
_POW10 = 10.0 ** np.arange(_NUMBER_BYTES)
_WEIGHTS = 10 ** np.arange(_NUMBER_BYTES - 1, -1, -1, dtype=np.int64)


class ChunkBytes:
    """A chunk's bytes with the views the fast reader gathers from.

    Indexing, not ``np.take``: take would copy these strided views whole.
    """

    def __init__(self, data: bytes) -> None:
        space = _workspace(len(data))
        space.bytes[: len(data)] = np.frombuffer(data, dtype=np.uint8)
        space.bytes[len(data) : len(data) + _PAD] = 0
        self.size = len(data)
        self.raw = space.bytes[: len(data) + _PAD]
        self.flags = space.flags[: len(data)]
        # every unaligned 8-byte word, and every 16- / _ID_BYTES-byte window
        self.words = np.ndarray(
            shape=(len(self.raw) - 7,), dtype="<u8", buffer=self.raw.data, strides=(1,)
        )
        self.rows16 = sliding_window_view(self.raw, _NUMBER_BYTES)
        self.rows_id_words = self.wide(_HEAD_WORDS)
        self.rows_field_words = self.wide(_FIELD_WORDS)
        self.rows_id = sliding_window_view(self.raw, _ID_BYTES)

    def wide(self, words: int) -> np.ndarray:
        """Every unaligned run of ``words`` 64-bit words: one gather of a row of it costs
        about as much as a gather of one word."""
        return np.ndarray(
            shape=(len(self.raw) - 8 * words + 1, words),
            dtype="<u8",
            buffer=self.raw.data,
            strides=(1, 8),
        )

    def positions(self, byte: int) -> np.ndarray:
        """Sorted offsets of ``byte`` in the chunk."""
        np.equal(self.raw[: self.size], byte, out=self.flags)
        found: np.ndarray = np.flatnonzero(self.flags)
        return found

    def byte(self, at: np.ndarray) -> np.ndarray:
        result: np.ndarray = self.raw[at]
        return result

    def literal(self, at: np.ndarray, literal: bytes) -> np.ndarray:
        """Whether ``literal`` is at each offset, compared 8 bytes at a time."""
        ok = np.ones(len(at), dtype=bool)
        for i in range(0, len(literal), 8):
            piece = literal[i : i + 8]
            got = self.words[at + i]
            if len(piece) < 8:
                got = got & np.uint64((1 << (8 * len(piece))) - 1)
            ok &= got == np.uint64(int.from_bytes(piece, "little"))
        return ok

    def usual_ids(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 48 bytes at each offset as six 64-bit words, and whether they start with an
        id of the usual length (:data:`_USUAL_ID` bytes, each printable ASCII without the
        blank) followed by a tab or a blank. Checked a word at a time (SWAR)."""
        words = self.rows_id[at].view("<u8")  # one gather of 48 bytes a row: 6 words
        tail = words[:, 4] & np.uint64(0xFFFFFFFF) | np.uint64(0x4141414100000000)
        checked = np.concatenate([words[:, :4], tail[:, None]], axis=1)
        low = (checked - _byte_mask(0x21)) & ~checked & _HIGH  # a byte below "!"
        high = ((checked & _LOW7) + _byte_mask(1) | checked) & _HIGH  # a byte above "~"
        after = (words[:, 4] >> np.uint64(32)) & np.uint64(0xFF)
        usual = ~(low | high).any(axis=1) & ((after == _TAB) | (after == _SPACE))
        return words, usual

    def line_ends(self, at: np.ndarray) -> np.ndarray:
        """The offset of the newline at ``at`` when only an optional tab, space, or space and
        tab precede it; -1 elsewhere."""
        offset = _end_offsets(self.words[at])
        result: np.ndarray = np.where(offset >= 0, at + offset, -1)
        return result

    def numbers(
        self, start: np.ndarray, *, decimal: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(value, length, ok) of ``\\d+`` (or ``\\d+(\\.\\d+)?``) starting at each offset.

        Numbers of up to 7 bytes are read 8 bytes at a time (SWAR: bit tricks on one
        64-bit word per row); longer ones by ``_long_numbers``. Either way the digits form
        one integer below 2**53, divided by a power of ten: both exact doubles, so the
        quotient is correctly rounded, the same as ``float(text)``.
        """
        result, length, ok = swar_numbers(self.words[start], decimal=decimal)
        long = length < 0
        if long.any():
            rows = np.flatnonzero(long)
            result[rows], length[rows], ok[rows] = self._long_numbers(start[rows], decimal=decimal)
        return result, length, ok

    def _long_numbers(
        self, start: np.ndarray, *, decimal: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``numbers`` for the rare numbers of 8 bytes or more, through 16-byte windows."""
        window = self.rows16[start]
        digit = (window - 48) < 10  # uint8 wraps: only '0'..'9' are below 10
        dot = window == _DOT
        length = np.argmin(digit | dot if decimal else digit, axis=1)
        ok = length >= 1  # 0: no digit, or too long for the window
        columns = np.arange(_NUMBER_BYTES)
        scale: np.ndarray = np.ones(len(start))
        if decimal:
            dot &= columns < length[:, None]
            dots = dot.sum(axis=1)
            dot_at = dot.argmax(axis=1)
            ok &= (dots == 0) | ((dots == 1) & (dot_at >= 1) & (dot_at <= length - 2))
            scale = _POW10[np.where(dots == 1, length - 1 - dot_at, 0)]
        # the number again, right-aligned, to weigh each digit by its column
        right = self.rows16[(start + length - _NUMBER_BYTES)]
        inside = columns >= (_NUMBER_BYTES - length)[:, None]
        digits = np.where(inside & ((right - 48) < 10), right.astype(np.int64) - 48, 0)
        total = digits @ _WEIGHTS
        if decimal:  # digits left of the dot were weighed one column too high
            below = total % scale.astype(np.int64)
            total = np.where(scale > 1, (total - below) // 10 + below, total)
        return total / scale, length, ok


class _Workspace(threading.local):
    """Buffers reused from chunk to chunk (one set per thread): a fresh array of a chunk's
    size costs about as much in page faults as the work done with it."""

    bytes: np.ndarray = np.zeros(0, dtype=np.uint8)
    flags: np.ndarray = np.zeros(0, dtype=bool)


_SPACE_BUFFERS = _Workspace()


def _workspace(size: int) -> _Workspace:
    """This thread's buffers, grown to hold ``size`` bytes and the padding."""
    space = _SPACE_BUFFERS
    if len(space.bytes) < size + _PAD:
        space.bytes = np.zeros(size + size // 4 + _PAD, dtype=np.uint8)
        space.flags = np.zeros(len(space.bytes), dtype=bool)
    return space


def _byte_mask(byte: int, width: int = 1) -> np.uint64:
    """``byte`` repeated in every ``width``-byte lane of a 64-bit word."""
    return np.uint64(int.from_bytes(byte.to_bytes(width, "little") * (8 // width), "little"))


_LOW7, _HIGH = _byte_mask(0x7F), _byte_mask(0x80)
_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)


def _zero_bytes(word: np.ndarray) -> np.ndarray:
    """The high bit of every byte of ``word`` that is zero (exact, no false positives)."""
    result: np.ndarray = ~(((word & _LOW7) + _LOW7) | word) & _HIGH
    return result


def _first_byte(flags: np.ndarray) -> np.ndarray:
    """Index of the lowest byte with its high bit set in ``flags``; -1 where none is."""
    lowest = flags & (~flags + np.uint64(1))  # 2**(8k + 7), or 0
    exponent = np.frexp(lowest.astype(np.float64))[1]  # 8k + 8, or 0
    result: np.ndarray = exponent // 8 - 1
    return result


def swar_numbers(word: np.ndarray, *, decimal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, length, ok) of ``\\d+`` (or ``\\d+(\\.\\d+)?``) at the start of each 64-bit
    word (its first byte lowest); length -1 where all 8 bytes are digits (or dots): the
    number may go on, and ``value`` is not read."""
    value = word ^ _byte_mask(0x30)  # digits become 0..9
    stops = (((value & _LOW7) + _byte_mask(0x80 - 10)) | value) & _HIGH  # byte >= 10
    dots = _zero_bytes(word ^ _byte_mask(_DOT)) if decimal else None
    if dots is not None:
        stops &= ~dots
    length = _first_byte(stops)  # -1: 8 bytes of digits (and dots) or more
    ok = length >= 1
    length_bytes = _KEEP[np.clip(length, 0, 8)]
    value &= length_bytes
    digits = length
    fraction = np.zeros(len(word), dtype=np.int64)
    if dots is not None:
        dots &= length_bytes
        has_dot = dots != 0
        at_dot = _first_byte(dots)
        ok &= (dots & (dots - np.uint64(1))) == 0  # at most one
        ok &= ~has_dot | ((at_dot >= 1) & (at_dot <= length - 2))
        below = _KEEP[np.clip(at_dot, 0, 8)]
        value = np.where(has_dot, (value & below) | ((value >> np.uint64(8)) & ~below), value)
        digits = length - has_dot
        fraction = np.where(has_dot, length - 1 - at_dot, 0)
    # right-align the digits, then combine them pairwise (8 digits at most)
    value <<= (np.uint64(8) * (8 - np.clip(digits, 1, 8))).astype(np.uint64)
    value = (value * np.uint64(10) + (value >> np.uint64(8))) & _byte_mask(0xFF, 2)
    value = (value * np.uint64(100) + (value >> np.uint64(16))) & _byte_mask(0xFFFF, 4)
    value = (value * np.uint64(10000) + (value >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    result = value.astype(np.float64) / _POW10[fraction]
    return result, length, ok


def _end_offsets(word: np.ndarray) -> np.ndarray:
    """Where the newline is in each word (its first byte lowest) when only an optional tab,
    space, or space and tab precede it: 0, 1 or 2; -1 elsewhere."""
    b0, b1, b2 = word & 0xFF, (word >> 8) & 0xFF, (word >> 16) & 0xFF
    offset = np.full(len(word), -1)
    offset[(b0 == _SPACE) & (b1 == _TAB) & (b2 == _NEWLINE)] = 2
    offset[((b0 == _TAB) | (b0 == _SPACE)) & (b1 == _NEWLINE)] = 1
    offset[b0 == _NEWLINE] = 0
    return offset


def _columns(rows: np.ndarray) -> np.ndarray:
    """Gathered rows of words as columns (``[k]``: the k-th word of every row), each
    contiguous: arithmetic on a contiguous column is about 5x faster than on a strided one."""
    result: np.ndarray = np.ascontiguousarray(rows.T)
    return result


def _word_at(columns: np.ndarray, byte: int) -> np.ndarray:
    """The 8 bytes from ``byte`` of each row, as one word (``columns``: see ``_columns``)."""
    column, shift = divmod(byte, 8)
    if shift == 0:
        result: np.ndarray = columns[column]
        return result
    low = columns[column] >> np.uint64(8 * shift)
    high = columns[column + 1] << np.uint64(64 - 8 * shift)
    word: np.ndarray = low | high
    return word


def _rows_have(columns: np.ndarray, literal: bytes, byte: int = 0) -> np.ndarray:
    """Whether ``literal`` is at ``byte`` of each row (``columns``: see ``_columns``)."""
    ok = np.ones(columns.shape[1], dtype=bool)
    for i in range(0, len(literal), 8):
        piece = literal[i : i + 8]
        got = _word_at(columns, byte + i)
        if len(piece) < 8:
            got = got & np.uint64((1 << (8 * len(piece))) - 1)
        ok &= got == np.uint64(int.from_bytes(piece, "little"))
    return ok


def _printable(words: list[np.ndarray]) -> np.ndarray:
    """Whether every byte of the words is printable ASCII without the blank (SWAR)."""
    ok = np.ones(len(words[0]), dtype=bool)
    for word in words:
        low = (word - _byte_mask(0x21)) & ~word & _HIGH  # a byte below "!"
        high = ((word & _LOW7) + _byte_mask(1) | word) & _HIGH  # a byte above "~"
        ok &= (low | high) == 0
    return ok


def find_marks(chunk: ChunkBytes, size: int) -> np.ndarray:
    """Sorted offsets of every ``REPORT RequestId:`` in the first ``size`` bytes."""
    rare = _MARK.index(b"q")  # the marker's rarest byte, then the whole marker
    found = chunk.positions(ord("q")) - rare
    found = found[found >= 0]
    marks: np.ndarray = found[_rows_have(_columns(chunk.rows_field_words[found]), _MARK)]
    return marks


@dataclass(slots=True)
class ChunkReports:
    """The ``REPORT RequestId:`` lines of a chunk: read here, or left for the regex."""

    fast: FastReports
    """Values of the lines read (only rows with ``fast.ok``)."""
    fast_lines: np.ndarray
    """0-based line number in the chunk of each line read."""
    prefixes: dict[int, str]
    """Text before the marker on the lines read that have some, by row of ``fast``."""
    slow_lines: np.ndarray
    """0-based line numbers of the lines left for the regular expression."""
    slow_texts: list[str]
    """Their text."""


def split_reports(text: str) -> ChunkReports | None:
    """Read the chunk's REPORT lines in the usual layout; ``None`` when it has none.

    ``text`` is whole lines, ending in a newline.
    """
    data = text.encode("utf-8", "surrogatepass")  # round-trips any str exactly
    chunk = ChunkBytes(data)
    marks = find_marks(chunk, len(data))
    if len(marks) == 0:
        return None
    if _starts_lines(chunk, marks):  # every mark starts a line: one per line
        fast = fast_reports(chunk, marks, np.ones(len(marks), dtype=bool))
        lines = _lines_when_all_reports(chunk, marks, fast)
        if lines is not None:
            return ChunkReports(fast, lines, {}, lines[:0], [])
        ends = chunk.positions(_NEWLINE)
        lines, at, starts = np.searchsorted(ends, marks), marks, marks
    else:
        ends = chunk.positions(_NEWLINE)  # one per line
        line_of = np.searchsorted(ends, marks)
        first = np.empty(len(marks), dtype=bool)
        first[0] = True
        np.not_equal(line_of[1:], line_of[:-1], out=first[1:])
        single = np.append(first[1:], True)[first]  # the line has one marker only
        lines, at = line_of[first], marks[first]
        starts = np.where(lines > 0, ends[lines - 1] + 1, 0)
        fast = fast_reports(chunk, at, single)
    ok = fast.ok

    def decoded(start: int, stop: int) -> str:
        return data[start:stop].decode("utf-8", "surrogatepass")

    prefixed = ok & (at > starts)
    return ChunkReports(
        fast=fast,
        fast_lines=lines[ok],
        prefixes={
            int(row): decoded(int(starts[i]), int(at[i]))
            for row, i in zip(np.flatnonzero(prefixed[ok]), np.flatnonzero(prefixed), strict=True)
        },
        slow_lines=lines[~ok],
        slow_texts=[decoded(int(starts[i]), int(ends[lines[i]])) for i in np.flatnonzero(~ok)],
    )


def _starts_lines(chunk: ChunkBytes, marks: np.ndarray) -> bool:
    """Whether every marker starts a line (so each line has at most one)."""
    return bool(marks[0] == 0 and (chunk.raw[marks[1:] - 1] == _NEWLINE).all())


def _lines_when_all_reports(
    chunk: ChunkBytes, marks: np.ndarray, fast: FastReports
) -> np.ndarray | None:
    """``0..n-1`` when the chunk is nothing but the ``n`` lines read: every line read, each
    ending just before the next marker (what the reader checked in between holds no
    newline), the last one at the chunk's end; else None."""
    if not fast.ok.all():
        return None
    follows = fast.ends + 1
    if follows[-1] != chunk.size or (follows[:-1] != marks[1:]).any():
        return None
    return np.arange(len(marks))


@dataclass(slots=True)
class FastReports:
    ok: np.ndarray
    request_ids: Any
    duration_ms: np.ndarray
    billed_ms: np.ndarray
    memory_mb: np.ndarray
    max_used_mb: np.ndarray
    init_ms: np.ndarray
    ends: np.ndarray
    """Offset of the newline that ends each line read."""


def fast_reports(chunk: ChunkBytes, at: np.ndarray, candidates: np.ndarray) -> FastReports:
    """Read REPORT lines in the common layout from the chunk's bytes, all at once.

    ``at`` is the offset of each line's ``REPORT RequestId:``; only ``candidates`` are
    read. The lines as Lambda prints them today (``_usual_reports``) are read first; the
    rest by ``_walk_reports``, which reads any line of the layout. Lines that neither
    reads fail ``ok`` (left for the regular expression); every line read has the values
    ``_AWS_LINE`` reads from it.
    """
    usual = _usual_reports(chunk, at, candidates)
    rest = np.flatnonzero(candidates & ~usual.ok)
    if len(rest) == 0:
        return usual
    return _merged(usual, rest, _walk_reports(chunk, at[rest], np.ones(len(rest), dtype=bool)))


def _usual_reports(chunk: ChunkBytes, at: np.ndarray, candidates: np.ndarray) -> FastReports:
    """The lines exactly as Lambda prints them today: a 36-byte id, tabs between fields,
    numbers of at most 7 bytes, an optional ``Init Duration`` after a tab.

    One gather of a row of words per field (the head: marker, id and the duration; then
    each label with the number after it), then only arithmetic on the rows' words: a
    gather costs about 6 ns a row whatever its width up to a few cache lines, a word
    operation well under 1 ns.
    """
    rows = chunk.rows_id_words[at]
    head = _columns(rows)
    id_words = [_word_at(head, len(_MARK) + 1 + i) for i in range(0, 32, 8)]
    last = _word_at(head, len(_MARK) + 33) & np.uint64(0xFFFFFFFF)  # the id's last 4 bytes
    id_words.append(last | np.uint64(0x4141414100000000))
    ok = candidates & _rows_have(head, b" ", len(_MARK)) & _printable(id_words)
    ok &= _rows_have(head, b"\tDuration: ", _DURATION_AT - len(b"\tDuration: "))
    duration, length, readable = swar_numbers(_word_at(head, _DURATION_AT), decimal=True)
    ok &= readable
    where = at + _DURATION_AT + length
    values = [duration]
    for label in _USUAL_LABELS:
        field = _columns(chunk.rows_field_words[where])
        ok &= _rows_have(field, label)
        value, length, readable = swar_numbers(_word_at(field, len(label)), decimal=False)
        ok &= readable
        where = where + len(label) + length
        values.append(value)
    tail = _columns(chunk.rows_field_words[where])
    ok &= _rows_have(tail, b" MB")
    ends = where + 3 + _end_offsets(_word_at(tail, 3))
    ends[~ok | (ends < where + 3)] = -1
    init_ms = _usual_init(chunk, tail, where, ok & (ends < 0), ends)
    ok &= ends >= 0
    every = bool(ok.all())

    def read(values: np.ndarray) -> np.ndarray:
        return values if every else values[ok]

    ids = read(rows).view(np.uint8)[:, len(_MARK) + 1 : len(_MARK) + 1 + _USUAL_ID]
    return FastReports(
        ok=ok,
        request_ids=_ascii_strings(ids, np.full(len(ids), _USUAL_ID)),
        duration_ms=read(values[0]),
        billed_ms=read(values[1]),
        memory_mb=read(values[2]).astype(np.int64),
        max_used_mb=read(values[3]),
        init_ms=read(init_ms),
        ends=read(ends),
    )


def _usual_init(
    chunk: ChunkBytes, tail: np.ndarray, where: np.ndarray, rows: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """``Init Duration`` of the ``rows`` where it follows `` MB`` at ``where`` after a tab
    (``tail``: the words there), then `` ms`` and the line's end; sets their ``ends``."""
    label = b"\tInit Duration: "
    init_ms = np.full(len(where), np.nan)
    rows = np.flatnonzero(rows & _rows_have(tail, label, 3))
    if len(rows) == 0:
        return init_ms
    value, length, readable = swar_numbers(_word_at(tail[:, rows], 3 + len(label)), decimal=True)
    after = where[rows] + 3 + len(label) + length
    word = chunk.words[after]  # " ms" and the line's end
    offset = _end_offsets(word >> np.uint64(24))
    readable &= ((word & np.uint64(0xFFFFFF)) == int.from_bytes(b" ms", "little")) & (offset >= 0)
    init_ms[rows[readable]] = value[readable]
    ends[rows[readable]] = after[readable] + 3 + offset[readable]
    return init_ms


def _merged(usual: FastReports, rest: np.ndarray, other: FastReports) -> FastReports:
    """The lines read by ``_usual_reports`` and those of ``rest`` read by the walk."""
    ok = usual.ok.copy()
    ok[rest[other.ok]] = True
    order = np.argsort(np.concatenate([np.flatnonzero(usual.ok), rest[other.ok]]), kind="stable")

    def both(name: str) -> np.ndarray:
        result: np.ndarray = np.concatenate([getattr(usual, name), getattr(other, name)])
        return result[order]

    if _ARROW is None:
        request_ids = np.concatenate([usual.request_ids, other.request_ids])[order]
    else:
        joined = _ARROW.concat_arrays([usual.request_ids, other.request_ids])
        request_ids = joined.take(_ARROW.array(order))
    return FastReports(
        ok=ok,
        request_ids=request_ids,
        duration_ms=both("duration_ms"),
        billed_ms=both("billed_ms"),
        memory_mb=both("memory_mb"),
        max_used_mb=both("max_used_mb"),
        init_ms=both("init_ms"),
        ends=both("ends"),
    )


def _walk_reports(chunk: ChunkBytes, at: np.ndarray, candidates: np.ndarray) -> FastReports:
    """Read REPORT lines in the common layout from the chunk's bytes, all at once.

    ``at`` is the offset of each line's ``REPORT RequestId:``. The layout: ``REPORT
    RequestId: <printable ASCII id>``, then ``Duration``, ``Billed Duration``, ``Memory
    Size``, ``Max Memory Used`` and optionally ``Init Duration``, each after a tab (or,
    on the whole line, a space and a tab, as older lines have), then an optional tab or
    space before the newline. Lines with anything else fail ``ok``; every other line's
    values equal what ``_AWS_LINE`` reads from it.
    """
    cursor = at + len(_MARK)
    ok = candidates & (chunk.byte(cursor) == _SPACE)
    cursor = cursor + 1
    id_start = cursor
    id_words, usual = chunk.usual_ids(id_start)
    id_length = np.full(len(at), _USUAL_ID)
    other = np.flatnonzero(~usual)
    if len(other):  # ids of another length, or not printable ASCII: measured one by one
        window = chunk.rows_id[id_start[other]]
        id_length[other] = np.argmin((window > _SPACE) & (window < 127), axis=1)
    ok &= id_length >= 1  # 0: no id, or too long for the window
    cursor = cursor + id_length
    older = chunk.byte(cursor) == _SPACE
    values = np.full((len(_LAYOUT), len(at)), np.nan)
    for layout, rows in ((_LAYOUT, ~older), (_OLDER_LAYOUT, older)):
        rows = np.flatnonzero(rows & ok)
        if len(rows) == 0:
            continue
        where = cursor[rows]
        good = np.ones(len(rows), dtype=bool)
        for k, (literal, decimal) in enumerate(layout):
            good &= chunk.literal(where, literal)
            where = where + len(literal)
            values[k, rows], length, readable = chunk.numbers(where, decimal=decimal)
            good &= readable
            where = where + length
        good &= chunk.literal(where, b" MB")
        ok[rows] = good
        cursor[rows] = where + len(b" MB")
    # then the end of the line, or Init Duration and the end of the line
    ends = chunk.line_ends(cursor)
    init_ms = np.full(len(at), np.nan)
    cursor = cursor + (chunk.byte(cursor) == _SPACE)
    rows = np.flatnonzero(ok & (ends < 0) & chunk.literal(cursor, _INIT_LABEL))
    if len(rows):
        where = cursor[rows] + len(_INIT_LABEL)
        value, length, readable = chunk.numbers(where, decimal=True)
        where = where + length
        end = chunk.line_ends(where + len(b" ms"))
        readable &= chunk.literal(where, b" ms") & (end >= 0)
        init_ms[rows[readable]] = value[readable]
        ends[rows[readable]] = end[readable]
    ok &= ends >= 0
    return FastReports(
        ok=ok,
        request_ids=_request_ids(chunk, id_start[ok], id_length[ok], id_words[ok]),
        duration_ms=values[0, ok],
        billed_ms=values[1, ok],
        memory_mb=values[2, ok].astype(np.int64),
        max_used_mb=values[3, ok],
        init_ms=init_ms[ok],
        ends=ends[ok],
    )


def _request_ids(
    chunk: ChunkBytes, start: np.ndarray, length: np.ndarray, words: np.ndarray
) -> Any:
    """The request ids of the lines read: from the words :meth:`ChunkBytes.usual_ids`
    gathered when all have the usual length, else from windows over the chunk."""
    if len(length) and (length == _USUAL_ID).all():
        data = words.view(np.uint8).reshape(len(length), -1)[:, :_USUAL_ID]
        return _ascii_strings(data, length)
    return _ascii_strings(chunk.rows_id[start], length)


def _ascii_strings(window: np.ndarray, length: np.ndarray) -> Any:
    """The ASCII strings ``window[i, :length[i]]``: a pyarrow array built from the bytes
    when pandas' ``str`` is Arrow-backed (no Python object per string), else an object array.
    """
    offsets = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    if len(length) and (length == window.shape[1]).all():
        data = np.ascontiguousarray(window).reshape(-1)
    else:
        data = window[np.arange(window.shape[1]) < length[:, None]]
    if _ARROW is not None:
        return _ARROW.LargeStringArray.from_buffers(
            len(length), _ARROW.py_buffer(offsets), _ARROW.py_buffer(data)
        )
    text = data.tobytes().decode("ascii")
    return np.array([text[a:b] for a, b in itertools.pairwise(offsets.tolist())], dtype=object)


def merge_strings(fast: Any, slow: list[str], order: np.ndarray | None) -> Any:
    """The fast rows' strings (from ``_ascii_strings``) and the slow rows', in line order,
    as pandas' ``str`` array or an object array."""
    if _ARROW is None:
        if order is None:
            return fast
        return np.concatenate([fast, np.array(slow, dtype=object)])[order]
    if order is not None:
        both = _ARROW.concat_arrays([fast, _ARROW.array(slow, type=_ARROW.large_string())])
        fast = both.take(_ARROW.array(order))
    return pd.array(fast, dtype="str")


def constant_strings(value: str, n: int) -> Any:
    """``value`` ``n`` times as pandas' ``str`` array: from one buffer of the repeated bytes
    when pandas' ``str`` is Arrow-backed (``pd.Series(value, dtype="str")`` repeats the
    scalar through a take, about 3 ms per 58,000 rows), else an object array."""
    if _ARROW is None:
        return np.full(n, value, dtype=object)
    data = value.encode("utf-8")  # a lone surrogate fails, as in pandas
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    strings = _ARROW.LargeStringArray.from_buffers(
        n, _ARROW.py_buffer(offsets), _ARROW.py_buffer(data * n)
    )
    return pd.array(strings, dtype="str")
