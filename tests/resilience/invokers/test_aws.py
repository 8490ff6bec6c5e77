"""LambdaFunction: a real boto3 client (fake static credentials; nothing leaves 127.0.0.1).

The parameter tests use botocore's Stubber, which checks each request against the
Lambda service model and the expected parameters (no HTTP happens there). Whatever
depends on the wire (bodies, sizes, service errors, the default client) goes as real
signed requests to a local HTTP server through botocore's own serializer and parser.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, ParamValidationError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from support import lambda_server as support_lambda
from support.http_server import LocalHttpServer, Reply
from support.lambda_server import JSON_HEADERS, KEY_ID, SECRET, running_lambda

from resilience import AsyncInvoker, FunctionError, InvalidUsage, MissingDependency
from resilience.invokers import LambdaFunction
from resilience.ledger import collect_sizes
from resilience.testing import FakeClock


@pytest.fixture
def client() -> Any:
    """A real boto3 Lambda client with fake static credentials and region."""
    return boto3.client(
        "lambda",
        region_name="eu-west-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    """botocore's Stubber on that client; every queued response must be used."""
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def answer(body: bytes, **fields: Any) -> dict[str, Any]:
    """A Lambda invoke response with ``body`` as its streaming Payload."""
    return {"Payload": StreamingBody(io.BytesIO(body), len(body)), **fields}


def test_sync_mode_is_request_response_and_returns_the_answer(
    client: Any, stubber: Stubber
) -> None:
    """mode='sync' -> InvocationType RequestResponse; the JSON answer comes back decoded."""
    stubber.add_response(
        "invoke",
        answer(b'{"width": 64}', StatusCode=200, ExecutedVersion="$LATEST"),
        {
            "FunctionName": "thumbnail",
            "InvocationType": "RequestResponse",
            "Payload": b'{"image":"a.png"}',
        },
    )
    fn = LambdaFunction("thumbnail", client=client)
    assert fn({"image": "a.png"}) == {"width": 64}


def test_async_mode_is_event_and_returns_the_request_id(client: Any, stubber: Stubber) -> None:
    """mode='async' -> InvocationType Event (with the qualifier); returns the request id."""
    stubber.add_response(
        "invoke",
        answer(b"", StatusCode=202, ResponseMetadata={"RequestId": "req-7", "HTTPStatusCode": 202}),
        {
            "FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:resize",
            "InvocationType": "Event",
            "Qualifier": "live",
            "Payload": b"[1,2]",
        },
    )
    fn = LambdaFunction(
        "arn:aws:lambda:eu-west-1:123456789012:function:resize",
        mode="async",
        qualifier="live",
        client=client,
    )
    assert fn([1, 2]) == "req-7"


@pytest.mark.parametrize("kind", ["Unhandled", "Handled"])
def test_function_error_in_the_response_raises(client: Any, stubber: Stubber, kind: str) -> None:
    """A FunctionError field becomes resilience.FunctionError with the decoded payload."""
    error = {"errorMessage": "division by zero", "errorType": "ZeroDivisionError"}
    stubber.add_response(
        "invoke",
        answer(json.dumps(error).encode(), StatusCode=200, FunctionError=kind),
        {"FunctionName": "div", "InvocationType": "RequestResponse", "Payload": b"{}"},
    )
    with pytest.raises(FunctionError) as info:
        LambdaFunction("div", client=client)({})
    assert (info.value.function, info.value.kind, info.value.payload) == ("div", kind, error)
    assert "division by zero" in str(info.value)


def test_the_service_model_rejects_a_malformed_request(client: Any) -> None:
    """The request really goes through botocore's validation (a bad qualifier type fails)."""
    fn = LambdaFunction("f", client=client)
    fn.qualifier = 7  # type: ignore[assignment]  # bypasses our checks on purpose
    with Stubber(client) as stub, pytest.raises(ParamValidationError, match="Qualifier"):
        stub.add_response("invoke", answer(b"", StatusCode=200))  # any parameters
        fn({})


