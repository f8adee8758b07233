"""What the local vendor servers share: a threaded HTTP server on 127.0.0.1, the request and response their
handler sees, and their lifecycle (start on a free port, stop closing the connections still open).

A fake subclasses :class:`LocalServer`, calls ``_init_server()`` in its constructor and implements
``_handle(Request) -> Response``; everything about HTTP itself is here, once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

JSON_TYPE = "application/json; charset=utf-8"
_NO_BODY = (204, 302, 304)
S = TypeVar("S", bound="LocalServer")


@dataclass
class Request:
    """One request: the path (percent-decoded), the query (first value of each name), lower-case headers."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    """One response; the content type is sent with any body (and on every status that may carry one)."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    fake: LocalServer

    def setup(self) -> None:
        """Track the connection so that ``stop`` can close it."""
        super().setup()
        self.fake._track(self.connection, add=True)

    def finish(self) -> None:
        """Untrack the connection."""
        try:
            super().finish()
        finally:
            self.fake._track(self.connection, add=False)

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve("GET")

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve("POST")

    def do_PUT(self) -> None:
        """Serve a PUT."""
        self._serve("PUT")

    def do_DELETE(self) -> None:
        """Serve a DELETE."""
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.fake._handle(Request(method, unquote(parts.path), query, headers, body))
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.body or response.status not in _NO_BODY:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


class LocalServer:
    """A vendor's API on 127.0.0.1 and a free port, served from a thread."""

    server_name = "fake"
    _lock: threading.RLock

    def _init_server(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    def _handle(self, request: Request) -> Response:
        raise NotImplementedError

    def _before_stop(self) -> None:
        """Release what could keep a request waiting (a test's gate)."""

    def start(self: S) -> S:
        """Start serving on 127.0.0.1 on a free port."""
        if self._server is not None:
            return self
        handler = type("BoundHandler", (_Handler,), {"fake": self, "server_version": f"{self.server_name}/1.0"})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.server_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the connections still open."""
        server, self._server = self._server, None
        if server is None:
            return
        self._before_stop()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: S) -> S:
        """Start the server."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the server."""
        self.stop()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError(f"{self.server_name} is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
