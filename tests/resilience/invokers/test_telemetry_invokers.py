"""The invokers under telemetry: a CLIENT span with the FaaS client attributes, and the trace
context sent to the callee, checked on what a real local server received."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator

import boto3
import pytest
from alibabacloud_fc20230330.client import Client as FcClient
from alibabacloud_tea_openapi.utils_models import Config
from botocore.config import Config as BotoConfig
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from support.http_server import LocalHttpServer, Received, Reply, running_server
from support.otel import Otel, enable_otel

from resilience import HttpStatusError, Policy, telemetry
from resilience.invokers import AsyncHttpFunction, FcFunction, HttpFunction, LambdaFunction


@pytest.fixture
def otel() -> Iterator[Otel]:
    yield enable_otel()
    telemetry.disable()


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    with running_server() as local:
        yield local


def _client_span(otel: Otel) -> tuple[ReadableSpan, ReadableSpan]:
    """The CLIENT span and the Policy attempt span it is a child of."""
    spans = otel.finished()
    [client] = [s for s in spans if s.kind is SpanKind.CLIENT]
    [attempt] = [s for s in spans if s.name.endswith(" attempt")]
    assert client.parent is not None and client.parent.span_id == attempt.context.span_id
    return client, attempt


def _traceparent(span: ReadableSpan) -> str:
    ids = span.context
    return f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{int(ids.trace_flags):02x}"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_http_trigger_sends_the_w3c_traceparent(
    mode: str, otel: Otel, server: LocalHttpServer
) -> None:
    """The HTTP invoker's request carries traceparent = its CLIENT span, child of the attempt."""
    if mode == "sync":
        with HttpFunction(server.url("/fn")) as fn:
            Policy(name="api")(fn)({"x": 1})
    else:

        async def main() -> None:
            async with AsyncHttpFunction(server.url("/fn")) as fn:
                await Policy(name="api")(fn)({"x": 1})

        asyncio.run(main())
    client, _ = _client_span(otel)
    [received] = server.received
    assert received.headers["traceparent"] == _traceparent(client)
    assert client.attributes is not None
    assert client.attributes["faas.invoked_name"] == server.url("/fn")
    assert client.attributes["http.request.method"] == "POST"


def test_http_trigger_error_marks_the_client_span(otel: Otel, server: LocalHttpServer) -> None:
    """A 500 answer: the CLIENT span has status ERROR and the error type."""
    server.script(Reply(500, {"error": "boom"}))
    with HttpFunction(server.url("/fn")) as fn, pytest.raises(HttpStatusError):
        Policy(name="api")(fn)()
    client, _ = _client_span(otel)
    assert client.status.status_code is StatusCode.ERROR
    assert client.attributes is not None
    assert client.attributes["error.type"] == "resilience.errors.HttpStatusError"


def test_no_header_while_telemetry_is_off(server: LocalHttpServer) -> None:
    """Disabled: no traceparent is sent."""
    with HttpFunction(server.url("/fn")) as fn:
        Policy(name="api")(fn)()
    assert "traceparent" not in server.received[0].headers


def _lambda_emulator(received: Received) -> Reply:
    headers = {"content-type": "application/json", "x-amzn-requestid": "req-otel-1"}
    return Reply(200, {"echo": received.json()}, headers)


def test_lambda_client_context_carries_the_trace(otel: Otel, server: LocalHttpServer) -> None:
    """A sync Lambda invoke sends ClientContext (base64 JSON) with custom.traceparent; the
    CLIENT span has faas.invoked_name, provider aws and the client's region."""
    server.default = _lambda_emulator
    client = boto3.client(
        "lambda",
        region_name="eu-west-1",
        aws_access_key_id="AKIDCALLWISETEST0001",
        aws_secret_access_key="s3cr3t/CALLWISE+test/KEY0000000000000000",
        endpoint_url=server.url(),
        config=BotoConfig(retries={"total_max_attempts": 1}),
    )
    assert Policy(name="thumb")(LambdaFunction("thumbnail", client=client))({"w": 64}) == {
        "echo": {"w": 64}
    }
    span, _ = _client_span(otel)
    context = json.loads(base64.b64decode(server.received[0].headers["x-amz-client-context"]))
    assert context == {"custom": {"traceparent": _traceparent(span)}}
    assert span.attributes is not None
    assert dict(span.attributes) == {
        "faas.invoked_name": "thumbnail",
        "faas.invoked_provider": "aws",
        "faas.invoked_region": "eu-west-1",
    }


def test_fc_headers_carry_the_trace(otel: Otel, server: LocalHttpServer) -> None:
    """An FC invoke sends traceparent as a header through the SDK's common headers; the
    CLIENT span says alibaba_cloud and the region."""
    server.default = lambda received: Reply(200, {"ok": True}, {"x-fc-request-id": "r1"})
    client = FcClient(
        Config(
            access_key_id="LTAICALLWISETEST0001",
            access_key_secret="fc-s3cr3t-CALLWISE-test-KEY-0000",
            region_id="cn-hangzhou",
            endpoint=f"127.0.0.1:{server.port}",
            protocol="http",
        )
    )
    fn = FcFunction("resize", client=client, region_id="cn-hangzhou")
    assert Policy(name="resize")(fn)({"w": 1}) == {"ok": True}
    span, _ = _client_span(otel)
    assert server.received[0].headers["traceparent"] == _traceparent(span)
    assert span.attributes is not None
    assert span.attributes["faas.invoked_provider"] == "alibaba_cloud"
    assert span.attributes["faas.invoked_region"] == "cn-hangzhou"
