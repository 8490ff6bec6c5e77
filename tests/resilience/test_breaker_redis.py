"""Breakers sharing state through pybreaker's CircuitRedisStorage on a real redis-server.

The fixtures start ``redis-server`` on a private unix socket, or on a free TCP port
when a test needs one (and fail when the binary is missing); the outage tests stop the
TCP server mid-test and start it again on the same port.
"""

from __future__ import annotations

import contextlib
import json
import logging
import selectors
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pybreaker
import pytest
from support.breakers import Backend, Recorder, fail, guarded
from support.redis_server import READY_LINE, RedisServer

from resilience import CircuitBreaker, CircuitOpenError
from resilience.testing import FakeClock

pytestmark = pytest.mark.redis


WORKER = textwrap.dedent(
    """
    import json, sys

    import pybreaker, redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from resilience import CircuitBreaker, CircuitOpenError

    url, name = sys.argv[1], sys.argv[2]
    client = redis.Redis.from_url(
        url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )
    storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace=name)
    breaker = CircuitBreaker(name=name, fail_max=2, reset_timeout_s=3600, storage=storage)

    @breaker
    def remote(outcome):
        if outcome == "fail":
            raise ConnectionError("backend down")
        return "ok"

    print(json.dumps({"outcome": "ready", "state": breaker.current_state}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        try:
            if command in ("ok", "fail"):
                remote(command)
            elif command == "open":
                breaker.open()
            elif command == "close":
                breaker.close()
            outcome = "returned"
        except CircuitOpenError:
            outcome = "rejected"
        except ConnectionError:
            outcome = "failed"
        print(json.dumps({"outcome": outcome, "state": breaker.current_state}), flush=True)
    """
)


class Worker:
    """A separate Python process running one breaker; driven one command at a time."""

    def __init__(self, script: Path, url: str, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-u", str(script), url, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        assert self.reply() == ("ready", "closed")

    def reply(self) -> tuple[str, str]:
        assert self.selector.select(timeout=30), "worker did not answer within 30 s"
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            assert self.process.stderr is not None
            pytest.fail(f"worker died:\n{self.process.stderr.read()}")
        answer = json.loads(line)
        return answer["outcome"], answer["state"]

    def send(self, command: str) -> tuple[str, str]:
        """Run ``command`` in the worker; return (outcome, state afterwards)."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.reply()

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        self.selector.close()


@pytest.fixture
def workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[Worker, Worker]]:
    """Two processes with a breaker each, sharing the breaker name 'payments' in Redis."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    first = Worker(script, redis_server.url, "payments")
    try:
        second = Worker(script, redis_server.url, "payments")
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_two_processes_see_each_others_trips(
    workers: tuple[Worker, Worker], redis_server: RedisServer
) -> None:
    """A trip in one process rejects calls in the other; a close in either reaches both."""
    first, second = workers
    assert first.send("fail") == ("failed", "closed")
    assert first.send("fail") == ("failed", "open")
    client = redis_server.client()
    assert client.get("payments:pybreaker:state") == b"open"
    assert client.get("payments:pybreaker:opened_at") is not None
    assert second.send("ok") == ("rejected", "open")
    assert second.send("close") == ("returned", "closed")
    assert first.send("ok") == ("returned", "closed")
    assert second.send("open") == ("returned", "open")
    assert first.send("ok") == ("rejected", "open")
    client.close()


def redis_breaker(server: RedisServer, clock: FakeClock, **options: Any) -> CircuitBreaker:
    storage = pybreaker.CircuitRedisStorage(
        pybreaker.STATE_CLOSED, server.client(), namespace="svc"
    )
    return CircuitBreaker(name="svc", storage=storage, clock=clock, **options)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_redis_outage_leaves_the_breaker_working_and_warns_once(
    mode: str,
    redis_tcp_server: RedisServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With Redis gone the breaker runs on local state, warns once, never fails a call."""
    caplog.set_level(logging.INFO)
    breaker = redis_breaker(
        redis_tcp_server, clock, fail_max=2, reset_timeout_s=30, storage_retry_s=5
    )
    backend = Backend(clock)
    call = guarded(breaker, backend, mode)
    assert call() == "ok"
    redis_tcp_server.stop()
    for _ in range(20):
        assert call() == "ok"
        clock.advance(1)  # retries the storage every 5 s: still down
    backend.error = ConnectionError()
    fail(call, 2)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        call()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "storage" in r.msg]
    assert len(warnings) == 1, caplog.text
    assert "using local state only" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.name == "pybreaker"], "pybreaker's errors leaked"


def test_breaker_reconnects_and_publishes_a_trip_made_during_the_outage(
    redis_tcp_server: RedisServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """When Redis answers again, a breaker that opened meanwhile writes its open state."""
    caplog.set_level(logging.INFO, logger="resilience.breaker")
    breaker = redis_breaker(
        redis_tcp_server, clock, fail_max=1, reset_timeout_s=60, storage_retry_s=5
    )
    backend = Backend(clock)
    breaker.call(backend)
    redis_tcp_server.stop()
    backend.error = ConnectionError()
    fail(guarded(breaker, backend, "sync"))
    redis_tcp_server.start()  # same port, empty database
    clock.advance(5)
    with pytest.raises(CircuitOpenError):
        breaker.call(backend)
    assert "shared state storage answers again" in caplog.text
    client = redis_tcp_server.client()
    assert client.get("svc:pybreaker:state") == b"open"
    other = redis_breaker(redis_tcp_server, clock)
    assert other.state == "open"
    client.close()


def test_pybreaker_and_callwise_breakers_share_one_redis_state(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """A plain pybreaker breaker and ours on one Redis storage follow each other."""
    client = redis_server.client()
    theirs = pybreaker.CircuitBreaker(
        fail_max=1,
        reset_timeout=60,
        state_storage=pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, client, namespace="svc"
        ),
    )
    ours = redis_breaker(redis_server, clock, reset_timeout_s=60)
    backend = Backend(clock)
    backend.error = ConnectionError()
    with pytest.raises(pybreaker.CircuitBreakerError):
        theirs.call(backend)
    with pytest.raises(CircuitOpenError) as info:
        ours.call(backend)
    assert 58 <= info.value.retry_after <= 60  # Redis keeps whole seconds
    ours.close()
    backend.error = None
    assert theirs.call(backend) == "ok"
    client.close()


def test_missing_redis_server_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the redis-server binary the helper says what to install."""
    monkeypatch.setenv("PATH", "")
    with pytest.raises(FileNotFoundError, match=r"apt-get install redis-server"):
        RedisServer()


def test_tcp_server_moves_to_another_port_when_its_port_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A port taken between its choice and the server's bind: the helper picks another."""
    import support.redis_server as helper

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, helper.free_port()])
        monkeypatch.setattr(helper, "free_port", lambda: next(ports))
        server = RedisServer(tcp=True)
        server.start()
        try:
            assert server.port != taken
            assert server.process is not None
            assert server.client().info("server")["process_id"] == server.process.pid
        finally:
            server.stop()


