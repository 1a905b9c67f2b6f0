"""The HTTP layer: stdlib `ThreadingHTTPServer` speaking HTTP/1.1 keep-alive.

Why the stdlib and not werkzeug: werkzeug's development server is this same `http.server`
plus a WSGI translation per request, so it can only be slower, and it would be a new runtime
dependency of the connector. A thread per connection suits pooled clients (one thread per pooled
connection, reused across requests). Responses are written in one buffered flush with Nagle
off, so a request costs one round trip rather than a delayed-ACK stall.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from linkedin_capi_sandbox import restli
from linkedin_capi_sandbox.responses import Reply, error

logger = logging.getLogger("linkedin_capi_sandbox")

IDLE_TIMEOUT_SECONDS = 300.0
SHUTDOWN_POLL_SECONDS = 0.02  # how fast stop() returns; an idle wake-up 50 times a second costs nothing


@dataclass
class Request:
    """One received request; `path` and `query` are raw (still percent-encoded), as Rest.li reads them."""

    method: str
    path: str
    query: str
    headers: Message
    body: bytes
    _params: dict[str, str] | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        """Header value by case-insensitive name (`Linkedin-Version` == `LinkedIn-Version`)."""
        return self.headers.get(name)

    @property
    def params(self) -> dict[str, str]:
        if self._params is None:
            self._params = restli.parse_query(self.query)
        return self._params

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not."""
        return orjson.loads(self.body)


Dispatch = Callable[[Request], Reply]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered: status line, headers and body leave in one flush
    timeout = IDLE_TIMEOUT_SECONDS
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def version_string(self) -> str:
        return "linkedin-capi-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
        except ValueError:
            reply = error(400, "Malformed Content-Length or chunked body")
            reply.headers["Connection"] = "close"  # the framing is lost: end the connection after answering
            self._send(reply)
            return
        try:
            reply = self.server.dispatch(Request(self.command, path, query, self.headers, body))
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply = error(500, f"sandbox internal error: {exc!r}")
        if reply.drop:
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        headers = {"X-LI-UUID": uuid.uuid4().hex, "x-restli-protocol-version": "2.0.0", **reply.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        body = reply.body or b""
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


class _Server(ThreadingHTTPServer):
    """Tracks open connections so `close()` can end idle keep-alive ones instead of waiting on them."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], dispatch: Dispatch) -> None:
        self.dispatch = dispatch
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeout, dropped connection) is normal here, not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class HttpServer:
    """Run `dispatch` behind a threaded HTTP server in a background thread."""

    def __init__(self, dispatch: Dispatch, host: str, port: int) -> None:
        self._server = _Server((host, port), dispatch)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="linkedin-capi-sandbox", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join()
