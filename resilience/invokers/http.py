"""HTTP-triggered functions (HTTP triggers, API gateways, any JSON endpoint) as callables.

``HttpFunction(url)(payload)`` sends ``payload`` as JSON and returns the decoded JSON
answer; ``AsyncHttpFunction`` does the same with ``await``. Both are plain callables,
so every callwise decorator applies to them (sync or async is decided by the class).
Needs the ``http`` extra (httpx).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from .._validate import positive, positive_int
from ..errors import HttpStatusError, InvalidUsage, ResponseTooLarge, TimeoutExceeded
from ..ledger import report_sizes
from ._common import client_span, display_url, encode_payload, require

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncHttpFunction", "HttpFunction"]

#: The default bound on a response body, bytes (10 MiB).
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024

Token = str | Callable[[], str]
Signer = Callable[["httpx.Request"], "httpx.Request | None"]
_METHOD = re.compile(r"[A-Z]+")


def _shown(url: object) -> object:
    """A bad ``url`` as an error may show it: without anything that may be a credential."""
    if not isinstance(url, str):
        return url
    rest, query = url.split("#")[0], ""
    if "?" in rest:
        rest, query = rest.split("?", 1)[0], "?…"
    if "://" in url:
        try:
            return display_url(url)
        except ValueError:  # urlsplit refuses it: strip user info by hand
            scheme, rest = rest.split("://", 1)
            return f"{scheme}://{rest.rsplit('@', 1)[-1]}{query}"
    return rest.rsplit("@", 1)[-1] + query


def _check_url(url: object) -> SplitResult:
    """``url`` split, if it is an absolute http:// or https:// URL with a host."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InvalidUsage(
            f"url={_shown(url)!r}: not a valid URL ({exc}); give an absolute URL with "
            "scheme http:// or https:// and a host, e.g. 'https://example.com/api/fn'"
        ) from None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidUsage(
            f"url={_shown(url)!r}: must be an absolute URL with scheme "
            "http:// or https:// and a host, e.g. 'https://example.com/api/fn'"
        )
    return parts


def _check_method(method: object) -> str:
    """``method`` in upper case, if it is an HTTP method name."""
    if not (isinstance(method, str) and _METHOD.fullmatch(method.upper())):
        raise InvalidUsage(f"method={method!r}: must be an HTTP method such as 'POST'")
    return method.upper()


def _check_auth(url: str, parts: SplitResult, *, token: object, sign: object) -> None:
    """``token`` a non-empty string or a callable, not given with user info in the URL;
    ``sign`` a callable."""
    if token is not None and not callable(token) and not (isinstance(token, str) and token):
        # Never echo the value: it may be a credential.
        raise InvalidUsage(
            f"token=<{type(token).__name__}>: must be a non-empty string or a "
            "callable returning one"
        )
    if token is not None and (parts.username or parts.password):
        raise InvalidUsage(
            f"url={display_url(url)!r} has user info and token= is given: both are "
            "credentials for the Authorization header; give one of them"
        )
    if sign is not None and not callable(sign):
        raise InvalidUsage(f"sign={sign!r}: must be a callable taking and returning a request")


