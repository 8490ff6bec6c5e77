"""A real ``redis-server`` for the tests: a free port on 127.0.0.1, no persistence.

The Redis tests never use a fake: :class:`RedisServer` starts the Debian binary, waits
until it says it is ready and answers PING, and can be stopped and started again on the
same port to simulate an outage.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

START_TIMEOUT_S = 15.0
READY_LINE = "Ready to accept connections"
MISSING = (
    "redis-server is not installed (not on PATH). The Redis tests start a real server: "
    "install it with `apt-get install redis-server` (`make test` does this when run as root)."
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process: ``start()``, ``stop()``, ``client()``."""

    def __init__(self, binary: str | None = None, port: int | None = None) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise FileNotFoundError(MISSING)
        self.binary = found
        self.port = port or free_port()
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> None:
        """Start the server and return once it answers PING (RuntimeError if it never does)."""
        ready = threading.Event()
        self.output = []
        options = {
            "--port": str(self.port),
            "--bind": "127.0.0.1",
            "--save": "",
            "--appendonly": "no",
            "--daemonize": "no",
            "--logfile": "",
        }
        self.process = subprocess.Popen(
            [self.binary, *(item for pair in options.items() for item in pair)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        stdout = self.process.stdout
        assert stdout is not None

        def drain() -> None:  # read the log so the server never blocks on a full pipe
            for line in stdout:
                self.output.append(line)
                if READY_LINE in line:
                    ready.set()
            ready.set()  # exited: start() finds out below

        threading.Thread(target=drain, name=f"redis-{self.port}-log", daemon=True).start()
        ready.wait(START_TIMEOUT_S)
        client = self.client()
        try:
            client.ping()
        except redis.RedisError as exc:
            self.stop()
            log = "".join(self.output[-20:])
            raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}") from exc
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server (kill it if it does not stop within 5 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            with contextlib.suppress(OSError):
                process.stdout.close()

    def client(self) -> redis.Redis:
        """A client that fails fast: short timeouts and no retries."""
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
