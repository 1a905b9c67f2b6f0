"""A tiny local HTTP server that answers exactly as a test says, and records every request it gets.

For the few behaviours the sandbox must not have (it is strict like LinkedIn): a redirect to another origin,
a token service handing out a malformed token, a 200 answer of the wrong shape. Each server answers one
function of the request; there is no catch-all success.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


Reply = Callable[[Seen], Answer]


def json_answer(status: int, body: Any) -> Answer:
    return Answer(status, orjson.dumps(body), (("Content-Type", "application/json"),))


def only(method: str, path: str, answer: Answer) -> Reply:
    """Answer `method path` with `answer`; anything else gets 404, so a stray request cannot pass for success."""

    def reply(seen: Seen) -> Answer:
        if seen.method == method and seen.path.split("?", 1)[0] == path:
            return answer
        return json_answer(404, {"message": f"no route {seen.method} {seen.path}"})

    return reply


def redirect_to(origin: str, status: int = 307) -> Reply:
    """Answer every request with a redirect to the same path on `origin` (another server)."""

    def reply(seen: Seen) -> Answer:
        return Answer(status, b"", (("Location", origin + seen.path),))

    return reply


def reads_from(origin: str, reply: Reply) -> Reply:
    """GETs are passed on to `origin` (the sandbox) and its answer relayed; every other request gets `reply`. For a
    test about a sync's writes: the reads every sync makes first (the account, its rules) reach LinkedIn's stand-in."""

    def passed_on(seen: Seen) -> Answer:
        if seen.method != "GET":
            return reply(seen)
        headers = {name: value for name, value in seen.headers.items() if name.lower() != "host"}
        request = urllib.request.Request(origin + seen.path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, body, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, body, kind = error.code, error.read(), error.headers.get("Content-Type", "")
        return Answer(status, body, (("Content-Type", kind),) if kind else ())

    return passed_on


class TinyServer:
    def __init__(self, reply: Reply) -> None:
        self.requests: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                server.requests.append(seen)
                answer = reply(seen)
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TinyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