def _check_headers(headers: object) -> None:
    """``headers`` None or a mapping of str to str (never shown: it may hold credentials)."""
    if headers is not None and not (
        isinstance(headers, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise InvalidUsage("headers=<...>: must be a mapping of str to str")


def _tls_verify(verify: object, *, client: object) -> bool | ssl.SSLContext:
    """What the created client verifies TLS with: a CA bundle path loaded as an SSLContext.

    ``verify`` applies only to the client this object creates: with ``client`` given it
    must stay True.
    """
    if not isinstance(verify, (bool, str, ssl.SSLContext)):
        raise InvalidUsage(
            f"verify={verify!r}: must be True, False, a CA bundle path or an SSLContext"
        )
    if isinstance(verify, str):
        try:
            verify = ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidUsage(
                f"verify={verify!r}: cannot load a CA bundle from this path ({exc})"
            ) from exc
    if client is not None and verify is not True:
        raise InvalidUsage(
            f"verify={verify!r}: applies only to the client HttpFunction creates; "
            "configure verification on the client you pass"
        )
    return verify


def _basic_auth(url: str, parts: SplitResult) -> tuple[str | None, str]:
    """The Basic ``Authorization`` header for the URL's user info (None without), and the
    URL to request: without the user info, which httpx would log."""
    if parts.username is None and parts.password is None:
        return None, url
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    pair = f"{user}:{password}".encode()
    basic = "Basic " + base64.b64encode(pair).decode("ascii")
    netloc = parts.netloc.rsplit("@", 1)[1]
    return basic, urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class _HttpFunctionBase:
    """What both HTTP invokers share: checks, request building, answer decoding."""

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        timeout_s: float = 10.0,
        token: Token | None = None,
        sign: Signer | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        client: Any = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._httpx = require("httpx", "http")
        parts = _check_url(url)
        self.method = _check_method(method)
        self.timeout_s = positive("timeout_s", timeout_s)
        self.max_response_bytes = (
            None
            if max_response_bytes is None
            else positive_int("max_response_bytes", max_response_bytes)
        )
        _check_auth(url, parts, token=token, sign=sign)
        _check_headers(headers)
        verify = _tls_verify(verify, client=client)
        self.url = display_url(url)
        """The URL without user info, query or fragment (safe to show)."""
        self._basic, self._url = _basic_auth(url, parts)
        self._token = token
        self._sign = sign
        self._headers = dict(headers or {})
        self._verify = verify
        self._client = client
        self._owns_client = client is None
        self._timeout = self._httpx.Timeout(self.timeout_s)
        self.__name__ = self.__qualname__ = f"{self.method} {self.url}"

    def _build(
        self, client: Any, payload: object, carrier: Mapping[str, str] | None = None
    ) -> httpx.Request:
        content = encode_payload(payload)
        headers = {"accept": "application/json", **(carrier or {}), **self._headers}
        if content is not None and not isinstance(payload, (bytes, bytearray, memoryview)):
            headers.setdefault("content-type", "application/json")
        if self._token is not None:
            token = self._token() if callable(self._token) else self._token
            headers["authorization"] = f"Bearer {token}"
        elif self._basic is not None:
            headers["authorization"] = self._basic
        request: httpx.Request = client.build_request(
            self.method, self._url, content=content, headers=headers, timeout=self._timeout
        )
        if self._sign is not None:
            signed = self._sign(request)
            if signed is not None:
                request = signed
        return request

    def _span(self) -> AbstractContextManager[dict[str, str]]:
        """The CLIENT span of one request (telemetry tracing), yielding its headers."""
        return client_span(self.url, None, None, **{"http.request.method": self.method})

    def _start(self) -> _Deadline:
        """The deadline of one call: the whole call (connect, send, wait, read) in timeout_s."""
        return _Deadline(time.monotonic() + self.timeout_s, self.timeout_s)

    def _check_declared_size(self, response: httpx.Response) -> None:
        declared = response.headers.get("content-length", "")
        limit = self.max_response_bytes
        if limit is not None and declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(self.url, limit, int(declared))

    def _add(self, chunks: list[bytes], chunk: bytes, size: int, deadline: _Deadline) -> int:
        """Keep one chunk of the body; the size so far. Stops at the bound and the deadline."""
        size += len(chunk)
        if self.max_response_bytes is not None and size > self.max_response_bytes:
            raise ResponseTooLarge(self.url, self.max_response_bytes)
        if deadline.passed():
            raise TimeoutExceeded(self.timeout_s, self.__name__)
        chunks.append(chunk)
        return size

    def _answer(self, request: httpx.Request, response: httpx.Response, raw: bytes) -> object:
        report_sizes(request_bytes=len(request.content), response_bytes=len(raw))
        encoding = response.encoding or "utf-8"
        if not response.is_success:
            text = raw[:4000].decode(encoding, errors="replace")
            raise HttpStatusError(
                response.status_code,
                self.url,
                text,
                secrets=_secrets_of(request),
                headers=response.headers,
            )
        if not raw:
            return None
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/json" or content_type.endswith("+json"):
            return json.loads(raw)
        return raw.decode(encoding, errors="replace")

    def _describe(self) -> str:
        auth = "bearer" if self._token is not None else None
        if self._sign is not None:
            auth = "sign" if auth is None else f"{auth}+sign"
        verify = self._verify if isinstance(self._verify, bool) else "custom"
        return (
            f"{self.url!r}, method={self.method!r}, timeout_s={self.timeout_s:g}, "
            f"auth={auth!r}, verify={verify!r}"
        )


class _Deadline(dict[str, float]):
    """The ``timeout`` extension of one request, answering with what is left of a deadline.

    httpcore reads ``request.extensions["timeout"]`` with ``.get()`` before it connects,
    before each write and before each read of the body; so each of those waits at most
    until the call's deadline, and a server that trickles a byte at a time cannot hold
    the call beyond it. (The loop over the chunks checks the deadline as well.)
    """

    def __init__(self, deadline: float, timeout_s: float) -> None:
        super().__init__(connect=timeout_s, read=timeout_s, write=timeout_s, pool=timeout_s)
        self.deadline = deadline

    def left_s(self) -> float:
        return self.deadline - time.monotonic()

    def passed(self) -> bool:
        return self.left_s() <= 0

    def get(self, key: str, default: Any = None) -> Any:
        return max(self.left_s(), 1e-3) if key in self else default

    def __getitem__(self, key: str) -> float:
        super().__getitem__(key)  # KeyError for an unknown key
        return max(self.left_s(), 1e-3)


def _secrets_of(request: httpx.Request) -> tuple[str, ...]:
    """The credentials a request carried, to keep out of error messages."""
    value = request.headers.get("authorization", "")
    return (value, value.partition(" ")[2]) if value else ()


class HttpFunction(_HttpFunctionBase):
    """A remote function behind an HTTP endpoint, called like a local function.

    Args:
        url: absolute ``http://`` or ``https://`` URL of the trigger or gateway route.
        method: HTTP method.
        timeout_s: the deadline of the whole call, seconds: connecting, sending, waiting
            for the answer and reading it all count, so a server that trickles its answer
            cannot hold the call longer. Beyond it the call raises
            :class:`resilience.TimeoutExceeded` (a ``TimeoutError``). A blocking DNS
            lookup of the plain client cannot be interrupted (the async client's can).
        token: a bearer token, or a callable returning a fresh one for each call.
        sign: ``sign(request) -> request`` (or None to keep it, changed in place):
            called on every ``httpx.Request`` just before it is sent, e.g. to add a
            signature header.
        headers: extra headers sent with every request.
        verify: TLS verification: True (default), False, a CA bundle path or an
            ``ssl.SSLContext``. Only for the client this object creates.
        client: an ``httpx.Client`` to use (its own settings apply); by default one is
            created on first use and closed by :meth:`close`.
        max_response_bytes: the largest answer read, bytes (default 10 MiB; None: no
            bound). The body is read as a stream and the call stops at the bound with
            :class:`resilience.ResponseTooLarge` (at once when ``Content-Length`` says
            more), so a flooding server cannot fill the memory.

    Calling it with a payload POSTs the payload as JSON (bytes are sent as they are;
    None sends no body) and returns the answer: JSON decoded when the response says
    ``application/json``, else the text, None when empty. A status outside 2xx raises
    :class:`resilience.HttpStatusError` (carrying the ``Retry-After`` and ``Date``
    headers that :func:`resilience.throttle_info` reads); network errors are httpx's
    own. Body sizes are reported to the ledger. The token, user info and query string of the URL
    never appear in the repr, the name or the errors; user info in the URL is sent
    as a Basic ``Authorization`` header, not in the URL, so httpx does not log it.
    httpx does log request URLs (at INFO) with their query string: pass keys with
    ``token=`` or ``headers=``, not in the query.

    Example:
        >>> fn = HttpFunction("https://example.com/api/resize", token="s3cr3t")
        >>> fn
        HttpFunction('https://example.com/api/resize', method='POST', timeout_s=10, auth='bearer', verify=True)
    """  # noqa: E501

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        timeout_s: float = 10.0,
        token: Token | None = None,
        sign: Signer | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        client: httpx.Client | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(
            url,
            method=method,
            timeout_s=timeout_s,
            token=token,
            sign=sign,
            headers=headers,
            verify=verify,
            client=client,
            max_response_bytes=max_response_bytes,
        )
        self._lock = threading.Lock()

    def __call__(self, payload: object = None) -> Any:
        """Call the function with ``payload`` and return its decoded answer."""
        with self._span() as carrier:
            return self._invoke(payload, carrier)

    def _invoke(self, payload: object, carrier: Mapping[str, str]) -> Any:
        client = self._client or self._make_client()
        deadline = self._start()
        request = self._build(client, payload, carrier)
        request.extensions["timeout"] = deadline
        try:
            response = client.send(request, stream=True)
            try:
                self._check_declared_size(response)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size = self._add(chunks, chunk, size, deadline)
            finally:
                response.close()
        except self._httpx.TimeoutException as exc:
            raise TimeoutExceeded(self.timeout_s, self.__name__) from exc
        return self._answer(request, response, b"".join(chunks))

    def _make_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = self._httpx.Client(verify=self._verify)
            return self._client  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> HttpFunction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpFunction({self._describe()})"


class AsyncHttpFunction(_HttpFunctionBase):
    """The ``async`` twin of :class:`HttpFunction`: ``await fn(payload)``.

    Same arguments, with ``client`` an ``httpx.AsyncClient``. The client it creates is
    bound to the event loop of the first call; close it with ``await fn.aclose()`` or
    ``async with``.
    """

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        timeout_s: float = 10.0,
        token: Token | None = None,
        sign: Signer | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        client: httpx.AsyncClient | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(
            url,
            method=method,
            timeout_s=timeout_s,
            token=token,
            sign=sign,
            headers=headers,
            verify=verify,
            client=client,
            max_response_bytes=max_response_bytes,
        )

    async def __call__(self, payload: object = None) -> Any:
        """Call the function with ``payload`` and return its decoded answer."""
        with self._span() as carrier:
            return await self._invoke(payload, carrier)

    async def _invoke(self, payload: object, carrier: Mapping[str, str]) -> Any:
        if self._client is None:
            self._client = self._httpx.AsyncClient(verify=self._verify)
        client = self._client
        deadline = self._start()
        request = self._build(client, payload, carrier)
        request.extensions["timeout"] = deadline
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await client.send(request, stream=True)
                try:
                    self._check_declared_size(response)
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size = self._add(chunks, chunk, size, deadline)
                finally:
                    await response.aclose()
        except (TimeoutError, self._httpx.TimeoutException) as exc:
            if isinstance(exc, TimeoutExceeded):
                raise
            raise TimeoutExceeded(self.timeout_s, self.__name__) from exc
        return self._answer(request, response, b"".join(chunks))

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> AsyncHttpFunction:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncHttpFunction({self._describe()})"
