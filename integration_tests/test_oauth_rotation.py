"""Airbyte-managed OAuth with rotating refresh tokens, end to end against the sandbox (seeded with `rotate`):
the CLI emits the whole updated config as one CONTROL/CONNECTOR_CONFIG message before the first STATE; the
platform's next sync, run with the config from that message, works; the old refresh token is never printed,
and the new one only inside the CONTROL message (which the platform must store). The old config is dead."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import AirbyteMessageSerializer, OrchestratorType, Type

from devtools.sample_data import catalog, generate_lines
from integration_tests.writing import (
    ACCOUNT,
    MINTED_TOKEN,
    RULES,
    WriteRun,
    access_token_config,
    parse_summary,
    run_write,
    seed_rules,
    with_state_ids,
    write_command,
)
from unit_tests.conftest import run_cli

pytestmark = pytest.mark.timeout(120)

CLIENT_SECRET = "rotating-client-secret-SECRET"
FIRST_REFRESH_TOKEN = "AQR-first-refresh-token-SECRET"
MAPPING = ",".join(f"{event}={rule}" for event, rule in RULES.items())


def oauth_config(sandbox: Any) -> dict[str, Any]:
    seed_rules(sandbox)
    sandbox.add_oauth_client("capi-app", CLIENT_SECRET)
    sandbox.add_refresh_token("capi-app", FIRST_REFRESH_TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"}, rotate=True)
    credentials = {
        "auth_type": "oauth2",
        "client_id": "capi-app",
        "client_secret": CLIENT_SECRET,
        "refresh_token": FIRST_REFRESH_TOKEN,
        "conversion_mapping": MAPPING,
    }
    return access_token_config(sandbox, credentials=credentials, batch_size=100)


def control_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "CONTROL"]


def new_config_of(run_messages: list[dict[str, Any]], old_token: str) -> tuple[dict[str, Any], str]:
    """The config of the run's only CONTROL message (validated as a protocol message) and its refresh token,
    after checking that it came before every STATE and that no other line holds the new or the old token."""
    (control,) = control_messages(run_messages)
    message = AirbyteMessageSerializer.load(control)
    assert message.type == Type.CONTROL and message.control.type == OrchestratorType.CONNECTOR_CONFIG
    config = message.control.connectorConfig.config
    new_token = config["credentials"]["refresh_token"]
    assert new_token != old_token
    position = run_messages.index(control)
    first_state = next(i for i, m in enumerate(run_messages) if m["type"] == "STATE")
    assert position < first_state, "the CONTROL message must come before the next STATE"
    others = json.dumps([m for m in run_messages if m is not control])
    assert new_token not in others and old_token not in json.dumps(run_messages)
    return config, new_token


def sync(tmp_path: Path, config: dict[str, Any], name: str) -> WriteRun:
    directory = tmp_path / name
    directory.mkdir()
    lines = with_state_ids(generate_lines(300, bad=False, state_every=100))
    return run_write(directory, config, catalog(), lines)


def test_the_next_sync_runs_on_the_config_from_the_control_message(sandbox, tmp_path: Path):
    config = oauth_config(sandbox)
    first = sync(tmp_path, config, "first")
    assert first.code == 0, first.output
    assert FIRST_REFRESH_TOKEN not in first.output and CLIENT_SECRET not in first.stderr
    assert not MINTED_TOKEN.search(first.output), "a minted access token was printed"
    assert parse_summary(first.logs).sent == 300
    updated, second_token = new_config_of(first.messages, FIRST_REFRESH_TOKEN)
    expected = json.loads(json.dumps(config))
    expected["credentials"]["refresh_token"] = second_token
    assert updated == expected  # the whole config, with only the refresh token changed
    assert second_token not in first.stderr

    # The platform stores that config and runs the next sync with it.
    second = sync(tmp_path, updated, "second")
    assert second.code == 0, second.output
    assert parse_summary(second.logs).sent == 300
    _, third_token = new_config_of(second.messages, second_token)
    assert third_token not in (FIRST_REFRESH_TOKEN, second_token)

    # Without the CONTROL message the platform would have kept the first token, which LinkedIn revoked.
    stale = sync(tmp_path, config, "stale")
    assert stale.code == 1
    assert any("invalid_grant" in trace["error"]["message"] for trace in stale.traces), stale.output
    assert not control_messages(stale.messages) and FIRST_REFRESH_TOKEN not in stale.output


def test_check_reports_a_rotated_token_before_its_status(sandbox, tmp_path: Path):
    config = oauth_config(sandbox)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code, messages, stdout, stderr = run_cli(["check", "--config", str(path)])
    assert code == 0, stdout + stderr
    kinds = [m["type"] for m in messages if m["type"] != "LOG"]
    assert kinds == ["CONTROL", "CONNECTION_STATUS"], kinds
    assert messages[-1]["connectionStatus"]["status"] == "SUCCEEDED"
    updated, new_token = new_config_of([*messages, {"type": "STATE"}], FIRST_REFRESH_TOKEN)
    assert FIRST_REFRESH_TOKEN not in stdout + stderr
    path.write_text(json.dumps(updated))
    code, messages, stdout, stderr = run_cli(["check", "--config", str(path)])
    statuses = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert statuses[0]["status"] == "SUCCEEDED", statuses
    assert new_token not in stderr


def test_a_sync_killed_right_after_the_rotation_has_handed_the_new_token_over(sandbox, tmp_path: Path):
    """The CONTROL message goes out the moment LinkedIn rotates the refresh token, not at the next STATE: here the
    source has sent no STATE yet and keeps its stdout open when the sync is killed, as an evicted pod would be."""
    config = {**oauth_config(sandbox), "batch_max_age_seconds": 1}
    proc = subprocess.Popen(
        write_command(tmp_path, config),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"".join(line + b"\n" for line in generate_lines(20, bad=False, state_every=1000)))
    proc.stdin.flush()  # stdin stays open: the source has more to send
    printed: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: printed.extend(map(json.loads, proc.stdout)), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 60
    while not control_messages(printed) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.kill()
    proc.wait(10)
    reader.join(10)
    assert control_messages(printed), "no CONTROL message before the sync was killed"
    assert not [m for m in printed if m["type"] == "STATE"]
    updated, _ = new_config_of([*printed, {"type": "STATE"}], FIRST_REFRESH_TOKEN)

    # The platform kept that config: the next sync runs on it.
    after = sync(tmp_path, updated, "after")
    assert after.code == 0, after.output
    assert parse_summary(after.logs).sent == 300