def test_credentials_never_in_repr_errors_or_our_logs(
    client: Any, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the key id nor the secret appears in repr, name, errors or callwise's logs."""
    stubber.add_response(
        "invoke",
        answer(b'{"errorMessage": "x"}', StatusCode=200, FunctionError="Unhandled"),
        {
            "FunctionName": "f",
            "InvocationType": "RequestResponse",
            "Qualifier": "prod",
            "Payload": b"{}",
        },
    )
    fn = LambdaFunction("f", client=client, qualifier="prod")
    with caplog.at_level(logging.DEBUG), pytest.raises(FunctionError) as info:
        fn({})
    texts = [repr(fn), fn.__name__, str(info.value), repr(info.value)]
    texts += [r.getMessage() for r in caplog.records if r.name.startswith("resilience")]
    for text in texts:
        assert KEY_ID not in text and SECRET not in text
    assert fn.__name__ == "lambda:f:prod"


def test_lambda_function_is_a_plain_callable_for_async_invoker(
    client: Any, stubber: Stubber
) -> None:
    """AsyncInvoker retries a LambdaFunction after a function error, then delivers its answer."""
    params = {"FunctionName": "f", "InvocationType": "RequestResponse", "Payload": b"1"}
    stubber.add_response("invoke", answer(b"{}", StatusCode=200, FunctionError="Unhandled"), params)
    stubber.add_response("invoke", answer(b"2", StatusCode=200), params)
    results: list[object] = []
    with AsyncInvoker(
        workers=1, clock=FakeClock(), on_success=lambda e, r: results.append((e.attempts, r))
    ) as invoker:
        invoker.submit(LambdaFunction("f", client=client), 1)
    assert results == [(2, 2)]


@pytest.fixture
def lambda_server() -> Iterator[LocalHttpServer]:
    """The local HTTP server answering like Lambda's Invoke API."""
    with running_lambda() as server:
        yield server


def use_local_lambda(server: LocalHttpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boto3's default chain (env credentials, region, endpoint) at ``server``."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url())
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def local_client(lambda_server: LocalHttpServer) -> Any:
    """A real boto3 Lambda client sending signed requests to ``lambda_server`` (no retries)."""
    return support_lambda.local_client(lambda_server)


def test_no_payload_sends_no_body(lambda_server: LocalHttpServer, local_client: Any) -> None:
    """Calling without a payload sends an empty body; an empty answer is None."""
    lambda_server.script(Reply(200, b"", JSON_HEADERS))
    assert LambdaFunction("ping", client=local_client)() is None
    [request] = lambda_server.received
    assert request.path == "/2015-03-31/functions/ping/invocations"
    assert request.body == b""
    assert request.headers["x-amz-invocation-type"] == "RequestResponse"


def test_service_errors_pass_through_unchanged(
    lambda_server: LocalHttpServer, local_client: Any
) -> None:
    """A throttle (429) from the Lambda service is botocore's ClientError, untouched."""
    lambda_server.script(
        Reply(
            429,
            {"Type": "User", "message": "Rate exceeded"},
            {**JSON_HEADERS, "x-amzn-errortype": "TooManyRequestsException"},
        )
    )
    with pytest.raises(ClientError) as info:
        LambdaFunction("busy", client=local_client)({})
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("TooManyRequestsException", "Rate exceeded")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert len(lambda_server.received) == 1


@pytest.mark.parametrize(
    ("payload", "answer_body"),
    [("abc", b'{"n": 1}'), ({"image": "a.png", "sizes": [64, 128]}, b'{"width": 64}' * 10)],
)
def test_sizes_are_reported(
    lambda_server: LocalHttpServer, local_client: Any, payload: object, answer_body: bytes
) -> None:
    """The sizes reported are those of the bodies on the wire, both ways."""
    lambda_server.script(Reply(200, answer_body, JSON_HEADERS))
    with collect_sizes() as sizes:
        LambdaFunction("f", client=local_client)(payload)
    [request] = lambda_server.received
    assert request.body == json.dumps(payload, separators=(",", ":")).encode()
    assert (sizes.request_bytes, sizes.response_bytes) == (len(request.body), len(answer_body))


def test_sizes_of_a_function_error_are_reported(
    lambda_server: LocalHttpServer, local_client: Any
) -> None:
    """A function error's answer is measured too."""
    with collect_sizes() as sizes, pytest.raises(FunctionError):
        LambdaFunction("broken", client=local_client)([1, 2, 3])
    sent = json.dumps({"errorMessage": "boom", "errorType": "RuntimeError"}).encode()
    assert (sizes.request_bytes, sizes.response_bytes) == (len(b"[1,2,3]"), len(sent))


def test_real_transport_with_the_default_client_and_env_credentials(
    lambda_server: LocalHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """client=None: boto3's default chain (env credentials, endpoint) signs real requests."""
    use_local_lambda(lambda_server, monkeypatch)

    assert LambdaFunction("thumbnail", qualifier="3")({"x": 1}) == {"echo": {"x": 1}}
    assert LambdaFunction("thumbnail", mode="async")({"x": 2}) == "req-local-1"
    with pytest.raises(FunctionError) as info:
        LambdaFunction("broken")({})
    assert info.value.kind == "Unhandled" and info.value.payload["errorMessage"] == "boom"

    first, second, _ = lambda_server.received
    assert first.path == "/2015-03-31/functions/thumbnail/invocations?Qualifier=3"
    assert first.headers["x-amz-invocation-type"] == "RequestResponse"
    assert second.headers["x-amz-invocation-type"] == "Event"
    assert f"Credential={KEY_ID}/" in first.headers["authorization"]  # from the environment
    assert SECRET not in json.dumps([r.headers for r in lambda_server.received])


@pytest.mark.parametrize("timeout_s", [None, 2.5])
def test_default_client_makes_one_attempt_and_takes_timeout_s(
    lambda_server: LocalHttpServer, monkeypatch: pytest.MonkeyPatch, timeout_s: float | None
) -> None:
    """The client LambdaFunction builds never retries (callwise's retry does) and uses timeout_s."""
    use_local_lambda(lambda_server, monkeypatch)
    lambda_server.default = lambda received: Reply(
        503,
        {"Type": "Service", "message": "try later"},
        {"x-amzn-errortype": "ServiceException", "x-amzn-requestid": "req-503"},
    )
    fn = LambdaFunction("busy", timeout_s=timeout_s)
    with pytest.raises(ClientError, match="ServiceException"):
        fn({})
    assert len(lambda_server.received) == 1  # botocore's own retries are off
    config = fn._make_client().meta.config
    assert config.retries["total_max_attempts"] == 1
    expected = 60 if timeout_s is None else timeout_s  # None: botocore's default
    assert (config.read_timeout, config.connect_timeout) == (expected, expected)
    assert fn.timeout_s == timeout_s


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (("f",), {"timeout_s": 0}, "timeout_s=0: must be a finite number > 0"),
        (("f",), {"timeout_s": "5"}, "timeout_s='5'"),
        (
            ("f",),
            {"timeout_s": 5, "client": boto3.client("lambda", region_name="eu-west-1")},
            "timeout_s=5: applies only to the client LambdaFunction creates",
        ),
        (("",), {}, "function_name='': must be a non-empty string"),
        ((None,), {}, "function_name=None"),
        (("f",), {"mode": "Event"}, "mode='Event': must be 'sync' or 'async'"),
        (("f",), {"qualifier": ""}, "qualifier='': must be a non-empty string"),
        (("f",), {"client": object()}, "client=object: has no invoke"),
    ],
)
def test_bad_arguments_fail_at_construction(
    args: tuple[Any, ...], options: dict[str, Any], message: str
) -> None:
    """Bad input fails at construction, naming the parameter and the value."""
    with pytest.raises(InvalidUsage, match=message):
        LambdaFunction(*args, **options)


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without boto3, constructing (with no client) raises MissingDependency naming aws."""
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingDependency, match=r"callwise\[aws\]") as info:
        LambdaFunction("f")
    assert info.value.extra == "aws"


def test_botocore_debug_logging_carries_the_session_token_unless_kept_at_info(
    lambda_server: LocalHttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """What the module docstring warns of: DEBUG on botocore logs the token; INFO does not."""
    token = "SESSION-TOKEN-SHOULD-NOT-BE-LOGGED"
    client = boto3.client(
        "lambda",
        region_name="eu-west-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        aws_session_token=token,
        endpoint_url=lambda_server.url(),
        config=BotoConfig(retries={"total_max_attempts": 1}),
    )
    fn = LambdaFunction("resize", client=client)
    caplog.set_level(logging.DEBUG, logger="botocore")
    fn({"n": 1})
    assert token in caplog.text
    caplog.clear()
    logging.getLogger("botocore").setLevel(logging.INFO)
    try:
        fn({"n": 1})
    finally:
        logging.getLogger("botocore").setLevel(logging.NOTSET)
    assert token not in caplog.text
