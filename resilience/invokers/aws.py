"""AWS Lambda functions as callables, through boto3's ``invoke``.

Needs the ``aws`` extra (boto3). Credentials and region come from boto3's usual
sources (environment, shared config, instance role) or from the client you pass;
callwise never reads, stores or prints them.

botocore's own retries are off in the client :class:`LambdaFunction` builds (one
attempt per call): retrying is the job of :func:`resilience.retry` (or a Policy),
which has a retry budget and records every attempt in the ledger. With botocore's
retries on as well (its default: up to 5 attempts in legacy mode, 3 in standard),
the two would multiply (3 x 5 = 15 invocations of a function that may not be
idempotent, most of them invisible to the ledger and the budget). To keep
botocore's retries, pass your own client.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

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

__all__ = ["LambdaFunction"]

_INVOCATION_TYPES = {"sync": "RequestResponse", "async": "Event"}


def client_context(carrier: dict[str, str]) -> str:
    """Lambda's ``ClientContext``: base64 JSON whose ``custom`` holds the trace headers."""
    document = json.dumps({"custom": carrier}, separators=(",", ":"))
    return base64.b64encode(document.encode("utf-8")).decode("ascii")


class LambdaFunction:
    """An AWS Lambda function, called like a local function.

    Args:
        function_name: the function's name, ARN or partial ARN.
        mode: ``"sync"`` invokes with ``InvocationType="RequestResponse"`` and returns
            the function's answer; ``"async"`` invokes with ``"Event"`` (Lambda queues
            the event and applies the function's async retry and destination settings)
            and returns the request id.
        client: a boto3 Lambda client; by default ``boto3.client("lambda")`` is
            created on first call, with botocore's retries off (see the module
            docstring) and ``timeout_s``.
        qualifier: a version or alias.
        timeout_s: read and connect timeout of the default client, seconds (None:
            botocore's, 60 s). A sync invoke waits for the function: give more than
            the function's own timeout. Configure a client you pass yourself.

    The payload is sent as JSON (bytes as they are). When the response carries a
    ``FunctionError`` (the function raised, or its runtime failed),
    :class:`resilience.FunctionError` is raised with the decoded error payload;
    errors of the Lambda service itself are botocore's own. Request and response
    payload sizes are reported to the ledger.

    Example:
        >>> LambdaFunction("thumbnail", mode="async", qualifier="live")
        LambdaFunction('thumbnail', mode='async', qualifier='live')
    """

    def __init__(
        self,
        function_name: str,
        *,
        mode: Mode = "sync",
        client: Any = None,
        qualifier: str | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.function_name = check_name("function_name", function_name)
        self.mode: Mode = check_mode(mode)
        self.qualifier = optional_name("qualifier", qualifier)
        self.timeout_s = None if timeout_s is None else positive("timeout_s", timeout_s)
        if client is None:
            require("boto3", "aws")
        elif not callable(getattr(client, "invoke", None)):
            raise InvalidUsage(f"client={type(client).__name__}: has no invoke() method")
        elif self.timeout_s is not None:
            raise InvalidUsage(
                f"timeout_s={timeout_s!r}: applies only to the client LambdaFunction "
                "creates; give the client you pass a botocore.config.Config(read_timeout=...)"
            )
        self._client = client
        self._lock = threading.Lock()
        suffix = f":{self.qualifier}" if self.qualifier else ""
        self.__name__ = self.__qualname__ = f"lambda:{self.function_name}{suffix}"

    def __call__(self, payload: object = None) -> Any:
        """Invoke the function with ``payload``.

        Returns:
            mode ``"sync"``: the decoded answer (JSON, else text; None when empty).
            mode ``"async"``: the request id Lambda assigned to the event.

        Raises:
            resilience.FunctionError: the function reported an error.
        """
        client = self._client or self._make_client()
        region = getattr(getattr(client, "meta", None), "region_name", None)
        with client_span(self.function_name, "aws", region) as carrier:
            return self._invoke(client, payload, carrier)

    def _invoke(self, client: Any, payload: object, carrier: dict[str, str]) -> Any:
        body = encode_payload(payload)
        params: dict[str, Any] = {
            "FunctionName": self.function_name,
            "InvocationType": _INVOCATION_TYPES[self.mode],
        }
        if carrier and self.mode == "sync":  # Lambda passes ClientContext to sync calls only
            params["ClientContext"] = client_context(carrier)
        if self.qualifier is not None:
            params["Qualifier"] = self.qualifier
        if body is not None:
            params["Payload"] = body
        response = client.invoke(**params)
        stream = response.get("Payload")
        raw = stream.read() if stream is not None else b""
        report_sizes(request_bytes=len(body or b""), response_bytes=len(raw))
        kind = response.get("FunctionError")
        if kind:
            raise FunctionError(self.function_name, str(kind), decode_body(raw))
        if self.mode == "async":
            return response.get("ResponseMetadata", {}).get("RequestId")
        return decode_body(raw)

    def _make_client(self) -> Any:
        with self._lock:
            if self._client is None:
                boto3 = require("boto3", "aws")
                config = require("botocore.config", "aws")
                options: dict[str, Any] = {"retries": {"total_max_attempts": 1}}
                if self.timeout_s is not None:
                    options.update(read_timeout=self.timeout_s, connect_timeout=self.timeout_s)
                self._client = boto3.client("lambda", config=config.Config(**options))
            return self._client

    def __repr__(self) -> str:
        return (
            f"LambdaFunction({self.function_name!r}, mode={self.mode!r}, "
            f"qualifier={self.qualifier!r})"
        )
