"""HttpFunction / AsyncHttpFunction against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import ipaddress
import logging
import ssl
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.http_server import DROP, Flood, LocalHttpServer, Reply, Slow, Trickle, running_server

import resilience
from resilience import (
    AsyncInvoker,
    Event,
    FailureReason,
    HttpStatusError,
    InvalidUsage,
    MissingDependency,
    ResponseTooLarge,
    TimeoutExceeded,
)
from resilience.invokers import AsyncHttpFunction, HttpFunction
from resilience.ledger import collect_sizes
from resilience.testing import FakeClock

FLAVOURS = ["sync", "async"]
TOKEN = "tok-9f8e7d6c5b4a"


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    """A real HTTP server on 127.0.0.1 and a free port."""
    with running_server() as s:
        yield s


def invoke(flavour: str, url: str, payload: object = None, **options: Any) -> Any:
    """Call the endpoint once with the sync or the async invoker."""
    if flavour == "sync":
        with HttpFunction(url, **options) as fn:
            return fn(payload)

    async def main() -> Any:
        async with AsyncHttpFunction(url, **options) as fn:
            return await fn(payload)

    return asyncio.run(main())


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_json_in_json_out(flavour: str, server: LocalHttpServer) -> None:
    """The payload goes out as JSON; the JSON answer comes back decoded."""
    answer = invoke(flavour, server.url("/fn"), {"image": "a.png", "sizes": [64, 128]})
    assert answer == {
        "method": "POST",
        "path": "/fn",
        "json": {"image": "a.png", "sizes": [64, 128]},
    }
    [request] = server.received
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(200, "plain words"), "plain words"),
        (Reply(204), None),
        (Reply(201, {"id": 7}), {"id": 7}),
        (Reply(200, b'{"a": 1}', {"content-type": "application/vnd.api+json"}), {"a": 1}),
    ],
)
def test_answers_are_decoded_by_content_type(
    flavour: str, server: LocalHttpServer, reply: Reply, expected: object
) -> None:
    """JSON when the answer says JSON, text otherwise, None when empty; any 2xx is success."""
    server.script(reply)
    assert invoke(flavour, server.url(), {"x": 1}) == expected


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_bytes_and_no_payload(flavour: str, server: LocalHttpServer) -> None:
    """Bytes are sent as they are; None sends no body; the method is configurable."""
    invoke(flavour, server.url(), b"\x00raw", headers={"content-type": "application/x-raw"})
    invoke(flavour, server.url(), None, method="get")
    first, second = server.received
    assert (first.body, first.headers["content-type"]) == (b"\x00raw", "application/x-raw")
    assert (second.method, second.body) == ("GET", b"")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_bearer_token_is_sent_and_can_be_refreshed(flavour: str, server: LocalHttpServer) -> None:
    """A string token is sent as a bearer token; a callable one is asked on every call."""
    invoke(flavour, server.url(), {}, token=TOKEN)
    tokens = iter(["first", "second"])
    if flavour == "sync":
        with HttpFunction(server.url(), token=lambda: next(tokens)) as fn:
            fn({})
            fn({})
    else:

        async def main() -> None:
            async with AsyncHttpFunction(server.url(), token=lambda: next(tokens)) as fn:
                await fn({})
                await fn({})

        asyncio.run(main())
    assert [r.headers["authorization"] for r in server.received] == [
        f"Bearer {TOKEN}",
        "Bearer first",
        "Bearer second",
    ]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("in_place", [False, True], ids=["returns-request", "in-place"])
def test_signing_hook_sees_the_final_request(
    flavour: str, in_place: bool, server: LocalHttpServer
) -> None:
    """sign(request) signs the exact bytes sent; it may return a request or None."""
    key = b"shared-secret"

    def sign(request: httpx.Request) -> httpx.Request | None:
        digest = hmac.new(key, request.content, hashlib.sha256).hexdigest()
        request.headers["x-signature"] = digest
        return None if in_place else request

    invoke(flavour, server.url(), {"order": 42}, sign=sign)
    [request] = server.received
    expected = hmac.new(key, request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-signature"] == expected


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_non_2xx_raises_with_status_and_no_secrets(flavour: str, server: LocalHttpServer) -> None:
    """A 500 raises HttpStatusError carrying status, safe URL and body; no token in it."""
    server.script(Reply(503, {"error": "overloaded"}))
    url = f"http://127.0.0.1:{server.port}/fn?code={TOKEN}"
    with pytest.raises(HttpStatusError) as info:
        invoke(flavour, url, {}, token=TOKEN)
    err = info.value
    assert err.status_code == 503
    assert err.url == f"http://127.0.0.1:{server.port}/fn?…"
    assert "overloaded" in err.body
    for text in (str(err), repr(err), err.url, err.body):
        assert TOKEN not in text
    assert server.received[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_dropped_connection_raises_httpx_error(flavour: str, server: LocalHttpServer) -> None:
    """A connection closed without an answer surfaces as httpx's own transport error."""
    server.script(DROP)
    with pytest.raises(httpx.RemoteProtocolError):
        invoke(flavour, server.url(), {"x": 1})
    assert len(server.received) == 1


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_slow_answer_beyond_timeout_raises_timeout_exceeded(
    flavour: str, server: LocalHttpServer
) -> None:
    """A server that does not answer within timeout_s (50 ms, real): TimeoutExceeded,
    chained to httpx's own timeout error."""
    server.script(Slow())
    with pytest.raises(TimeoutExceeded) as info:
        invoke(flavour, server.url(), {}, timeout_s=0.05)
    assert isinstance(info.value, TimeoutError) and info.value.timeout_s == 0.05
    assert isinstance(info.value.__cause__, (httpx.TimeoutException, TimeoutError))


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_trickling_server_cannot_hold_the_call_beyond_its_deadline(
    flavour: str, server: LocalHttpServer
) -> None:
    """One byte every 0.2 s of a 20-byte answer (4 s) against timeout_s=0.5: the call
    ends with TimeoutExceeded at about 0.5 s, not after 4 s (each read alone is short)."""
    server.script(Trickle(size_bytes=20, interval_s=0.2))
    started = time.perf_counter()
    with pytest.raises(TimeoutExceeded):
        invoke(flavour, server.url(), {}, timeout_s=0.5)
    elapsed_s = time.perf_counter() - started
    assert elapsed_s < 0.5 + 1.0, elapsed_s  # the deadline plus scheduling slack, not 4 s


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_flooding_server_is_cut_off_at_max_response_bytes(
    flavour: str, declared: bool, server: LocalHttpServer
) -> None:
    """A 150 MB answer against max_response_bytes=1 MiB: ResponseTooLarge, reading stopped
    (at once when Content-Length says so), and memory stays far below the body's size."""
    server.script(Flood(size_bytes=150_000_000, declared=declared))
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as info:
            invoke(flavour, server.url(), {}, max_response_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.limit_bytes == 1024 * 1024
    assert info.value.declared_bytes == (150_000_000 if declared else None)
    assert peak < 16 * 1024 * 1024, peak  # a few chunks beyond the bound, not 150 MB


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_default_bound_is_10_mib_and_none_lifts_it(
    flavour: str, server: LocalHttpServer
) -> None:
    """11 MiB is refused by default; max_response_bytes=None reads it whole."""
    server.script(Flood(size_bytes=11 * 1024 * 1024), Flood(size_bytes=11 * 1024 * 1024))
    with pytest.raises(ResponseTooLarge):
        invoke(flavour, server.url(), {})
    assert len(invoke(flavour, server.url(), {}, max_response_bytes=None)) == 11 * 1024 * 1024


def test_slow_answer_within_timeout_is_awaited(server: LocalHttpServer) -> None:
    """Sync: a slow answer is waited for; the server holds it until the test opens the gate."""
    server.script(Slow(Reply(200, {"late": True})))
    results: list[object] = []
    with HttpFunction(server.url(), timeout_s=30) as fn:
        caller = threading.Thread(target=lambda: results.append(fn({})))
        caller.start()
        assert server.arrived.wait(10), "the request did not reach the server"
        assert results == []
        server.gate.set()
        caller.join(10)
        assert not caller.is_alive()
    assert results == [{"late": True}]


async def test_async_slow_answer_within_timeout_is_awaited(server: LocalHttpServer) -> None:
    """Async: other tasks run while the answer is held; it arrives once the gate opens."""
    server.script(Slow(Reply(200, {"late": True})))
    async with AsyncHttpFunction(server.url(), timeout_s=30) as fn:
        call = asyncio.create_task(fn({}))
        arrived = await asyncio.get_running_loop().run_in_executor(None, server.arrived.wait, 10)
        assert arrived, "the request did not reach the server"
        assert not call.done()
        server.gate.set()
        assert await asyncio.wait_for(call, 10) == {"late": True}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_sizes_are_reported_to_the_ledger_collector(flavour: str, server: LocalHttpServer) -> None:
    """Request and response body sizes reach collect_sizes, for successes and errors."""
    server.script(Reply(200, b'{"ok":true}', {"content-type": "application/json"}))
    with collect_sizes() as sizes:
        invoke(flavour, server.url(), {"n": 12345})
    assert (sizes.request_bytes, sizes.response_bytes) == (len(b'{"n":12345}'), 11)
    server.script(Reply(500, "boom!"))
    with collect_sizes() as sizes, pytest.raises(HttpStatusError):
        invoke(flavour, server.url(), [1, 2])
    assert (sizes.request_bytes, sizes.response_bytes) == (5, 5)


@pytest.mark.parametrize(
    ("url_template", "options"),
    [
        ("http://127.0.0.1:{port}/fn", {"token": TOKEN}),
        ("http://127.0.0.1:{port}/fn", {"token": lambda: TOKEN}),
        ("http://user:{token}@127.0.0.1:{port}/fn", {}),
    ],
    ids=["bearer", "token-provider", "user-info"],
)
def test_credentials_never_in_repr_name_errors_or_logs(
    server: LocalHttpServer,
    caplog: pytest.LogCaptureFixture,
    url_template: str,
    options: dict[str, Any],
) -> None:
    """Token and user info stay out of repr, name, errors and (httpx's) debug logs."""
    url = url_template.format(port=server.port, token=TOKEN)
    server.script(Reply(200, {}), Reply(401, "denied"))
    with caplog.at_level(logging.DEBUG), HttpFunction(url, **options) as fn:
        fn({"x": 1})
        with pytest.raises(HttpStatusError) as info:
            fn({"x": 2})
        for text in (repr(fn), fn.__name__, fn.url, str(info.value), repr(info.value)):
            assert TOKEN not in text
        assert fn.__name__ == f"POST http://127.0.0.1:{server.port}/fn"
    assert caplog.records  # httpx/httpcore did log the exchanges
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    scheme, credential = server.received[0].headers["authorization"].split()
    if scheme == "Basic":
        assert base64.b64decode(credential).decode() == f"user:{TOKEN}"
    else:
        assert (scheme, credential) == ("Bearer", TOKEN)


def test_query_string_stays_out_of_our_names_and_errors(server: LocalHttpServer) -> None:
    """A key in the query string is used but never shown by callwise (httpx logs URLs at INFO,
    so keys belong in token= or headers=, as the invocation docs page says)."""
    server.script(Reply(403, "no"))
    with HttpFunction(server.url(f"/fn?code={TOKEN}")) as fn:
        with pytest.raises(HttpStatusError) as info:
            fn({})
        assert fn.__name__ == f"POST http://127.0.0.1:{server.port}/fn?…"
        for text in (repr(fn), str(info.value), info.value.url):
            assert TOKEN not in text
    assert server.received[0].path == f"/fn?code={TOKEN}"  # the real URL was used


def test_token_with_user_info_in_url_is_refused() -> None:
    """Basic credentials in the URL would override the token: refused, without echoing them."""
    with pytest.raises(InvalidUsage, match="has user info and token= is given") as info:
        HttpFunction(f"https://user:{TOKEN}@h/fn", token="other")
    assert TOKEN not in str(info.value)


def test_async_invoker_retries_an_http_function(server: LocalHttpServer) -> None:
    """An HttpFunction is a plain callable: AsyncInvoker retries it after a 500 and a drop."""
    server.script(Reply(500, "down"), DROP)
    done: list[tuple[Event, object]] = []
    failed: list[FailureReason] = []
    with (
        HttpFunction(server.url("/hook")) as fn,
        AsyncInvoker(
            clock=FakeClock(),
            on_success=lambda e, r: done.append((e, r)),
            on_failure=lambda e, r: failed.append(r),
        ) as invoker,
    ):
        invoker.submit(fn, {"order": 1})
    [(event, answer)] = done
    assert failed == [] and event.attempts == 3
    assert event.function == f"POST http://127.0.0.1:{server.port}/hook"
    assert answer == {"method": "POST", "path": "/hook", "json": {"order": 1}}
    assert len(server.received) == 3


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for a day (made with cryptography)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert, key_file = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key_file


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_tls_is_verified_by_default(flavour: str, tls_files: tuple[Path, Path]) -> None:
    """An untrusted certificate is refused by default; trusting its CA (verify=path) works."""
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with running_server(tls=context) as server:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            invoke(flavour, server.url(), {})
        assert server.received == []
        assert invoke(flavour, server.url("/s"), {"a": 1}, verify=str(cert))["json"] == {"a": 1}
        assert invoke(flavour, server.url("/s"), {}, verify=False)["path"] == "/s"


def test_a_given_client_is_used_and_not_closed(server: LocalHttpServer) -> None:
    """client= is used as is (its own headers apply) and left open on close()."""
    client = httpx.Client(headers={"x-tenant": "t1"})
    with HttpFunction(server.url(), client=client) as fn:
        fn({})
    assert server.received[0].headers["x-tenant"] == "t1"
    assert not client.is_closed
    client.close()


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("example.com/api/fn", {}, r"url='example.com/api/fn': must be an absolute URL"),
        ("ftp://example.com/fn", {}, r"url='ftp://example.com/fn': must be an absolute URL"),
        ("https://", {}, "must be an absolute URL with scheme"),
        ("u:pw@example.com/fn?k=v", {}, r"url='example.com/fn\?…': must be"),
        (None, {}, "url=None: must be"),
        ("http://[::1", {}, r"url='http://\[::1': not a valid URL \(Invalid IPv6 URL\)"),
        ("https://u:pw@[::1/fn?k=v", {}, r"url='https://\[::1/fn\?…': not a valid URL"),
        ("https://h/fn", {"timeout_s": 0}, "timeout_s=0: must be a finite number > 0"),
        ("https://h/fn", {"timeout_s": -1.5}, "timeout_s=-1.5"),
        ("https://h/fn", {"method": "PO ST"}, "method='PO ST': must be an HTTP method"),
        ("https://h/fn", {"token": ""}, r"token=<str>: must be a non-empty string"),
        ("https://h/fn", {"sign": "hmac"}, "sign='hmac': must be a callable"),
        ("https://h/fn", {"headers": {"a": 1}}, "headers=<...>: must be a mapping of str"),
        ("https://h/fn", {"verify": "/no/such/ca.pem"}, "verify='/no/such/ca.pem': cannot load"),
        ("https://h/fn", {"verify": 1.5}, "verify=1.5: must be True, False"),
    ],
)
@pytest.mark.parametrize("cls", [HttpFunction, AsyncHttpFunction])
def test_bad_arguments_fail_at_construction(
    cls: type[Any], url: Any, options: dict[str, Any], message: str
) -> None:
    """Bad input fails at construction, naming parameter and value (never a credential)."""
    with pytest.raises(InvalidUsage, match=message) as info:
        cls(url, **options)
    assert "pw" not in str(info.value)


