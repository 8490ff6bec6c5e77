"""FcFunction: the real Function Compute 3.0 SDK, pointed at the local HTTP server.

The SDK builds, signs and sends real requests (protocol http, endpoint 127.0.0.1);
the server answers like FC's InvokeFunction API. The request shape is also checked
on the SDK's own model classes (``to_map()``).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_fc20230330 import models as fc_models
from alibabacloud_fc20230330.client import Client as FcClient
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import UnretryableException
from darabonba.runtime import RuntimeOptions
from support.http_server import LocalHttpServer, Received, Reply, Slow, running_server

from resilience import AsyncInvoker, FunctionError, InvalidUsage, MissingDependency
from resilience.invokers import FcFunction
from resilience.ledger import collect_sizes
from resilience.testing import FakeClock

KEY_ID = "LTAICALLWISETEST0001"
SECRET = "fc-s3cr3t-CALLWISE-test-KEY-0000"


LEAKED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig"
LEAKED_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id


def fc_emulator(received: Received) -> Reply:
    """Answers like FC 3.0 InvokeFunction: errors for 'broken' and 'missing', else an echo."""
    name = received.path.split("/functions/")[1].split("/")[0]
    headers = {"content-type": "application/json", "x-fc-request-id": "fc-req-1"}
    if name == "missing":
        body = {"Code": "FunctionNotFound", "Message": "no such function", "RequestId": "r"}
        return Reply(404, body, headers)
    if name == "throttled":
        return Reply(503, {"Code": "ResourceExhausted", "Message": "busy"}, headers)
    if received.headers.get("x-fc-invocation-type") == "Async":
        return Reply(202, b"", headers)
    if name == "broken":
        headers["x-fc-error-type"] = "UnhandledInvocationError"
        return Reply(200, {"errorMessage": "boom", "errorType": "Exception"}, headers)
    if name == "leaky":  # a function whose error echoes the request's credentials
        headers["x-fc-error-type"] = "UnhandledInvocationError"
        message = f"denied: Authorization: Bearer {LEAKED_TOKEN} (key {LEAKED_KEY_ID})"
        return Reply(200, {"errorMessage": message, "headers": {"Cookie": "sid=42"}}, headers)
    return Reply(200, {"echo": received.json()}, headers)


@pytest.fixture
def fc_server() -> Iterator[LocalHttpServer]:
    """The local HTTP server answering like FC's InvokeFunction API."""
    with running_server() as server:
        server.default = fc_emulator
        yield server


class RecordingClient(FcClient):
    """The real SDK client, remembering the models it was given."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.calls: list[tuple[str, Any, Any, Any]] = []

    def invoke_function_with_options(
        self, function_name: str, request: Any, headers: Any, runtime: Any
    ) -> Any:
        self.calls.append((function_name, request, headers, runtime))
        return super().invoke_function_with_options(function_name, request, headers, runtime)


@pytest.fixture
def client(fc_server: LocalHttpServer) -> RecordingClient:
    """A real FC client with fake static credentials, sending to the local server."""
    return RecordingClient(
        Config(
            access_key_id=KEY_ID,
            access_key_secret=SECRET,
            region_id="cn-hangzhou",
            endpoint=f"127.0.0.1:{fc_server.port}",
            protocol="http",
        )
    )


@pytest.mark.parametrize(("mode", "header"), [("sync", "Sync"), ("async", "Async")])
def test_request_models_match_the_sdk(mode: str, header: str) -> None:
    """The call is built from the SDK's own models: invocation type, qualifier, body."""
    fn = FcFunction("resize", mode=mode, qualifier="prod", region_id="cn-hangzhou", timeout_s=2.5)
    request, headers, runtime = fn.request_models({"w": 64})
    assert isinstance(request, fc_models.InvokeFunctionRequest)
    assert isinstance(headers, fc_models.InvokeFunctionHeaders)
    assert isinstance(runtime, RuntimeOptions)
    assert headers.to_map() == {"x-fc-invocation-type": header}
    request_map = request.to_map()
    assert request_map["qualifier"] == "prod"
    assert request_map["body"].getvalue() == b'{"w":64}'
    assert (runtime.read_timeout, runtime.connect_timeout) == (2500, 2500)
    assert "qualifier" not in FcFunction("f", region_id="x").request_models()[0].to_map()


