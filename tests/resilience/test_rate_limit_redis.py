"""Rate limits shared through a real redis-server: one round trip per decision, keys
that expire, combined limits in one script, outages (open, closed, local) and several
processes with threads hammering one limit."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from support.redis_server import RedisServer

from resilience import InvalidUsage, RateLimited, RedisRateStore, rate_limit
from resilience.testing import FakeClock

pytestmark = pytest.mark.redis


def _evalsha_calls(client: object) -> int:
    stats = client.info("commandstats")  # type: ignore[attr-defined]
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def test_two_limiters_with_one_name_share_the_bucket(redis_server: RedisServer) -> None:
    """Limiters in two places with the same store prefix and name draw from one bucket."""
    clock = FakeClock(start=1000.0)
    a = rate_limit(2, per_s=1, burst=2, name="api", clock=clock,
                   store=RedisRateStore(redis_server.client()))  # fmt: skip
    b = rate_limit(2, per_s=1, burst=2, name="api", clock=clock,
                   store=RedisRateStore(redis_server.client()))  # fmt: skip
    a.acquire()
    b.acquire()
    with pytest.raises(RateLimited) as info:
        a.acquire()
    assert info.value.retry_after == pytest.approx(0.5)
    clock.advance(0.5)
    b.acquire()
    assert a.remaining() == 0


def test_one_round_trip_per_decision(redis_server: RedisServer) -> None:
    """Each decision is exactly one EVALSHA (the script is loaded once), admitted or not."""
    client = redis_server.client()
    limit = rate_limit(10, per_s=1, burst=10, name="count", clock=FakeClock(),
                       store=RedisRateStore(client))  # fmt: skip
    limit.try_acquire()  # loads the script
    before = _evalsha_calls(client)
    results = [limit.try_acquire() for _ in range(50)]
    assert _evalsha_calls(client) - before == 50
    assert results.count(True) == 9


def test_keys_expire_when_the_bucket_is_full_again(redis_server: RedisServer) -> None:
    """A key lives as long as its bucket needs to refill: idle limits leave nothing behind."""
    client = redis_server.client()
    limit = rate_limit(1, per_s=30, burst=3, name="ttl", key=lambda user: user,
                       store=RedisRateStore(client, prefix="app:"))  # fmt: skip
    limit.acquire(key="ann")
    ttl_ms = client.pttl("app:ttl:ann")
    assert 29_000 <= ttl_ms <= 30_000  # one unit to refill, 30 s
    assert client.keys("app:*") == [b"app:ttl:ann"]


def test_combined_redis_limits_decide_in_one_script(redis_server: RedisServer) -> None:
    """a & b on one store: one EVALSHA per decision; a refusal of b consumes nothing of a."""
    client = redis_server.client()
    store = RedisRateStore(client)
    clock = FakeClock(start=50.0)
    per_second = rate_limit(10, per_s=1, burst=10, name="s", clock=clock, store=store)
    per_minute = rate_limit(3, per_s=60, burst=3, name="m", clock=clock, store=store)
    both = per_second & per_minute
    both.try_acquire()
    before = _evalsha_calls(client)
    admitted = sum(both.try_acquire() for _ in range(10))
    assert _evalsha_calls(client) - before == 10
    assert admitted == 2 and per_second.remaining() == 7


def test_mixed_local_and_redis_limits_give_local_permits_back(
    redis_server: RedisServer,
) -> None:
    """A local limit combined with a Redis one: when Redis refuses, the local permit taken
    first is given back."""
    clock = FakeClock()
    local = rate_limit(100, per_s=1, burst=100, clock=clock)
    shared = rate_limit(1, per_s=60, name="shared", clock=clock,
                        store=RedisRateStore(redis_server.client()))  # fmt: skip
    both = local & shared
    assert both.try_acquire()
    assert not any(both.try_acquire() for _ in range(5))
    assert local.remaining() == 99


def test_a_shared_limit_needs_a_name(redis_server: RedisServer) -> None:
    """The Redis key is the limit's name: a shared limit without one is an error."""
    with pytest.raises(InvalidUsage, match="needs a name"):
        rate_limit(1, store=RedisRateStore(redis_server.client()))
    with pytest.raises(InvalidUsage, match="on_error='retry'"):
        RedisRateStore(redis_server.client(), on_error="retry")
    with pytest.raises(InvalidUsage, match="not a redis client"):
        RedisRateStore(object())


@pytest.mark.parametrize("on_error", ["open", "closed", "local"])
def test_redis_outage_follows_on_error_and_logs_once(
    redis_tcp_server: RedisServer, on_error: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down: 'open' admits, 'closed' refuses, 'local' limits in this process alone;
    the outage is logged once and its end once."""
    store = RedisRateStore(redis_tcp_server.client(), on_error=on_error)
    clock = FakeClock()
    limit = rate_limit(1, per_s=60, burst=2, name="outage", clock=clock, store=store)
    redis_tcp_server.stop()
    with caplog.at_level(logging.WARNING, logger="resilience.rate_limit"):
        results = [limit.try_acquire() for _ in range(4)]
        expected = {"open": [True] * 4, "closed": [False] * 4, "local": [True, True, False, False]}
        assert results == expected[on_error]
        if on_error == "closed":
            with pytest.raises(RateLimited):
                limit.acquire()
        redis_tcp_server.start()
        limit.try_acquire()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "Redis unreachable" in messages[0] and f"on_error={on_error!r}" in messages[0]
    assert "answers again" in messages[1]


def test_threads_on_one_frozen_clock_admit_exactly_the_burst(redis_server: RedisServer) -> None:
    """8 threads hammering one shared limit at one instant admit exactly the burst."""
    clock = FakeClock(start=10.0)
    store = RedisRateStore(redis_server.client())
    limit = rate_limit(1, per_s=1, burst=25, name="frozen", clock=clock, store=store)
    admitted: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(40):
            ok = limit.try_acquire()
            with lock:
                admitted.append(ok)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 25 and len(admitted) == 320


WORKER = textwrap.dedent(
    """
    import json, sys, threading, time
    import redis
    from resilience import RedisRateStore, rate_limit

    url, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    store = RedisRateStore(redis.Redis.from_url(url))
    limit = rate_limit(50, per_s=1, burst=5, name="hammer", store=store)
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    start_at = float(sys.stdin.readline())
    while time.time() < start_at:
        time.sleep(0.001)
    counts = []
    def run():
        n = 0
        end = start_at + seconds
        while time.time() < end:
            n += limit.try_acquire()
        counts.append(n)
    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool: t.start()
    for t in pool: t.join()
    print(json.dumps({"admitted": sum(counts), "end": time.time()}))
    """
)


def test_processes_and_threads_respect_one_shared_limit(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """3 processes x 4 threads, one real second, server time: admitted <= burst +
    rate x window + 1, and the limit is used (not refusing everything)."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [
        subprocess.Popen([sys.executable, "-P", str(script), redis_server.url, "4", "1.0"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    start_at = time.time() + 0.2
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(f"{start_at}\n")
        worker.stdin.flush()
    reports = []
    for worker in workers:
        out, _ = worker.communicate(timeout=60)
        reports.append(json.loads(out))
    admitted = sum(r["admitted"] for r in reports)
    window = max(r["end"] for r in reports) - start_at
    assert admitted <= 5 + 50 * window + 1
    assert admitted >= 0.5 * 50 * 1.0
