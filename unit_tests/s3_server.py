"""A real S3-compatible server for the rejected-records tests: moto's standalone server (`moto_server`,
from the dev extra's `moto[server]`), started on 127.0.0.1 by the tests and spoken to over HTTP with boto3.
Import the `s3_server` fixture into a test module to use it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
