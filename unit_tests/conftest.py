"""Shared helpers: run the real CLI as a subprocess and parse its stdout as Airbyte messages."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests_mock

from devtools.test_schedule import pytest_collection_modifyitems  # noqa: F401  (the wall_clock group, for xdist)
from unit_tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


def rejected_by_reason(report: Any) -> Counter[str]:
    """A sync report's rejections by reason code, every stream together."""
    reasons: Counter[str] = Counter()
    for (_, reason), count in report.rejected.items():
        reasons[reason] += count
    return reasons


def run_cli(args: list[str], *, stdin: str | None = None, timeout: float = 120) -> tuple[int, list[dict], str, str]:
    """Run `python main.py ARGS`; return (exit code, stdout JSON messages, raw stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, messages, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A real Redis server with a password, one per test module (unit_tests/redis_server.py)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), password="s3cret-pass").start()
    yield server
    server.stop()


@pytest.fixture
def write_json(tmp_path):
    def _write(name: str, payload) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(payload))
        return path

    return _write


@pytest.fixture
def m():
    """A strict HTTP mock (paths matched case-sensitively): a request nothing was registered for fails the test."""
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        yield mocker
