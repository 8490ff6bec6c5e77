"""Alibaba Cloud Function Compute 3.0 functions as callables, through its Python SDK.

Needs the ``alibaba`` extra (``alibabacloud_fc20230330``). The call is the SDK's
``invoke_function_with_options`` with the header ``x-fc-invocation-type`` set to
``Sync`` or ``Async``. Credentials come from the SDK's default chain (environment
``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``, config file,
instance role, ...) or from the client you pass; callwise never reads, stores or
prints them.
"""

from __future__ import annotations

import io
import threading
from typing import Any
from urllib.parse import urlsplit

from .._validate import positive
from ..errors import FunctionError, InvalidUsage
from ..ledger import report_sizes
from ._common import (
    Mode,
    check_mode,
    check_name,
    client_span,
    decode_body,
    encode_payload,
    optional_name,
    require,
)

__all__ = ["FcFunction"]

_INVOCATION_TYPES = {"sync": "Sync", "async": "Async"}


def _without_user_info(endpoint: str | None) -> str | None:
    """The endpoint without ``user:password@`` (FC authenticates by signature, never by
    user info; kept, it would reach the ``Host`` header and every message)."""
    if endpoint is None or "@" not in endpoint:
        return endpoint
    scheme, sep, rest = endpoint.rpartition("://")
    host = rest.rpartition("@")[2]
    return f"{scheme}{sep}{host}"


