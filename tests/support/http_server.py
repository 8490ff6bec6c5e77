"""A real HTTP server on 127.0.0.1 for the invoker tests, with failure injection.

``LocalHttpServer`` listens on a free port in a background thread. Each request is
recorded (:attr:`LocalHttpServer.received`; the event :attr:`LocalHttpServer.arrived`
is set) and answered by the next scripted behaviour (:meth:`LocalHttpServer.script`),
or by :attr:`LocalHttpServer.default` once the script is used up. Behaviours:

- :class:`Reply`: a status, headers and a body (bytes, str, or anything JSON);
- :data:`DROP`: close the connection without answering;
- :class:`Slow`: block on :attr:`LocalHttpServer.gate` (a ``threading.Event``, never a
  sleep) and then answer; the test releases the gate, and ``stop()`` always does;
- :class:`Trickle`: a hostile server that sends the headers, then one byte of the body
  every ``interval_s`` (real seconds: a socket's timeouts are real);
- :class:`Flood`: a hostile server that streams ``size_bytes`` of body as fast as it can,
  with or without a ``Content-Length`` (chunked), from a small buffer.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "DROP",
    "Flood",
    "LocalHttpServer",
    "Received",
    "Reply",
    "Slow",
    "Trickle",
    "running_server",
]


@dataclass(frozen=True)
class Received:
    """One request as the server saw it (header names in lower case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON; None when empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass(frozen=True)
class Reply:
    """An answer: status, headers, body (bytes/str sent as they are, else JSON)."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("content-type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("content-type", "application/json")
        return json.dumps(self.body).encode(), headers


@dataclass(frozen=True)
class Slow:
    """Answer ``reply`` only once the server's gate is set."""

    reply: Reply = field(default_factory=Reply)


@dataclass(frozen=True)
class Trickle:
    """Send the headers (a Content-Length of ``size_bytes``), then one byte per interval."""

    size_bytes: int = 20
    interval_s: float = 0.2


@dataclass(frozen=True)
class Flood:
    """Stream ``size_bytes`` of body quickly; ``declared``: send a Content-Length."""

    size_bytes: int
    declared: bool = True


DROP = "drop"
"""Close the connection without sending any answer."""

Behaviour = Reply | Slow | Trickle | Flood | str


def echo(received: Received) -> Reply:
    """The default answer: 200 with the request's method, path and JSON body."""
    return Reply(200, {"method": received.method, "path": received.path, "json": received.json()})


class LocalHttpServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 and a free port."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.received: list[Received] = []
        self.gate = threading.Event()
        self.arrived = threading.Event()  # set once a request has been received
        self.default: Callable[[Received], Behaviour] = echo
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def script(self, *behaviours: Behaviour) -> None:
        """Answer the next requests with ``behaviours``, in order, then with the default."""
        with self._lock:
            self._script.extend(behaviours)

    def start(self) -> LocalHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def _next(self, received: Received) -> Behaviour:
        with self._lock:
            self.received.append(received)
            self.arrived.set()
            if self._script:
                return self._script.popleft()
        return self.default(received)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                behaviour = server._next(received)
                if behaviour == DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(behaviour, Slow):
                    server.gate.wait(30)
                    behaviour = behaviour.reply
                if isinstance(behaviour, (Trickle, Flood)):
                    self._stream(behaviour)
                    return
                assert isinstance(behaviour, Reply)
                payload, headers = behaviour.encoded()
                try:
                    self.send_response(behaviour.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

            def _stream(self, behaviour: Trickle | Flood) -> None:
                declared = isinstance(behaviour, Trickle) or behaviour.declared
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/octet-stream")
                    if declared:
                        self.send_header("content-length", str(behaviour.size_bytes))
                    else:
                        self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    if isinstance(behaviour, Trickle):
                        for _ in range(behaviour.size_bytes):
                            if server.gate.wait(behaviour.interval_s):
                                break  # stop() releases the gate: give up at once
                            self.wfile.write(b"x")
                            self.wfile.flush()
                        return
                    block = b"x" * 65536
                    left = behaviour.size_bytes
                    while left > 0:
                        piece = block[: min(left, len(block))]
                        if declared:
                            self.wfile.write(piece)
                        else:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        left -= len(piece)
                    if not declared:
                        self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading, as it should
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


@contextmanager
def running_server(*, tls: ssl.SSLContext | None = None) -> Iterator[LocalHttpServer]:
    """A started server (HTTPS with ``tls``), stopped (and its gate released) on exit."""
    server = LocalHttpServer(tls=tls).start()
    try:
        yield server
    finally:
        server.stop()
