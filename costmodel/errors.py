"""Errors raised by callwise's cost model.

Exception tree::

    CostModelError
    ├── InvalidUsage          also a ValueError and a resilience.InvalidUsage: a
    │   │                     parameter or a file field is wrong
    │   └── InvalidFile       a file (architecture, scenario, price sheet) is wrong:
    │                         carries path, field and reason
    └── UnknownProvider       also a KeyError: lists the known keys and the closest one
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from resilience import errors as _resilience_errors

__all__ = ["CostModelError", "InvalidFile", "InvalidUsage", "UnknownProvider"]


class CostModelError(Exception):
    """Base class of every error the cost model raises itself."""


class InvalidUsage(CostModelError, _resilience_errors.InvalidUsage):
    """A parameter is out of range, of the wrong kind, or not billed by the provider.

    One family for bad input: ``except resilience.InvalidUsage`` (or ``ValueError``) catches
    it as well as resilience's own.
    """


class InvalidFile(InvalidUsage):
    """A file given to callwise is wrong.

    Attributes:
        path: the file.
        field: the dotted path of the offending field (``functions.transcode.memory_mb``).
        reason: what is wrong and what is allowed.
    """

    def __init__(self, path: str, field: str, reason: str) -> None:
        self.path = str(path)
        self.field = field
        self.reason = reason
        super().__init__(f"{self.path}: {field}: {reason}")


class UnknownProvider(CostModelError, KeyError):
    """No price sheet has that key.

    Attributes:
        key: the key asked for.
        known: the known keys.
        closest: the closest known key, or None.
    """

    def __init__(self, key: str, known: Iterable[str]) -> None:
        self.key = key
        self.known = sorted(known)
        matches = difflib.get_close_matches(str(key), self.known, n=1, cutoff=0.4)
        self.closest = matches[0] if matches else None
        hint = f"; did you mean {self.closest!r}? known: " if self.closest else "; known: "
        super().__init__(f"unknown provider {key!r}{hint}{', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])
