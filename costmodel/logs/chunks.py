"""Log text in chunks of whole lines, and the frames read from them, file by file.

``stream_chunks`` cuts an open text stream into chunks of whole lines (each with its first
line number); ``frames_of`` reads one file's chunks in its format, detected from the first
chunk that has a report marker unless named. ``read_logs`` runs them over each file here;
``costmodel.logs.tasks`` runs them in a cluster's tasks, over whole files or byte ranges.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import IO

import pandas as pd

from .formats import ReadState, detect, empty_frame, read_chunk
from .records import RECORD_FORMATS, record_frames

__all__ = ["frames_of", "read_state", "stream_chunks"]


def read_state(format: str, function: str, path: str, memory_mb: int | None) -> ReadState:
    return ReadState(
        format=None if format == "auto" else format,
        function=function,
        path=path,
        memory_mb=memory_mb,
    )


def frames_of(
    chunks: Iterator[tuple[str, int, int]],
    state: ReadState,
    progress: Callable[[int], object] | None,
) -> Iterator[pd.DataFrame]:
    """The frames of one file (or of lines), its format detected from its first chunk
    with a report marker unless named."""
    for text, first_line, consumed in chunks:
        if state.format is None:
            state.format = detect(text, first_chunk=first_line == 1)
        if state.format in RECORD_FORMATS:
            yield from record_frames(
                itertools.chain([(text, first_line, consumed)], chunks), state, progress
            )
            return
        if state.format is None:
            frame = empty_frame()
            frame.attrs["malformed"], frame.attrs["malformed_count"] = [], 0
        else:
            frame = read_chunk(text, first_line, state)
        if progress is not None:
            progress(consumed)
        yield frame


def stream_chunks(stream: IO[str], chunk_chars: int) -> Iterator[tuple[str, int, int]]:
    """(text of whole lines ending in a newline, its first line number, characters read).

    About ``chunk_chars`` characters a chunk: the last line is completed with
    ``readline`` (no copy of the chunk to carry a partial line over); a last line
    without a newline gets one.
    """
    line = 1
    while True:
        text = stream.read(chunk_chars)
        if not text:
            return
        if text[-1] != "\n":
            text += stream.readline()
        consumed = len(text)
        if text[-1] != "\n":
            text += "\n"
        yield text, line, consumed
        line += text.count("\n")
