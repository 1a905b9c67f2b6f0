"""A LinkedIn stand-in that accepts everything, for the end-to-end throughput figure.

The sandbox validates and stores every event (≈ 10 µs of CPU an event), so a run into it measures
both processes. This sink does the least an HTTP peer can: it reads each `BATCH_CREATE` body,
counts its elements without parsing them (each element is one JSON object whose first key is
`conversion`, as the connector writes it; a `{"conversion":` inside a string value would have its
quotes escaped) and answers one `{"status": 201}` per element. It checks nothing else, so it is
only for measuring the connector's own cost. The reads every sync makes before sending (the token's ad
accounts, the account's rules) get the benchmark's account and rules (`devtools.sample_data`).
`python -m bench.sink` prints `SINK_URL=…`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devtools.sample_data import ACCOUNT, RULES

ELEMENT = b'{"conversion":'
PATH = "/rest/conversionEvents"
#: The answers to a sync's first reads, one page each: the benchmark's account and its enabled rules.
READS = {
    "/rest/adAccountUsers": {
        "elements": [{"account": f"urn:li:sponsoredAccount:{ACCOUNT}", "role": "ACCOUNT_MANAGER"}]
    },
    "/rest/conversions": {
        "elements": [
            {"id": rule, "name": f"CAPI {event}", "type": event, "conversionMethod": "CONVERSIONS_API", "enabled": True}
            for event, rule in RULES.items()
        ]
    },
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as LinkedIn and the client's pooled session use
    server: SinkServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0] != PATH:
            self._answer(404, b'{"message":"the sink only takes conversion events"}')
            return
        count = body.count(ELEMENT)
        self.server.accepted(count)
        self._answer(200, self.server.answer(count))

    def do_GET(self) -> None:
        read = READS.get(self.path.split("?", 1)[0])
        if self.path == "/_sink/stats":
            self._answer(200, b'{"events":%d,"requests":%d}' % (self.server.events, self.server.requests))
        elif read is not None:
            self._answer(200, json.dumps(read).encode())
        else:
            self._answer(404, b"{}")

    def do_DELETE(self) -> None:
        if self.path == "/_sink/stats":
            self.server.reset()
        self._answer(200, b"{}")


class SinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self._lock = threading.Lock()
        self._answers: dict[int, bytes] = {}
        self.events = 0
        self.requests = 0

    def answer(self, count: int) -> bytes:
        body = self._answers.get(count)
        if body is None:
            body = self._answers[count] = b'{"elements":[' + b",".join([b'{"status":201}'] * count) + b"]}"
        return body

    def accepted(self, count: int) -> None:
        with self._lock:
            self.events += count
            self.requests += 1

    def reset(self) -> None:
        with self._lock:
            self.events = self.requests = 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = SinkServer(("127.0.0.1", args.port))
    print(f"SINK_URL=http://127.0.0.1:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