def test_tcp_server_refuses_a_port_answered_by_another_process(
    redis_tcp_server: RedisServer, tmp_path: Path
) -> None:
    """A started process that is not the one answering on the port is an error, not a pass."""
    impostor = tmp_path / "redis-server"
    impostor.write_text(f'#!/bin/sh\necho "{READY_LINE}"\nexec sleep 60\n')
    impostor.chmod(0o700)
    other = RedisServer(str(impostor), tcp=True)
    other.port = redis_tcp_server.port  # the port of a server that is already running
    with pytest.raises(RuntimeError, match=r"answered by process \d+, not by the redis-server"):
        other.start()
    assert other.process is None


def test_restart_on_a_taken_port_fails_clearly(redis_tcp_server: RedisServer) -> None:
    """A restart keeps its port: when the port is taken it fails, naming the server's log."""
    other = RedisServer(tcp=True)
    other.port = redis_tcp_server.port
    with pytest.raises(RuntimeError, match=r"exited at start:(.|\n)*Address already in use"):
        other.start()


# ---- joining a shared state, and a Redis that lost it --------------------------------


def _shared_open(server: RedisServer, clock: FakeClock, reset_timeout_s: float) -> None:
    """Another process's breaker trips on the shared storage."""
    tripper = redis_breaker(server, clock, fail_max=1, reset_timeout_s=reset_timeout_s)
    backend = Backend(clock)
    backend.error = ConnectionError()
    fail(guarded(tripper, backend, "sync"))


