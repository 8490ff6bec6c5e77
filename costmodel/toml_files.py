"""Reading the TOML files users give (architectures, simulations, price sheets).

One reader, so that every file problem reads the same: a missing file, a folder, a file that
is not UTF-8 text (a binary file, another encoding) or not TOML is an
:class:`~costmodel.InvalidFile` naming the path, never a ``UnicodeDecodeError`` traceback.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import InvalidFile

__all__ = ["read_toml"]


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML document in ``path``.

    Raises:
        InvalidFile: with the path, the field ``<file>`` and what is wrong.

    Example:
        >>> read_toml("no/such/file.toml")
        Traceback (most recent call last):
        ...
        costmodel.errors.InvalidFile: no/such/file.toml: <file>: no such file
    """
    where = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise InvalidFile(where, "<file>", "no such file") from None
    except IsADirectoryError:
        raise InvalidFile(where, "<file>", "is a folder; give a TOML file") from None
    except PermissionError:
        raise InvalidFile(where, "<file>", "cannot be read (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise InvalidFile(
            where,
            "<file>",
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "a TOML file is UTF-8 text",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidFile(where, "<file>", f"not valid TOML: {exc}") from None