def test_sync_call_through_the_sdk(fc_server: LocalHttpServer, client: RecordingClient) -> None:
    """mode='sync': x-fc-invocation-type Sync on the wire, signed, answer decoded."""
    fn = FcFunction("resize", client=client, qualifier="LATEST")
    assert fn({"image": "a.png"}) == {"echo": {"image": "a.png"}}
    [sent] = fc_server.received
    assert sent.method == "POST"
    assert sent.path == "/2023-03-30/functions/resize/invocations?qualifier=LATEST"
    assert sent.headers["x-fc-invocation-type"] == "Sync"
    assert sent.body == b'{"image":"a.png"}'
    assert sent.headers["authorization"].startswith(f"ACS3-HMAC-SHA256 Credential={KEY_ID},")
    assert SECRET not in json.dumps(sent.headers)
    [(name, _, headers, _)] = client.calls
    assert (name, headers.to_map()) == ("resize", {"x-fc-invocation-type": "Sync"})


def test_async_call_returns_the_request_id(
    fc_server: LocalHttpServer, client: RecordingClient
) -> None:
    """mode='async': x-fc-invocation-type Async; FC's request id comes back."""
    assert FcFunction("resize", mode="async", client=client)({"n": 1}) == "fc-req-1"
    assert fc_server.received[0].headers["x-fc-invocation-type"] == "Async"


def test_function_error_header_raises_function_error(client: RecordingClient) -> None:
    """x-fc-error-type in the answer becomes FunctionError with the decoded error body."""
    with pytest.raises(FunctionError) as info:
        FcFunction("broken", client=client)({})
    err = info.value
    assert (err.function, err.kind) == ("broken", "UnhandledInvocationError")
    assert err.payload == {"errorMessage": "boom", "errorType": "Exception"}


@pytest.mark.parametrize(
    ("name", "error", "code"),
    [("missing", ClientException, "FunctionNotFound"), ("throttled", ServerException, None)],
)
def test_service_errors_are_the_sdks_own(
    client: RecordingClient, name: str, error: type[Exception], code: str | None
) -> None:
    """Errors of the FC service itself (404, 503) pass through as the SDK raised them."""
    with pytest.raises(error) as info:
        FcFunction(name, client=client)({})
    if code is not None:
        assert getattr(info.value, "code", None) == code
    assert SECRET not in str(info.value)


def test_timeout_reaches_the_sdk(fc_server: LocalHttpServer, client: RecordingClient) -> None:
    """timeout_s is the SDK's read timeout: a held answer fails with the SDK's own error."""
    fc_server.script(Slow())
    expected = r"Read timed out\. \(read timeout=0\.05\)"  # the 50 ms reached the SDK
    with pytest.raises(UnretryableException, match=expected) as info:
        FcFunction("resize", client=client, timeout_s=0.05)({})
    assert SECRET not in str(info.value)


def test_sizes_are_reported(client: RecordingClient) -> None:
    """Request and response body sizes reach collect_sizes."""
    with collect_sizes() as sizes:
        FcFunction("resize", client=client)([1, 2, 3])
    assert sizes.request_bytes == len(b"[1,2,3]")
    assert sizes.response_bytes == len(json.dumps({"echo": [1, 2, 3]}).encode())


