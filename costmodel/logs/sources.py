"""Where logs come from: files, folders, globs and fsspec URLs, gzip or not.

``expand_sources`` turns what a user names (a path, a folder, a glob such as
``logs/2024-*/*.gz``, an ``s3://bucket/prefix/*.gz`` URL, or a list of them) into the list
of :class:`LogFile` it means, before anything is read; ``LogFile.open_text`` opens one as
text, decompressing gzip whatever the file's name (a CloudWatch export's objects are
``000000.gz``; a gzip object saved without its suffix is read too).

Remote URLs go through fsspec; ``s3://`` needs the optional ``s3`` extra (``s3fs``), kept
apart from the ``aws`` extra (boto3) so that the two packages' botocore pins never have to
agree in one install. Credentials are never shown: a URL's ``user:password@`` part is
dropped from every name, and ``storage_options`` are passed to fsspec only.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import InvalidUsage

__all__ = ["LogFile", "expand_sources", "is_url", "looks_like_path", "shown_url"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?[]")
_GZIP_MAGIC = b"\x1f\x8b"
_LOG_SUFFIXES = (".gz", ".log", ".txt", ".json", ".jsonl", ".ndjson", ".csv")
_EXTRAS = {"s3": "s3", "s3a": "s3"}  # protocol -> the callwise extra that brings it


@dataclass(frozen=True, slots=True)
class LogFile:
    """One log file, local or remote.

    Attributes:
        path: the local path, or the object's path as its fsspec filesystem names it.
        name: how messages show it: the path, or the URL without credentials.
        size: bytes as stored (compressed, for gzip), None when unknown.
        fs: the fsspec filesystem of a remote file; None for a local one.
    """

    path: str
    name: str
    size: int | None
    fs: Any = None

    @property
    def stem(self) -> str:
        """The file's name without its log suffixes (``api.log.gz`` -> ``api``)."""
        name = self.path.rstrip("/").rsplit("/", 1)[-1]
        name = Path(name).name
        for suffix in _LOG_SUFFIXES:
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        return name or "unknown"

    @contextlib.contextmanager
    def open_text(self) -> Iterator[IO[str]]:
        """The file as UTF-8 text (bad bytes replaced), gunzipped when it is gzip."""
        with contextlib.ExitStack() as stack:
            opener = open if self.fs is None else self.fs.open
            raw: IO[bytes] = stack.enter_context(opener(self.path, "rb"))
            head = raw.read(2)
            raw.seek(0)
            binary: Any = raw
            if head == _GZIP_MAGIC:
                binary = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
            text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace")
            try:
                yield text
            finally:
                text.detach()

    def is_gzip(self) -> bool:
        """Whether the file is gzip-compressed (by its first two bytes, whatever its name)."""
        opener = open if self.fs is None else self.fs.open
        with opener(self.path, "rb") as raw:
            return bool(raw.read(2) == _GZIP_MAGIC)

    @contextlib.contextmanager
    def open_lines(self, start: int, stop: int) -> Iterator[IO[str]]:
        """The lines that start in bytes ``[start, stop)`` of an uncompressed file, as text.

        A line belongs to the range its first byte is in, so ranges that tile a file read
        every line exactly once, a line that straddles a boundary whole by the range it
        starts in. Text is decoded as by :meth:`open_text` (boundaries fall after a
        newline byte, never inside a UTF-8 sequence or a CRLF pair).

        >>> import tempfile, pathlib
        >>> log = pathlib.Path(tempfile.mkdtemp()) / "a.log"
        >>> _ = log.write_text("one\\ntwo\\nthree")
        >>> one = LogFile(str(log), "a.log", 13)
        >>> def lines(start, stop):
        ...     with one.open_lines(start, stop) as text:
        ...         return text.read()
        >>> lines(0, 5), lines(5, 13)
        ('one\\ntwo\\n', 'three')
        """
        with contextlib.ExitStack() as stack:
            opener = open if self.fs is None else self.fs.open
            raw: IO[bytes] = stack.enter_context(opener(self.path, "rb"))
            begin = _line_start(raw, start)
            end = max(begin, _line_start(raw, stop))
            raw.seek(begin)
            window = io.BufferedReader(_Window(raw, end - begin), buffer_size=1 << 20)
            text = io.TextIOWrapper(window, encoding="utf-8", errors="replace")
            yield text


def _line_start(raw: IO[bytes], at: int) -> int:
    """Offset of the first line that starts at or after byte ``at`` (the file's size when
    none does): 0, or just after the first newline at or after ``at - 1``."""
    if at <= 0:
        return 0
    raw.seek(at - 1)
    position = at - 1
    while True:
        block = raw.read(1 << 16)
        if not block:
            return position
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)


class _Window(io.RawIOBase):
    """The next ``size`` bytes of ``raw``, as a stream of their own."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        self._raw = raw
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left)
        if want <= 0:
            return 0
        data = self._raw.read(want)
        view[: len(data)] = data
        self._left -= len(data)
        return len(data)


def is_url(text: str) -> bool:
    """Whether ``text`` is a URL with a scheme other than ``file://``."""
    return bool(_URL.match(text)) and not text.lower().startswith("file://")


