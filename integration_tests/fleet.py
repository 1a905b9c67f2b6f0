"""Helpers for running several `python main.py write` processes at once against one sandbox (issue: one member
token, many syncs): distinct events per sync, the syncs started together, and what each one printed."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Any

import orjson

from devtools.sample_data import ACCOUNT, catalog, generate_lines
from integration_tests.writing import WriteRun, run_write, with_state_ids

TOKEN_ID = "590708082141560832"
SERVICE_KEY = "fleet-service-key-SECRET"
REDIS_PASSWORD = "fleet-redis-password-SECRET"  # of the redis_server fixture (conftest.py)


def sync_lines(index: int, count: int, streams: tuple[str, ...] = ("leads", "purchases", "signups")) -> list[bytes]:
    """`count` records of the sample streams for sync `index`, each with its own `event_id` (`s<index>-<n>`) so
    every sync's events can be told apart in the sandbox, with a STREAM state every 10 records."""
    lines = []
    for n, line in enumerate(generate_lines(count * 3, seed=index, state_every=10, bad=False)):
        message = orjson.loads(line)
        stream = message["record"]["stream"] if message["type"] == "RECORD" else None
        if message["type"] == "RECORD" and stream in streams:
            message["record"]["data"]["event_id"] = f"s{index}-{n}"
            lines.append(orjson.dumps(message))
        elif message["type"] == "STATE" and message["state"]["stream"]["stream_descriptor"]["name"] in streams:
            lines.append(orjson.dumps(message))
        if sum(1 for kept in lines if b'"RECORD"' in kept) == count:
            break
    return with_state_ids(lines)


def event_ids(lines: list[bytes]) -> list[str]:
    return [m["record"]["data"]["event_id"] for m in map(orjson.loads, lines) if m["type"] == "RECORD"]


def store_setting(kind: str, tmp_path: Path, redis_server: Any) -> dict[str, Any]:
    """`request_budget` on the test's Redis (a key prefix of its own) or an SQLite file in `tmp_path`."""
    if kind == "redis":
        return {"store": "redis", "url": redis_server.url, "key_prefix": f"fleet-{time.time_ns()}"}
    return {"store": "sqlite", "path": str(tmp_path / "budget.sqlite")}


def token_id_credentials(sandbox: Any, **extra: Any) -> dict[str, Any]:
    """Token-ID mode: each sync mints its own access token; all of them are one member's."""
    sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "ACCOUNT_MANAGER"}, service_key=SERVICE_KEY)
    return {
        "auth_type": "token_id",
        "token_id": TOKEN_ID,
        "token_service_url": f"{sandbox.url}/cdp/v1/token",
        "token_service_key": SERVICE_KEY,
        **extra,
    }


def run_fleet(
    tmp_path: Path, configs: list[dict[str, Any]], lines: list[list[bytes]], streams: list[str] | None = None
) -> list[WriteRun]:
    """Start one `main.py write` per config at once; wait for all of them."""
    folders = [tmp_path / f"sync-{i}" for i in range(len(configs))]
    for folder in folders:
        folder.mkdir()
    with concurrent.futures.ThreadPoolExecutor(len(configs)) as pool:
        futures = [
            pool.submit(run_write, folder, config, catalog(streams), sync, timeout=240)
            for folder, config, sync in zip(folders, configs, lines, strict=True)
        ]
        return [future.result() for future in futures]
