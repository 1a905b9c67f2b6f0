"""Helpers for running the real `python main.py write` CLI against the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = 512345678
TOKEN = "AQX-write-test-token-SECRET"
RULES = {"LEAD": 11, "PURCHASE": 12, "SIGN_UP": 13}
STREAM_EVENTS = "leads=LEAD,purchases=PURCHASE,signups=SIGN_UP"


def seed_access_token(sandbox: Any) -> None:
    sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
    for event, rule_id in RULES.items():
        sandbox.add_rule(ACCOUNT, rule_id=rule_id, type=event, name=f"CAPI {event}")


def access_token_config(sandbox: Any, **overrides: Any) -> dict[str, Any]:
    config = {
        "account_id": str(ACCOUNT),
        "credentials": {
            "auth_type": "access_token",
            "access_token": TOKEN,
            "conversion_mapping": ",".join(f"{e}={r}" for e, r in RULES.items()),
        },
        "stream_events": STREAM_EVENTS,
        "api_base_url": sandbox.url,
        "oauth_base_url": sandbox.url,
    }
    config.update(overrides)
    return config


@dataclass
class WriteRun:
    code: int
    messages: list[dict[str, Any]]
    stderr: str
    states: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    traces: list[dict[str, Any]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return json.dumps(self.messages) + self.stderr


def run_write(
    tmp_path: Path,
    config: dict[str, Any],
    catalog: dict[str, Any],
    lines: Iterable[bytes],
    *,
    on_message: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 300,
) -> WriteRun:
    """Run the CLI; `on_message` sees each stdout message the moment it is printed."""
    config_path = tmp_path / "config.json"
    catalog_path = tmp_path / "catalog.json"
    input_path = tmp_path / "input.jsonl"
    config_path.write_text(json.dumps(config))
    catalog_path.write_text(json.dumps(catalog))
    input_path.write_bytes(b"".join(line + b"\n" for line in lines))
    with open(input_path, "rb") as stdin, open(tmp_path / "stderr.txt", "w+b") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "main.py"),
                "write",
                "--config",
                str(config_path),
                "--catalog",
                str(catalog_path),
            ],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
        )
        messages = []
        assert proc.stdout is not None
        for raw in proc.stdout:
            message = orjson.loads(raw)
            messages.append(message)
            if on_message is not None:
                on_message(message)
        code = proc.wait(timeout=timeout)
        stderr.seek(0)
        err = stderr.read().decode("utf-8", "replace")
    run = WriteRun(code, messages, err)
    run.states = [m for m in messages if m["type"] == "STATE"]
    run.logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    run.traces = [m["trace"] for m in messages if m["type"] == "TRACE"]
    return run


def with_state_ids(lines: Iterable[bytes]) -> list[bytes]:
    """Give every STATE the platform's integer `id`, as the Airbyte orchestrator does."""
    out = []
    next_id = 1
    for line in lines:
        message = orjson.loads(line)
        if message["type"] == "STATE":
            message["id"] = next_id
            next_id += 1
        out.append(orjson.dumps(message))
    return out


def expected_state_counts(lines: list[bytes]) -> list[tuple[int, float, int]]:
    """For each STATE: (id, expected destinationStats.recordCount, records read before it)."""
    since: dict[str, int] = {}
    total = 0
    expected = []
    for line in lines:
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            since[message["record"]["stream"]] = since.get(message["record"]["stream"], 0) + 1
            total += 1
        elif message["type"] == "STATE":
            name = message["state"]["stream"]["stream_descriptor"]["name"]
            expected.append((message["id"], float(since.pop(name, 0)), total))
    return expected
