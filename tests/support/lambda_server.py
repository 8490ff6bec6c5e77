"""A local stand-in for Lambda's Invoke API, and real boto3 clients pointed at it.

:func:`lambda_emulator` answers like ``POST /2015-03-31/functions/{name}/invocations``: a
function error for the function named ``broken``, 202 for ``Event`` invocations, else an
echo of the payload. :func:`running_lambda` serves it on 127.0.0.1; :func:`local_client`
is a real boto3 Lambda client (fake static credentials, botocore's retries off) whose
signed requests go there, so tests see the bytes on the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .http_server import LocalHttpServer, Received, Reply, running_server

__all__ = [
    "JSON_HEADERS",
    "KEY_ID",
    "SECRET",
    "lambda_emulator",
    "local_client",
    "running_lambda",
]

KEY_ID = "AKIDCALLWISETEST0001"
SECRET = "s3cr3t/CALLWISE+test/KEY0000000000000000"
JSON_HEADERS = {"content-type": "application/json", "x-amzn-requestid": "req-local-2"}


def lambda_emulator(received: Received) -> Reply:
    """Answers like the Lambda Invoke API: a function error for 'broken', else an echo."""
    name = received.path.split("/functions/")[1].split("/")[0]
    headers = {"content-type": "application/json", "x-amzn-requestid": "req-local-1"}
    if received.headers.get("x-amz-invocation-type") == "Event":
        return Reply(202, b"", headers)
    if name == "broken":
        headers["x-amz-function-error"] = "Unhandled"
        return Reply(200, {"errorMessage": "boom", "errorType": "RuntimeError"}, headers)
    return Reply(200, {"echo": received.json()}, {**headers, "x-amz-executed-version": "$LATEST"})


@contextmanager
def running_lambda() -> Iterator[LocalHttpServer]:
    """A local HTTP server answering like Lambda's Invoke API (:func:`lambda_emulator`)."""
    with running_server() as server:
        server.default = lambda_emulator
        yield server


def local_client(server: LocalHttpServer) -> Any:
    """A real boto3 Lambda client sending signed requests to ``server`` (no retries)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        region_name="eu-west-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        endpoint_url=server.url(),
        config=Config(retries={"total_max_attempts": 1}),
    )
