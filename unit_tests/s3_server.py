"""A real S3-compatible server for the rejected-records tests: moto's standalone server (`moto_server`,
from the dev extra's `moto[server]`), started on 127.0.0.1 by the tests and spoken to over HTTP with boto3.
Import the `s3_server` fixture into a test module to use it.

Two loopback stand-ins besides: `RoleStandIn`, an STS + S3 endpoint whose role sessions last a second or two and
whose S3 refuses an expired session token with `ExpiredToken`, as AWS does (moto checks no token); and
`stalled_endpoint`, a server that accepts connections and never answers."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
import requests

KEY_ID = "AKIAREJECTEDTEST0001"
SECRET = "rejected-records-test-secret-DO-NOT-PRINT"


@dataclass
class S3Server:
    endpoint: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )

    def new_bucket(self) -> str:
        name = f"rejected-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def storage(self, bucket: str, **overrides: Any) -> dict[str, Any]:
        """An `object_storage_config` for this server, as a user would type it."""
        return {
            "storage_type": "S3",
            "access_key_id": KEY_ID,
            "secret_access_key": SECRET,
            "s3_bucket_name": bucket,
            "s3_bucket_region": "us-east-1",
            "s3_endpoint": self.endpoint,
            "bucket_path": "linkedin/rejected",
            **overrides,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    port = _free_port()
    binary = Path(sys.executable).with_name("moto_server")
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115 - closed below
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(endpoint, timeout=5)
                break
            except requests.RequestException:  # refused, or a read timeout while the server starts on a busy machine
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start (exit {proc.poll()})") from None
                time.sleep(0.2)
        yield S3Server(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# --- an STS + S3 stand-in with short role sessions ---------------------------------------------------------

DENIED_ROLE = "arn:aws:iam::123456789012:role/not-trusted"
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class RoleStandIn(ThreadingHTTPServer):
    """STS `AssumeRole` issuing sessions of `session_seconds` (refused for `DENIED_ROLE`), and S3 `PutObject`
    accepting only a session token that has not expired. `objects` holds what was written, by key."""

    daemon_threads = True

    def __init__(self, session_seconds: float) -> None:
        super().__init__(("127.0.0.1", 0), _RoleHandler)
        self.session_seconds = session_seconds
        self.sessions: dict[str, float] = {}  # session token → when it expires (time.time())
        self.assumed = 0
        self.objects: dict[str, bytes] = {}
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RoleHandler(BaseHTTPRequestHandler):
    server: RoleStandIn

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # STS AssumeRole
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        if form.get("Action") != ["AssumeRole"]:
            self._answer(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>")
            return
        if form.get("RoleArn") == [DENIED_ROLE]:
            self._answer(
                403,
                f'<ErrorResponse xmlns="{_STS_NS}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
                "<Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>",
            )
            return
        with self.server.lock:
            self.server.assumed += 1
            token = f"session-{self.server.assumed}-{uuid.uuid4().hex}"
            expires = time.time() + self.server.session_seconds
            self.server.sessions[token] = expires
        expiration = dt.datetime.fromtimestamp(expires, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._answer(
            200,
            f'<AssumeRoleResponse xmlns="{_STS_NS}"><AssumeRoleResult><Credentials>'
            f"<AccessKeyId>ASIASTANDIN{self.server.assumed:05d}</AccessKeyId>"
            "<SecretAccessKey>stand-in-session-secret</SecretAccessKey>"
            f"<SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>"
            "<AssumedRoleUser><AssumedRoleId>AROASTANDIN:s</AssumedRoleId>"
            "<Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>"
            "</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>",
        )

    def do_PUT(self) -> None:  # S3 PutObject
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        expires = self.server.sessions.get(self.headers.get("X-Amz-Security-Token") or "")
        if expires is None or expires <= time.time():
            self._answer(
                400,
                "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>",
            )
            return
        with self.server.lock:
            self.server.objects[self.path] = body
        self.send_response(200)
        self.send_header("ETag", f'"{uuid.uuid4().hex}"')
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def role_stand_in() -> Iterator[RoleStandIn]:
    server = RoleStandIn(session_seconds=1.5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# --- an endpoint that never answers ------------------------------------------------------------------------


@dataclass
class StalledEndpoint:
    url: str
    connections: list[socket.socket]  # every connection accepted, held open


@pytest.fixture
def stalled_endpoint() -> Iterator[StalledEndpoint]:
    """A socket at `url` that accepts every connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    endpoint = StalledEndpoint(f"http://127.0.0.1:{listener.getsockname()[1]}", [])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            endpoint.connections.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join()
        for connection in endpoint.connections:
            connection.close()
        listener.close()