def test_verify_with_a_given_client_is_refused() -> None:
    """verify= only configures the client HttpFunction creates; with client= it is an error."""
    with httpx.Client() as client, pytest.raises(InvalidUsage, match="verify=False: applies only"):
        HttpFunction("https://h/fn", client=client, verify=False)


def test_missing_httpx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without httpx installed, constructing raises MissingDependency naming the http extra."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(MissingDependency, match=r"callwise\[http\]") as info:
        HttpFunction("https://h/fn")
    assert isinstance(info.value, ImportError) and info.value.extra == "http"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_http_function_in_a_policy_breaker_opens_fallback_serves_ledger_records(
    flavour: str, server: LocalHttpServer
) -> None:
    """Real 500, dropped and 504 answers: retries, the breaker opens, the fallback serves,
    the probe after reset_timeout closes it, and the ledger holds every attempt and call."""
    clock = FakeClock(start=1000.0)
    ledger = resilience.Ledger()
    served: list[str] = []

    def degrade(exc: Exception, payload: object) -> dict[str, str]:
        served.append(type(exc).__name__)
        return {"degraded": type(exc).__name__}

    policy = resilience.Policy(
        name="orders",
        fallback=resilience.fallback(handler=degrade),
        retry=resilience.retry(
            attempts=3, on=(HttpStatusError, httpx.TransportError), backoff_s=0, clock=clock
        ),
        breaker=resilience.CircuitBreaker(
            name="orders", fail_max=3, reset_timeout_s=30, clock=clock
        ),
        ledger=ledger,
        clock=clock,
    )
    # One real 500, one dropped connection, one 504: failures that take no real time (the
    # timeout is generous; ReadTimeout has its own test above).
    server.script(Reply(500, "internal error"), DROP, Reply(504, "gateway timeout"))
    payload = {"order": 7}

    if flavour == "sync":
        fn: Any = HttpFunction(server.url("/orders"), timeout_s=10, token=TOKEN)
        guarded = policy(fn)
        answers = [guarded(payload)]
        answers.append(guarded(payload))  # the breaker is open: no request is sent
        clock.advance(30)
        answers.append(guarded(payload))  # the probe succeeds and closes the breaker
        fn.close()
    else:

        async def main() -> list[Any]:
            async with AsyncHttpFunction(server.url("/orders"), timeout_s=10, token=TOKEN) as fn:
                guarded = policy(fn)
                results = [await guarded(payload), await guarded(payload)]
                clock.advance(30)
                results.append(await guarded(payload))
                return results

        answers = asyncio.run(main())

    assert answers == [
        {"degraded": "HttpStatusError"},
        {"degraded": "CircuitOpenError"},
        {"method": "POST", "path": "/orders", "json": {"order": 7}},
    ]
    assert served == ["HttpStatusError", "CircuitOpenError"]
    assert len(server.received) == 4  # 3 failed attempts and the probe, nothing while open

    frame = ledger.to_frame()
    assert set(frame["function"]) == {"orders"}
    attempts = frame[frame["kind"] == "attempt"]
    calls = frame[frame["kind"] == "call"]
    assert attempts["attempt"].tolist() == [1, 2, 3, 1, 1]
    assert attempts["outcome"].tolist() == ["error", "error", "error", "rejected", "ok"]
    assert [t.rsplit(".", 1)[-1] for t in attempts["error_type"].dropna()] == [
        "HttpStatusError",
        "RemoteProtocolError",
        "HttpStatusError",
        "CircuitOpenError",
    ]
    request_bytes = len(b'{"order":7}')
    assert attempts["request_bytes"].tolist()[0] == request_bytes
    assert attempts["response_bytes"].tolist()[0] == len(b"internal error")
    assert attempts["request_bytes"].tolist()[-1] == request_bytes
    assert calls["outcome"].tolist() == ["fallback", "fallback", "ok"]
    assert TOKEN not in frame.to_csv() + ledger.totals().to_csv()
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.received)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_echoed_token_is_redacted_from_status_errors(
    flavour: str, server: LocalHttpServer
) -> None:
    """A 401 whose body repeats the request's credentials shows *** instead of the token."""
    server.script(Reply(401, f"denied for Authorization: Bearer {TOKEN}; token {TOKEN}"))
    with pytest.raises(HttpStatusError) as info:
        invoke(flavour, server.url(), {}, token=TOKEN)
    err = info.value
    for text in (str(err), repr(err), err.body):
        assert TOKEN not in text
    assert err.body == "denied for Authorization: ***; token ***"
    assert TOKEN in err.raw_body