def shown_url(url: str) -> str:
    """``url`` without a ``user:password@`` part (never shown in a message)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def looks_like_path(item: object) -> bool:
    """Whether a one-line string names a file rather than being a line of log text.

    A path object always does; a string does when it is an existing file or folder, a
    URL, or has no blank and no JSON/CSV shape and reads like a path (a separator, a glob
    character or a log suffix). Log lines always have a blank or start with ``{``.
    """
    if isinstance(item, os.PathLike):
        return True
    if not isinstance(item, str) or not item or "\n" in item or item.strip() != item:
        return False
    if is_url(item) or Path(item).exists():
        return True
    if any(blank in item for blank in " \t") or item[0] in "{[\"'" or "," in item:
        return False
    return (
        "/" in item
        or os.sep in item
        or bool(_GLOB.search(item))
        or (item.lower().endswith(_LOG_SUFFIXES))
    )


def expand_sources(
    source: str | os.PathLike[str] | LogFile | Iterable[str | os.PathLike[str] | LogFile],
    storage_options: Mapping[str, Any] | None = None,
) -> list[LogFile]:
    """The files named by a path, folder, glob or URL, or by a list of them, in order.

    A folder means every file under it (sorted, recursively, hidden ones skipped); a glob
    (``*``, ``?``, ``[``; ``**`` for any depth) its matching files, sorted. Local and
    remote items may be mixed.

    Args:
        source: what to read.
        storage_options: passed to fsspec for URLs (``endpoint_url``, ``key``,
            ``secret``, ``anon`` ... for ``s3://``); never shown.

    Raises:
        InvalidUsage: ``source`` is not a path or list of paths; a glob matches no file;
            a URL's protocol needs a package that is not installed (naming the extra).
        FileNotFoundError: a path or URL names nothing.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("b/000000.gz", "a/000000.gz", "a/.hidden", "notes.txt"):
        ...     (root / name).parent.mkdir(exist_ok=True)
        ...     _ = (root / name).write_text("")
        >>> [pathlib.Path(f.path).relative_to(root).as_posix() for f in expand_sources(root)]
        ['a/000000.gz', 'b/000000.gz', 'notes.txt']
        >>> [f.stem for f in expand_sources(str(root / "*" / "*.gz"))]
        ['000000', '000000']
    """
    if isinstance(source, (str, os.PathLike, LogFile)):
        items: list[Any] = [source]
    elif isinstance(source, Iterable) and not isinstance(source, (bytes, bytearray)):
        items = list(source)
    else:
        raise InvalidUsage(
            f"source={type(source).__name__}: must be a DataFrame, a path, a URL or a list of them"
        )
    options = dict(storage_options or {})
    files: list[LogFile] = []
    for item in items:
        if isinstance(item, LogFile):  # already expanded
            files.append(item)
            continue
        if not isinstance(item, (str, os.PathLike)):
            raise InvalidUsage(f"source: {item!r:.60} is not a path or URL")
        text = os.fspath(item)
        files += _remote(text, options) if is_url(text) else _local(text)
    return files


# ---------------------------------------------------------------- local


def _local(text: str) -> list[LogFile]:
    path = Path(text)
    if path.is_dir():
        return [_local_file(p) for p in _folder_files(path)]
    if path.exists():
        return [_local_file(path)]
    if _GLOB.search(text):
        found: list[Path] = []
        for match in sorted(glob(text, recursive=True)):
            one = Path(match)
            found += _folder_files(one) if one.is_dir() else [one] if one.is_file() else []
        if not found:
            raise InvalidUsage(f"no file matches {text!r}")
        return [_local_file(p) for p in found]
    raise FileNotFoundError(f"no such file or folder: {text}")


def _folder_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted, none in or under a hidden name."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _local_file(path: Path) -> LogFile:
    return LogFile(path=str(path), name=str(path), size=path.stat().st_size)


# ---------------------------------------------------------------- remote


def _filesystem(url: str, options: dict[str, Any]) -> tuple[Any, str]:
    """The fsspec filesystem for ``url`` and the path in it."""
    protocol = url.split("://", 1)[0].lower()
    extra = _EXTRAS.get(protocol)
    needs = (
        f"the optional {extra!r} extra (pip install 'callwise[{extra}]')"
        if extra
        else f"fsspec and the package for {protocol}://"
    )
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError:
        raise InvalidUsage(f"{shown_url(url)}: reading {protocol}:// URLs needs {needs}") from None
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        raise InvalidUsage(
            f"{shown_url(url)}: reading {protocol}:// URLs needs {needs} ({exc})"
        ) from None
    except ValueError as exc:  # an unknown protocol
        raise InvalidUsage(f"{shown_url(url)}: {exc}") from None
    return fs, str(path)


def _remote(url: str, options: dict[str, Any]) -> list[LogFile]:
    fs, path = _filesystem(url, options)
    protocol = url.split("://", 1)[0]
    if _GLOB.search(path):
        matches = fs.glob(path, detail=True)
        entries = {p: info for p, info in matches.items() if info.get("type") == "file"}
        if not entries:
            raise InvalidUsage(f"no object matches {shown_url(url)!r}")
    elif fs.isdir(path):
        entries = fs.find(path, detail=True)
    elif fs.exists(path):
        entries = {path: fs.info(path)}
    else:
        raise FileNotFoundError(f"no such file or folder: {shown_url(url)}")
    return [
        LogFile(path=p, name=f"{protocol}://{p}", size=entries[p].get("size"), fs=fs)
        for p in sorted(entries)
        if not p.rsplit("/", 1)[-1].startswith(".")
    ]
