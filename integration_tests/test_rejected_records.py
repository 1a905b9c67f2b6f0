"""Rejected records end to end: `python main.py write` and `check` with S3 storage on a real moto server, and
with a local directory, against the strict sandbox. Every rejected row — refused by the mapping, by consent or
by LinkedIn — is in storage before the STATE after it is printed, and each STATE counts its rejections."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from linkedin_capi_sandbox import Sandbox

from devtools.sample_data import access_token_config as dry_run_config
from devtools.sample_data import catalog, generate_lines
from integration_tests.writing import (
    ROOT,
    access_token_config,
    assert_states_echoed,
    run_write,
    seed_access_token,
    write_command,
)
from integration_tests.writing import with_state_ids as with_ids
from unit_tests.conftest import run_cli
from unit_tests.s3_server import KEY_ID, SECRET, s3_server, stalled_endpoint  # noqa: F401 - the fixtures

pytestmark = pytest.mark.timeout(300)
SYNC_ID = 4711


def sync_catalog() -> dict[str, Any]:
    configured = catalog()
    for stream in configured["streams"]:
        stream["sync_id"] = SYNC_ID  # what the platform puts in every configured stream
    return configured


def aged_lines(count: int, refused: set[int], now: dt.datetime) -> list[bytes]:
    """Sample lines (with the demo's bad rows) where the records at `refused` are 89 days old: the connector
    accepts them, the sandbox (its clock two days ahead) refuses them, as LinkedIn refuses a stale event."""
    lines = list(generate_lines(count, state_every=50, now=now))
    old = (now - dt.timedelta(days=89)).isoformat()
    index = -1
    for position, line in enumerate(lines):
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            index += 1
            if index in refused:
                message["record"]["data"]["event_time"] = old
                lines[position] = orjson.dumps(message)
    return with_ids(lines)


def rejected_before_each_state(lines: list[bytes], refused: set[int]) -> dict[int, set[str]]:
    """State id → ids of every rejected record read before it."""
    seen: set[str] = set()
    out = {}
    index = -1
    for line in lines:
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            index += 1
            record_id = message["record"]["data"]["id"]
            if index in refused or record_id.startswith("bad-"):
                seen.add(record_id)
        else:
            out[message["id"]] = set(seen)
    return out


def rejected_per_stream_state(lines: list[bytes], refused: set[int]) -> list[float]:
    """What each STREAM state's rejectedRecordCount must be: its stream's rejected records since its previous one."""
    pending: dict[str, int] = {}
    out = []
    index = -1
    for line in lines:
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            index += 1
            if index in refused or message["record"]["data"]["id"].startswith("bad-"):
                stream = message["record"]["stream"]
                pending[stream] = pending.get(stream, 0) + 1
        else:
            out.append(float(pending.pop(message["state"]["stream"]["stream_descriptor"]["name"], 0)))
    return out


def s3_rows(server: Any, bucket: str) -> list[dict[str, Any]]:
    rows = []
    for key in server.keys(bucket):
        body = server.read(bucket, key)
        rows.extend(json.loads(line) for line in (gzip.decompress(body) if key.endswith(".gz") else body).splitlines())
    return rows


def test_every_rejected_row_is_in_s3_before_the_state_after_it(s3_server, tmp_path):  # noqa: F811
    now = dt.datetime.now(dt.timezone.utc)
    refused = {30, 260, 555}
    lines = aged_lines(600, refused, now)
    expected = rejected_before_each_state(lines, refused)
    bucket = s3_server.new_bucket()
    storage = s3_server.storage(bucket, compression={"compression_type": "GZIP"})
    checked: list[int] = []

    def gate(message: dict[str, Any]) -> None:
        if message["type"] == "STATE":
            stored = {row["record"]["id"] for row in s3_rows(s3_server, bucket)}
            missing = expected[message["id"]] - stored
            assert not missing, f"state {message['id']} printed before rejected rows {sorted(missing)} were stored"
            checked.append(message["id"])

    with Sandbox(clock=lambda: time.time() + 2 * 86400) as sandbox:
        seed_access_token(sandbox)
        config = access_token_config(sandbox, batch_size=100, object_storage_config=storage)
        run = run_write(tmp_path, config, sync_catalog(), lines, on_message=gate)
    assert run.code == 0, run.output
    assert len(checked) == len(expected) == 12
    rows = s3_rows(s3_server, bucket)
    reasons = {row["record"]["id"]: row["reason"] for row in rows}
    assert reasons == {
        "bad-too-old": "too_old",
        "bad-no-identifier": "no_identifier",
        "bad-currency": "invalid_currency",
        "bad-no-time": "missing_timestamp",
        **{rid: "linkedin_rejected" for rid in expected[max(expected)] if not rid.startswith("bad-")},
    }
    assert all(key.startswith(f"linkedin/rejected/{SYNC_ID}/") for key in s3_server.keys(bucket))
    refused_row = next(row for row in rows if row["reason"] == "linkedin_rejected")
    assert refused_row["event"] in ("LEAD", "PURCHASE", "SIGN_UP") and "90 days" in refused_row["message"]
    assert refused_row["record"]["event_time"].startswith((now - dt.timedelta(days=89)).date().isoformat())
    assert_states_echoed(run, lines)  # recordCount + rejectedRecordCount = the records each state covers
    counted = [state["state"]["destinationStats"].get("rejectedRecordCount", 0.0) for state in run.states]
    assert counted == rejected_per_stream_state(lines, refused)
    assert 0 < sum(counted) < 7  # a STREAM state counts its own stream: the last rows' stream had no state after them
    assert f"  rejected records: 7 written to s3://{bucket}/linkedin/rejected/{SYNC_ID}/" in "\n".join(run.logs)
    assert SECRET not in run.output and KEY_ID not in run.output


def test_check_writes_and_removes_a_probe_and_names_a_missing_bucket(sandbox, s3_server, tmp_path):  # noqa: F811
    seed_access_token(sandbox)  # `check` verifies the credentials too
    bucket = s3_server.new_bucket()
    config = access_token_config(sandbox, object_storage_config=s3_server.storage(bucket))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code, messages, out, err = run_cli(["check", "--config", str(path)])
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert code == 0 and status["status"] == "SUCCEEDED", status
    assert s3_server.keys(bucket) == []
    config["object_storage_config"]["s3_bucket_name"] = "not-a-bucket-of-ours"
    path.write_text(json.dumps(config))
    code, messages, out, err = run_cli(["check", "--config", str(path)])
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED"
    assert status["message"].startswith("Rejected records could not be written to bucket 'not-a-bucket-of-ours' (")
    assert SECRET not in out + err


def test_rows_without_consent_are_never_sent_and_land_in_the_local_directory(sandbox, tmp_path):
    seed_access_token(sandbox)
    lines = []
    for n, line in enumerate(generate_lines(200, bad=False, state_every=40)):
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            message["record"]["data"]["consent"] = {"ad_storage": "denied" if n % 10 == 0 else "GRANTED"}
        lines.append(orjson.dumps(message))
    lines = with_ids(lines)
    denied = {
        orjson.loads(line)["record"]["data"]["id"]
        for line in lines
        if b'"RECORD"' in line and orjson.loads(line)["record"]["data"]["consent"]["ad_storage"] == "denied"
    }
    folder = tmp_path / "rejected"
    config = access_token_config(
        sandbox,
        consent_field="consent.ad_storage",
        object_storage_config={"storage_type": "Local", "local_path": str(folder)},
    )
    run = run_write(tmp_path, config, catalog(), lines)
    assert run.code == 0, run.output
    sent = {event["eventId"] for event in sandbox.events()}
    assert len(sent) == 200 - len(denied) and denied
    files = sorted(folder.rglob("*.jsonl"))
    rows = [json.loads(line) for path in files for line in path.read_text().splitlines()]
    assert {row["record"]["id"] for row in rows} == denied
    assert {row["reason"] for row in rows} == {"no_consent"}
    assert all(Path(path).relative_to(folder).parts[0].startswith("run-") for path in files)  # no sync_id: a run id
    assert "denied" not in "\n".join(run.logs)  # the value is never quoted
    assert_states_echoed(run, lines)


def stalled_storage(url: str) -> dict[str, Any]:
    return {
        "storage_type": "S3",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "s3_bucket_name": "stalled-bucket",
        "s3_bucket_region": "us-east-1",
        "s3_endpoint": url,
        "bucket_path": "rejected",
    }


def test_a_sync_writing_to_a_stalled_store_is_cancelled_within_15_seconds(stalled_endpoint, tmp_path):  # noqa: F811
    """The sender writes the rejected rows before a STATE, holding the state lock; the store never answers."""
    config = dry_run_config(
        "unused-token", None, batch_size=10, object_storage_config=stalled_storage(stalled_endpoint.url)
    )
    proc = subprocess.Popen(
        write_command(tmp_path, config),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"".join(line + b"\n" for line in generate_lines(60, state_every=10)))
        proc.stdin.flush()  # and kept open, as a source with more to send
        deadline = time.monotonic() + 120
        while not stalled_endpoint.connections and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert stalled_endpoint.connections, "the connector never wrote to the store"
        time.sleep(1)  # well into the write
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = proc.wait(timeout=120)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert took <= 15, f"exited {took:.0f} s after SIGTERM"
    assert code == 128 + signal.SIGTERM, out
    messages = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [m for m in messages if m["type"] == "STATE"] == []  # the rows before them were never stored
    (trace,) = [m["trace"] for m in messages if m["type"] == "TRACE"]
    assert trace["error"]["failure_type"] == "transient_error"


def test_check_against_a_stalled_store_ends_within_its_20_seconds(stalled_endpoint, tmp_path):  # noqa: F811
    config = dry_run_config("unused-token", None, object_storage_config=stalled_storage(stalled_endpoint.url))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    started = time.monotonic()
    _, messages, out, err = run_cli(["check", "--config", str(path)], timeout=300)
    took = time.monotonic() - started
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED"
    assert status["message"] == (
        "Rejected records storage: bucket 'stalled-bucket' did not answer within 20 s; check S3 Endpoint and that "
        "this host can reach it, then run check again."
    )
    assert took < 45, f"check took {took:.0f} s"
    assert SECRET not in out + err