def test_joining_an_open_shared_state_is_not_a_trip(
    redis_server: RedisServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A breaker built on an open Redis state starts open: no trip, no listener, no warning."""
    _shared_open(redis_server, clock, reset_timeout_s=60)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="resilience.breaker")
    recorder = Recorder()
    joiner = redis_breaker(redis_server, clock, reset_timeout_s=60, listeners=[recorder])
    assert joiner.state == "open"
    assert recorder.events == [] and joiner.stats.trips == 0
    assert [r.levelname for r in caplog.records] == ["INFO"], caplog.text
    with pytest.raises(CircuitOpenError) as info:
        joiner.call(Backend(clock))
    assert 58 <= info.value.retry_after <= 60  # what is left of the shared period


def test_joining_a_half_open_shared_state_rejects_until_it_changes(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """Shared half-open: the joiner rejects (the probes are another process's) until closed."""
    client = redis_server.client()
    _shared_open(redis_server, clock, reset_timeout_s=60)
    client.set("svc:pybreaker:state", "half-open")
    joiner = redis_breaker(redis_server, clock, reset_timeout_s=60, sync_interval_s=0)
    backend = Backend(clock)
    with pytest.raises(CircuitOpenError):
        joiner.call(backend)
    assert backend.calls == 0 and joiner.stats.trips == 0
    client.set("svc:pybreaker:state", "closed")  # the other process's probe succeeded
    assert joiner.call(backend) == "ok" and joiner.state == "closed"
    client.close()


def test_a_half_open_shared_state_left_behind_holds_for_one_reset_timeout_only(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """If the prober died and the state stays half-open, the joiner probes after 60 s."""
    client = redis_server.client()
    client.set("svc:pybreaker:state", "half-open")
    joiner = redis_breaker(redis_server, clock, reset_timeout_s=60, sync_interval_s=0)
    backend = Backend(clock)
    clock.advance(59)
    with pytest.raises(CircuitOpenError):
        joiner.call(backend)
    clock.advance(1)
    assert joiner.call(backend) == "ok" and backend.calls == 1
    client.close()


def test_joining_a_closed_shared_state_starts_closed(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """Shared closed (or no key yet): the joiner starts closed and calls go through."""
    joiner = redis_breaker(redis_server, clock)
    assert joiner.state == "closed" and joiner.call(Backend(clock)) == "ok"


def test_a_redis_restarted_empty_does_not_close_an_open_breaker(
    redis_tcp_server: RedisServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """2 s into a 20 s open period Redis restarts empty: still open, state published again."""
    caplog.set_level(logging.INFO, logger="resilience.breaker")
    breaker = redis_breaker(
        redis_tcp_server, clock, fail_max=1, reset_timeout_s=20, sync_interval_s=0
    )
    backend = Backend(clock)
    backend.error = ConnectionError()
    fail(guarded(breaker, backend, "sync"))
    client = redis_tcp_server.client()
    assert client.get("svc:pybreaker:state") == b"open"
    client.close()
    clock.advance(2)
    redis_tcp_server.stop()
    redis_tcp_server.start()  # same port, empty database: the key reads as closed
    backend.error = None
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            breaker.call(backend)
    assert backend.calls == 1 and breaker.state == "open"
    client = redis_tcp_server.client()
    assert client.get("svc:pybreaker:state") == b"open"
    assert client.get("svc:pybreaker:opened_at") is not None
    assert redis_breaker(redis_tcp_server, clock).state == "open"  # a joiner sees it too
    clock.advance(18)
    assert breaker.call(backend) == "ok" and breaker.state == "closed"
    client.close()


# ---- a guarded call while Redis is unreachable: bounded by the client's settings -------


def fail_fast_client(port: int, timeout_s: float) -> Any:
    """The documented fail-fast redis-py client: short socket timeouts and NO retries.

    redis-py's default client retries a failed command 10 times with exponential backoff
    (redis-py 8), which holds every guarded call ~10 s when Redis is black-holed.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )


@pytest.mark.parametrize("hostile", ["stopped", "black-holed"])
def test_a_guarded_call_with_redis_unreachable_returns_within_the_socket_timeout(
    hostile: str, redis_tcp_server: RedisServer
) -> None:
    """Redis stopped (port refused) or black-holed (a listener that never answers): the
    first guarded call waits at most about one socket timeout, the next ones not at all.

    Real time, because socket timeouts are real.
    """
    timeout_s = 0.2
    port = redis_tcp_server.port
    storage = pybreaker.CircuitRedisStorage(
        pybreaker.STATE_CLOSED, fail_fast_client(port, timeout_s), namespace="ff"
    )
    breaker = CircuitBreaker(name="ff", storage=storage, sync_interval_s=0, storage_retry_s=60)
    redis_tcp_server.stop()
    with contextlib.ExitStack() as stack:
        if hostile == "black-holed":  # the kernel completes the handshake; nobody reads
            listener = stack.enter_context(socket.socket())
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(64)
        started = time.perf_counter()
        assert breaker.call(lambda: "ok") == "ok"
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(20):
            assert breaker.call(lambda: "ok") == "ok"
        rest_s = time.perf_counter() - started
    # one read of the shared state, bounded by the socket timeout (+ scheduling slack);
    # then local state only: no storage call until storage_retry_s has passed
    assert first_s < timeout_s + 1.0, first_s
    assert rest_s < 1.0, rest_s