def test_default_client_uses_the_sdk_credential_chain(fc_server: LocalHttpServer) -> None:
    """client=None: the SDK's default chain reads the environment; endpoint may carry http://.

    The credentials SDK reads its environment variables when it is imported, so this
    runs in a fresh interpreter whose environment is set beforehand.
    """
    script = (
        "import sys\n"
        "from resilience.invokers import FcFunction\n"
        "fn = FcFunction('resize', endpoint=sys.argv[1])\n"
        "print(repr(fn), fn.__name__)\n"
        "print(fn({'a': 1}))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", script, fc_server.url()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    printed_repr, answer = done.stdout.splitlines()
    assert answer == "{'echo': {'a': 1}}"
    assert printed_repr == "FcFunction('resize', mode='sync', qualifier=None) fc:resize"
    assert f"Credential={KEY_ID}," in fc_server.received[0].headers["authorization"]
    assert SECRET not in done.stdout + done.stderr


def test_fc_function_is_a_plain_callable_for_async_invoker(
    fc_server: LocalHttpServer, client: RecordingClient
) -> None:
    """AsyncInvoker retries an FcFunction after a function error, then delivers the answer."""
    error_headers = {"x-fc-error-type": "UnhandledInvocationError"}
    fc_server.script(Reply(200, {"errorMessage": "cold"}, error_headers))
    results: list[tuple[int, object]] = []
    with AsyncInvoker(
        workers=1, clock=FakeClock(), on_success=lambda e, r: results.append((e.attempts, r))
    ) as invoker:
        invoker.submit(FcFunction("resize", client=client), {"n": 2})
    assert results == [(2, {"echo": {"n": 2}})]


def test_credentials_never_in_repr_or_errors(client: RecordingClient) -> None:
    """Neither key id nor secret appears in the repr, the name or a FunctionError."""
    fn = FcFunction("broken", client=client, qualifier="prod")
    with pytest.raises(FunctionError) as info:
        fn({})
    for text in (repr(fn), fn.__name__, str(info.value), repr(info.value)):
        assert KEY_ID not in text and SECRET not in text
    assert fn.__name__ == "fc:broken:prod"
    assert repr(fn) == "FcFunction('broken', mode='sync', qualifier='prod')"


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (("",), {"region_id": "cn-hangzhou"}, "function_name='': must be a non-empty string"),
        (("f",), {"mode": "Async", "region_id": "r"}, "mode='Async': must be 'sync' or 'async'"),
        (("f",), {}, "without a client, give region_id="),
        (("f",), {"endpoint": "ftp://x"}, "endpoint='ftp://x': must be a host"),
        (("f",), {"region_id": "r", "timeout_s": 0}, "timeout_s=0: must be a finite number > 0"),
        (("f",), {"region_id": "r", "qualifier": " v1"}, "qualifier=' v1'"),
        (("f",), {"client": object()}, "client=object: has no invoke_function_with_options"),
    ],
)
def test_bad_arguments_fail_at_construction(
    args: tuple[Any, ...], options: dict[str, Any], message: str
) -> None:
    """Bad input fails at construction, naming the parameter and the value."""
    with pytest.raises(InvalidUsage, match=message):
        FcFunction(*args, **options)


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the FC SDK, constructing raises MissingDependency naming the alibaba extra."""
    monkeypatch.setitem(sys.modules, "alibabacloud_fc20230330", None)
    monkeypatch.setitem(sys.modules, "alibabacloud_fc20230330.models", None)
    with pytest.raises(MissingDependency, match=r"callwise\[alibaba\]") as info:
        FcFunction("f", region_id="cn-hangzhou")
    assert info.value.extra == "alibaba"


def test_body_as_bytes_is_sent_as_is(fc_server: LocalHttpServer, client: RecordingClient) -> None:
    """A bytes payload goes out unchanged; a text answer comes back as text."""
    fc_server.script(Reply(200, "resized"))
    assert FcFunction("resize", client=client)(b"\x89PNG") == "resized"
    assert fc_server.received[0].body == b"\x89PNG"
    assert isinstance(client.calls[0][1].body, io.BytesIO)


def test_an_echoed_token_is_redacted_from_function_errors(client: RecordingClient) -> None:
    """A function error echoing a Bearer token, a cookie and a key id shows *** instead."""
    with pytest.raises(FunctionError) as info:
        FcFunction("leaky", client=client)({})
    err = info.value
    for text in (str(err), repr(err), repr(err.payload)):
        assert LEAKED_TOKEN not in text and LEAKED_KEY_ID not in text and "sid=42" not in text
    assert err.payload == {
        "errorMessage": "denied: Authorization: *** (key ***)",
        "headers": {"Cookie": "***"},
    }
    assert LEAKED_TOKEN in err.raw_payload["errorMessage"]  # kept, on the explicit attribute


def test_user_info_in_the_endpoint_is_dropped(fc_server: LocalHttpServer) -> None:
    """https://user:secret@host: not in .endpoint, messages, or the Host header sent."""
    fn = FcFunction("resize", endpoint=f"http://admin:{SECRET}@127.0.0.1:{fc_server.port}")
    assert fn.endpoint == f"http://127.0.0.1:{fc_server.port}" and SECRET not in repr(fn)
    with pytest.raises(InvalidUsage) as info:
        FcFunction("resize", endpoint=f"ftp://admin:{SECRET}@host")
    assert SECRET not in str(info.value) and "ftp://host" in str(info.value)
    script = (
        "import sys\n"
        "from resilience.invokers import FcFunction\n"
        "print(FcFunction('resize', endpoint=sys.argv[1])({'a': 1}))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "another-secret",
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", script, f"http://admin:{SECRET}@127.0.0.1:{fc_server.port}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "{'echo': {'a': 1}}"
    sent = fc_server.received[0].headers
    assert sent["host"] == f"127.0.0.1:{fc_server.port}"
    assert all(SECRET not in value for value in sent.values())
