"""Helpers shared by the invokers: optional imports, payloads, checks."""

from __future__ import annotations

import importlib
import json
from contextlib import AbstractContextManager, nullcontext
from types import ModuleType
from typing import Literal
from urllib.parse import urlsplit

from .._observe import hooks as _hooks
from ..errors import InvalidUsage, MissingDependency

Mode = Literal["sync", "async"]
MODES: tuple[str, ...] = ("sync", "async")


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or raise MissingDependency naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(extra, module) from exc


def encode_payload(payload: object) -> bytes | None:
    """The request body: None for no payload, bytes as given, anything else as JSON."""
    if payload is None:
        return None
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_body(raw: bytes) -> object:
    """A function's answer: None when empty, JSON when it parses, else UTF-8 text.

    Text that is not UTF-8 comes back as bytes.
    """
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def check_mode(mode: str) -> Mode:
    if mode == "sync":
        return "sync"
    if mode == "async":
        return "async"
    raise InvalidUsage(f"mode={mode!r}: must be 'sync' or 'async'")


def check_name(name: str, value: object) -> str:
    if isinstance(value, str) and value.strip() and value == value.strip():
        return value
    raise InvalidUsage(f"{name}={value!r}: must be a non-empty string without surrounding spaces")


def optional_name(name: str, value: object) -> str | None:
    return None if value is None else check_name(name, value)


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment: safe to show in names and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    return shown + ("?…" if parts.query else "")


def client_span(
    name: str, provider: str | None, region: str | None, **more: str
) -> AbstractContextManager[dict[str, str]]:
    """A CLIENT span around one invocation while telemetry traces (else nothing).

    The span carries the OpenTelemetry FaaS client attributes (``faas.invoked_name``,
    ``faas.invoked_provider``, ``faas.invoked_region``, the ones known); the context
    manager yields the headers (W3C ``traceparent``, ``tracestate``) that carry it to
    the callee, empty when nothing is traced.
    """
    hooks = _hooks()
    if hooks is None:
        return nullcontext({})
    attributes = {"faas.invoked_name": name, **more}
    if provider is not None:
        attributes["faas.invoked_provider"] = provider
    if region is not None:
        attributes["faas.invoked_region"] = region
    return hooks.client_span(name, attributes)
