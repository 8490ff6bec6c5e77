"""AWS Lambda functions as callables, through boto3's ``invoke``.

Needs the ``aws`` extra (boto3). Credentials and region come from boto3's usual
sources (environment, shared config, instance role) or from the client you pass;
callwise never reads, stores or prints them.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import FunctionError, InvalidUsage
from ..ledger import report_sizes
from ._common import (
    Mode,
    check_mode,
    check_name,
    decode_body,
    encode_payload,
    optional_name,
    require,
)

__all__ = ["LambdaFunction"]

_INVOCATION_TYPES = {"sync": "RequestResponse", "async": "Event"}


class LambdaFunction:
    """An AWS Lambda function, called like a local function.

    Args:
        function_name: the function's name, ARN or partial ARN.
        mode: ``"sync"`` invokes with ``InvocationType="RequestResponse"`` and returns
            the function's answer; ``"async"`` invokes with ``"Event"`` (Lambda queues
            the event and applies the function's async retry and destination settings)
            and returns the request id.
        client: a boto3 Lambda client; by default ``boto3.client("lambda")`` is
            created on first call.
        qualifier: a version or alias.

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
    ) -> None:
        self.function_name = check_name("function_name", function_name)
        self.mode: Mode = check_mode(mode)
        self.qualifier = optional_name("qualifier", qualifier)
        if client is None:
            require("boto3", "aws")
        elif not callable(getattr(client, "invoke", None)):
            raise InvalidUsage(f"client={type(client).__name__}: has no invoke() method")
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
        body = encode_payload(payload)
        params: dict[str, Any] = {
            "FunctionName": self.function_name,
            "InvocationType": _INVOCATION_TYPES[self.mode],
        }
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
                self._client = boto3.client("lambda")
            return self._client

    def __repr__(self) -> str:
        return (
            f"LambdaFunction({self.function_name!r}, mode={self.mode!r}, "
            f"qualifier={self.qualifier!r})"
        )
