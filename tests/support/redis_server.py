"""A real ``redis-server`` for the tests, on a unix socket or on TCP 127.0.0.1, no persistence.

The Redis tests never use a fake: :class:`RedisServer` starts the Debian binary and waits
until it says it is ready. By default it listens only on a unix socket in a private
directory (``--port 0``), so no other process can answer in its place. With ``tcp=True``
it listens on a free port of 127.0.0.1 (for ``redis://`` URLs and outages simulated by
stopping and starting it again on the same port): it then checks that the server that
answers is the process it started (``INFO server`` ``process_id``), and picks a new port
when another process took the chosen one before the server could bind it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

START_TIMEOUT_S = 15.0
PORT_ATTEMPTS = 5
READY_LINE = "ready to accept connections"  # TCP and unix socket, any case
MISSING = (
    "redis-server is not installed (not on PATH). The Redis tests start a real server: "
    "install it with `apt-get install redis-server` (`make test` does this when run as root)."
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (it may be taken later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process: ``start()``, ``stop()``, ``client()``, ``url``."""

    def __init__(
        self, binary: str | None = None, *, directory: Path | None = None, tcp: bool = False
    ) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise FileNotFoundError(MISSING)
        if not tcp and directory is None:
            raise ValueError("a unix-socket server needs a private directory for its socket")
        self.binary = found
        self.tcp = tcp
        self.socket_path = None if directory is None else directory / "redis.sock"
        self.port: int | None = None
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        """The server's URL for ``redis.Redis.from_url`` (database 0)."""
        if self.tcp:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def start(self) -> None:
        """Start the server and return once it is ready and is the process started here.

        The first start of a TCP server picks a free port and picks another one when the
        server cannot bind it; a restart uses the same port and fails if it is taken.

        Raises:
            RuntimeError: the server did not start, or another process answers in its place.
        """
        if not self.tcp or self.port is not None:
            self._start_once()
            return
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            if self._start_once(retry_on_bind_error=True):
                return
        raise RuntimeError(f"redis-server found no free port in {PORT_ATTEMPTS} attempts")

    def _start_once(self, *, retry_on_bind_error: bool = False) -> bool:
        """Start one process; False when it could not bind its port and may try another."""
        ready = threading.Event()
        self.output = []
        options = {
            "--port": str(self.port) if self.tcp else "0",
            "--bind": "127.0.0.1",
            "--save": "",
            "--appendonly": "no",
            "--daemonize": "no",
            "--logfile": "",
        }
        if self.socket_path is not None and not self.tcp:
            options |= {"--unixsocket": str(self.socket_path), "--unixsocketperm": "700"}
        process = self.process = subprocess.Popen(
            [self.binary, *(item for pair in options.items() for item in pair)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        stdout = process.stdout
        assert stdout is not None

        said_ready = False

        def drain() -> None:  # read the log so the server never blocks on a full pipe
            nonlocal said_ready
            for line in stdout:
                self.output.append(line)
                if READY_LINE in line.lower():
                    said_ready = True
                    ready.set()
            ready.set()  # end of its output: it is exiting

        threading.Thread(target=drain, name=f"redis-{process.pid}-log", daemon=True).start()
        ready.wait(START_TIMEOUT_S)
        if ready.is_set() and not said_ready:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(START_TIMEOUT_S)
        log = "".join(self.output[-20:])
        if process.poll() is not None:
            self.stop()
            if retry_on_bind_error and "Address already in use" in log:
                return False
            raise RuntimeError(f"redis-server ({self.url}) exited at start:\n{log}")
        client = self.client()
        try:
            answering_pid = int(client.info("server")["process_id"])
        except redis.RedisError as exc:
            self.stop()
            raise RuntimeError(f"redis-server ({self.url}) did not start:\n{log}") from exc
        finally:
            client.close()
        if answering_pid != process.pid:
            self.stop()
            raise RuntimeError(
                f"{self.url} is answered by process {answering_pid}, not by the "
                f"redis-server started here (pid {process.pid})"
            )
        return True

    def stop(self) -> None:
        """Stop the server (kill it if it does not stop within 5 s)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
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
        if self.tcp:
            return redis.Redis(
                host="127.0.0.1",
                port=self.port,
                socket_timeout=1.0,
                socket_connect_timeout=1.0,
                retry=Retry(NoBackoff(), 0),
            )
        return redis.Redis(
            unix_socket_path=str(self.socket_path),
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
