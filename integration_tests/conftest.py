"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration_tests.fleet import REDIS_PASSWORD
from unit_tests.redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A real Redis server with a password, one per test: tests may kill it, or stop it before a sync starts."""
    server = RedisServer(tmp_path, password=REDIS_PASSWORD).start()
    yield server
    server.stop()
