"""Breakers sharing state through pybreaker's CircuitRedisStorage on a real redis-server.

The fixtures start ``redis-server`` on a private unix socket, or on a free TCP port
when a test needs one (and fail when the binary is missing); the outage tests stop the
TCP server mid-test and start it again on the same port.
"""

from __future__ import annotations

import json
import logging
import selectors
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pybreaker
import pytest
from support.breakers import Backend, fail, guarded
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
