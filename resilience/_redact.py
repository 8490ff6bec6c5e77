"""Credentials out of messages: what callwise shows of URLs, headers and error payloads.

:func:`redact` replaces with ``***``: the user info of URLs (``https://user:pw@host``), the
values of credential headers (``Authorization``, ``Proxy-Authorization``, ``Cookie``,
``Set-Cookie``, ``X-Api-Key``, ``X-Amz-Security-Token``) written as ``name: value``,
``name=value`` or as a mapping entry, ``Bearer`` / ``Basic`` credentials, AWS access key
ids, AWS secret keys and session tokens named as such, and any secret the caller
configured (a token given to an invoker). :func:`redact_value` does the same inside
decoded JSON (mappings, lists and strings), where a credential header's value is
replaced whole.

Example:
    >>> redact("GET https://bob:hunter2@api.example.com/x, Authorization: Bearer abc.def")
    'GET https://***@api.example.com/x, Authorization: ***'
    >>> redact_value({"error": "denied", "headers": {"X-Api-Key": "k-123"}})
    {'error': 'denied', 'headers': {'X-Api-Key': '***'}}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "SENSITIVE_HEADERS", "redact", "redact_value"]

MASK = "***"

#: Header names whose values are credentials (compared without case).
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-amz-security-token",
        "aws_secret_access_key",
        "aws_session_token",
        "secret_access_key",
        "session_token",
    }
)

_NAMES = "|".join(sorted((re.escape(n) for n in SENSITIVE_HEADERS), key=len, reverse=True))
_SCHEMES = r"(?:Bearer|Basic|Digest|Negotiate|NTLM|Token|AWS4-HMAC-SHA256)"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> scheme://***@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@"), rf"\1{MASK}@"),
    # a mapping entry: 'Authorization': 'Bearer x' or "X-Api-Key": "k"
    (re.compile(rf"(?i)(['\"](?:{_NAMES})['\"]\s*:\s*)(['\"])(?:(?!\2).)*\2"), rf"\1\2{MASK}\2"),
    # a cookie header: every cookie, to the end of the line (or a quote)
    (re.compile(r"(?i)\b((?:set-)?cookie\s*[:=]\s*)[^'\"\r\n]+"), rf"\1{MASK}"),
    # a header or setting: Authorization: Bearer x / x-api-key=k (an optional auth
    # scheme and one credential)
    (re.compile(rf"(?i)\b((?:{_NAMES})\s*[:=]\s*)(?:{_SCHEMES}\s+)?[^\s,;'\"]+"), rf"\1{MASK}"),
    # credentials of an auth scheme wherever they appear (a token has a digit or a sign,
    # so that "Basic usage" stays prose)
    (
        re.compile(r"\b(Bearer|Basic)\s+(?=[A-Za-z._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{6,}"),
        rf"\1 {MASK}",
    ),
    # AWS access key ids (long-term AKIA, temporary ASIA, and the other IAM id prefixes)
    (re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[A-Z0-9]{16}\b"), MASK),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with credentials replaced by ``***`` (see the module docstring).

    Args:
        text: a message, a repr, a URL.
        secrets: values to hide wherever they appear (tokens given to an invoker).
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of decoded JSON with credentials replaced by ``***``.

    Strings are redacted as by :func:`redact`; the value of a mapping key named like a
    credential header is replaced whole; other values are returned as they are.
    """
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {
            key: MASK
            if isinstance(key, str) and key.lower() in SENSITIVE_HEADERS
            else redact_value(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(item, secrets) for item in value)
    return value