class FcFunction:
    """A Function Compute 3.0 function, called like a local function.

    Args:
        function_name: the function's name.
        mode: ``"sync"`` (``x-fc-invocation-type: Sync``) returns the function's
            answer; ``"async"`` (``Async``) hands the event to FC's async queue (its
            retry and destination settings apply) and returns the request id.
        client: an ``alibabacloud_fc20230330.client.Client``; by default one is built
            on first call from ``region_id`` or ``endpoint`` and the SDK's default
            credential chain.
        qualifier: a version or alias.
        region_id: region of the default client, e.g. ``"cn-hangzhou"``.
        endpoint: endpoint of the default client, e.g.
            ``"https://123456.cn-hangzhou.fc.aliyuncs.com"`` (the scheme is optional
            and defaults to https). User info (``user:password@``) is dropped: FC signs
            requests with the credential chain's keys.
        timeout_s: read and connect timeout of each call, seconds (None: the SDK's).

    The payload is sent as JSON (bytes as they are). When FC answers with the
    ``x-fc-error-type`` header (the function raised or its runtime failed),
    :class:`resilience.FunctionError` is raised with that type and the decoded error
    body; errors of the FC service itself are the SDK's own. Sizes are reported to
    the ledger.

    Example:
        >>> FcFunction("resize", mode="async", region_id="cn-hangzhou")
        FcFunction('resize', mode='async', qualifier=None)
    """

    def __init__(
        self,
        function_name: str,
        *,
        mode: Mode = "sync",
        client: Any = None,
        qualifier: str | None = None,
        region_id: str | None = None,
        endpoint: str | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.function_name = check_name("function_name", function_name)
        self.mode: Mode = check_mode(mode)
        self.qualifier = optional_name("qualifier", qualifier)
        self.region_id = optional_name("region_id", region_id)
        self.endpoint = _without_user_info(optional_name("endpoint", endpoint))
        self.timeout_s = None if timeout_s is None else positive("timeout_s", timeout_s)
        self._models = require("alibabacloud_fc20230330.models", "alibaba")
        self._runtime_options = require("darabonba.runtime", "alibaba").RuntimeOptions
        if client is None:
            if self.region_id is None and self.endpoint is None:
                raise InvalidUsage(
                    "region_id=None, endpoint=None: without a client, give region_id= "
                    "(e.g. 'cn-hangzhou') or endpoint="
                )
            if self.endpoint is not None and "://" in self.endpoint:
                scheme = urlsplit(self.endpoint).scheme.lower()
                if scheme not in ("http", "https") or not urlsplit(self.endpoint).hostname:
                    raise InvalidUsage(
                        f"endpoint={self.endpoint!r}: must be a host[:port], or a URL with "
                        "scheme http:// or https://"
                    )
            require("alibabacloud_fc20230330.client", "alibaba")
            require("alibabacloud_credentials.client", "alibaba")
        elif not callable(getattr(client, "invoke_function_with_options", None)):
            raise InvalidUsage(
                f"client={type(client).__name__}: has no invoke_function_with_options()"
            )
        self._client = client
        self._lock = threading.Lock()
        suffix = f":{self.qualifier}" if self.qualifier else ""
        self.__name__ = self.__qualname__ = f"fc:{self.function_name}{suffix}"

    def request_models(
        self, payload: object = None, carrier: dict[str, str] | None = None
    ) -> tuple[Any, Any, Any]:
        """The SDK request, headers and runtime models one call with ``payload`` sends.

        Args:
            payload: the body (JSON, bytes as they are).
            carrier: trace context headers (``traceparent``) sent as extra headers.

        Returns:
            ``(InvokeFunctionRequest, InvokeFunctionHeaders, RuntimeOptions)``.
        """
        body = encode_payload(payload)
        request = self._models.InvokeFunctionRequest(
            body=None if body is None else io.BytesIO(body), qualifier=self.qualifier
        )
        headers = self._models.InvokeFunctionHeaders(
            common_headers=dict(carrier) if carrier else None,
            x_fc_invocation_type=_INVOCATION_TYPES[self.mode],
        )
        if self.timeout_s is None:
            runtime = self._runtime_options()
        else:
            timeout_ms = max(1, round(self.timeout_s * 1000))
            runtime = self._runtime_options(read_timeout=timeout_ms, connect_timeout=timeout_ms)
        return request, headers, runtime

    def __call__(self, payload: object = None) -> Any:
        """Invoke the function with ``payload``.

        Returns:
            mode ``"sync"``: the decoded answer (JSON, else text; None when empty).
            mode ``"async"``: the request id FC assigned (``x-fc-request-id``).

        Raises:
            resilience.FunctionError: FC reported a function error.
        """
        client = self._client or self._make_client()
        with client_span(self.function_name, "alibaba_cloud", self.region_id) as carrier:
            return self._invoke(client, payload, carrier)

    def _invoke(self, client: Any, payload: object, carrier: dict[str, str]) -> Any:
        request, headers, runtime = self.request_models(payload, carrier)
        request_bytes = 0 if request.body is None else len(request.body.getvalue())
        response = client.invoke_function_with_options(
            self.function_name, request, headers, runtime
        )
        body = response.body
        raw = body.read() if hasattr(body, "read") else bytes(body or b"")
        answer_headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
        report_sizes(request_bytes=request_bytes, response_bytes=len(raw))
        kind = answer_headers.get("x-fc-error-type")
        if kind:
            raise FunctionError(self.function_name, str(kind), decode_body(raw))
        if self.mode == "async":
            return answer_headers.get("x-fc-request-id")
        return decode_body(raw)

    def _make_client(self) -> Any:
        with self._lock:
            if self._client is None:
                fc = require("alibabacloud_fc20230330.client", "alibaba")
                credentials = require("alibabacloud_credentials.client", "alibaba")
                config_models = require("alibabacloud_tea_openapi.utils_models", "alibaba")
                protocol, endpoint = None, self.endpoint
                if endpoint is not None and "://" in endpoint:
                    parts = urlsplit(endpoint)
                    protocol, endpoint = parts.scheme.lower(), parts.netloc
                config = config_models.Config(
                    credential=credentials.Client(),
                    region_id=self.region_id,
                    endpoint=endpoint,
                    protocol=protocol,
                )
                self._client = fc.Client(config)
            return self._client

    def __repr__(self) -> str:
        return (
            f"FcFunction({self.function_name!r}, mode={self.mode!r}, qualifier={self.qualifier!r})"
        )
