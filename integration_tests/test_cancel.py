"""Cancellation and a closed stdout, on the real CLI (`python main.py write`) against the sandbox.

Airbyte cancels a sync with SIGTERM, a user at a terminal with SIGINT. Either way the connector must stop reading,
let the request in flight finish (or abandon it) within a few seconds, emit only states whose records LinkedIn
holds, in order, log the summary and a "cancelled" line, and exit within 15 s with a transient error, never a
system_error. Each request is slowed down by a sandbox delay fault, so the signal lands while one is in flight.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from devtools.sample_data import access_token_config as sample_access_token_config
from devtools.sample_data import generate_lines
from integration_tests.writing import (
    ROOT,
    TOKEN,
    DeliveryGate,
    access_token_config,
    expected_state_counts,
    parse_summary,
    seed_access_token,
    with_state_ids,
    write_command,
)

pytestmark = pytest.mark.timeout(120)

DELAY = 1.5  # seconds every request to the events endpoint takes
EXIT_WITHIN = 15.0


def feed(proc: subprocess.Popen, lines: list[bytes], keep_open: threading.Event) -> None:
    """Write the input and keep stdin open, as a source that has more to send would."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(b"".join(line + b"\n" for line in lines))
        proc.stdin.flush()
        keep_open.wait()
        proc.stdin.close()
    except (BrokenPipeError, ValueError):  # the connector stopped reading: that is the point
        pass


@pytest.mark.parametrize("records", [400, 60], ids=["waiting-for-a-queue-slot", "waiting-for-input"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_sync_promptly_with_only_settled_states(sandbox, tmp_path: Path, signum, records):
    seed_access_token(sandbox)
    sandbox.add_fault(delay=DELAY, count=10_000, path_prefix="/rest/conversionEvents")
    lines = with_state_ids(generate_lines(records, bad=False, state_every=10))
    state_ids = [state_id for state_id, _, _ in expected_state_counts(lines)]
    gate = DeliveryGate(sandbox, lines)  # every state printed: its records are in the sandbox already
    config = access_token_config(sandbox, batch_size=50, batch_max_age_seconds=600)
    proc = subprocess.Popen(
        write_command(tmp_path, config), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    keep_open = threading.Event()
    feeder = threading.Thread(target=feed, args=(proc, lines, keep_open), daemon=True)
    feeder.start()
    messages: list[dict[str, Any]] = []
    signalled_at = None
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            message = orjson.loads(raw)
            messages.append(message)
            gate(message)
            if message["type"] == "STATE" and signalled_at is None:  # the first batch is settled
                proc.send_signal(signum)
                signalled_at = time.monotonic()
        code = proc.wait(timeout=60)
        took = time.monotonic() - (signalled_at or 0)
    finally:
        keep_open.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    output = json.dumps(messages) + stderr
    assert signalled_at is not None, output
    assert took <= EXIT_WITHIN, f"exited {took:.1f} s after {signal.Signals(signum).name}"
    assert code == 128 + signum, output
    states = [m["id"] for m in messages if m["type"] == "STATE"]
    assert states == state_ids[: len(states)] and len(states) < len(state_ids)  # in order, none past the stop
    assert gate.checked == states
    logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    summary = parse_summary(logs)
    assert summary.sent == len(set(sandbox.event_ids())) and summary.unsettled == summary.read - summary.sent
    assert any(line.startswith(f"Sync cancelled by {signal.Signals(signum).name}: stopped reading") for line in logs)
    (trace,) = [m["trace"] for m in messages if m["type"] == "TRACE"]
    assert trace["error"]["failure_type"] == "transient_error"
    assert "was cancelled" in trace["error"]["message"]
    assert "Traceback" not in output and TOKEN not in output


def test_a_closed_stdout_ends_the_sync_instead_of_hanging(sandbox, tmp_path: Path):
    """The platform stops reading (stdout closed): the next state the sender prints raises BrokenPipeError. The
    process must end with an error, not wait for ever with its main thread blocked on a full queue."""
    seed_access_token(sandbox)
    lines = with_state_ids(generate_lines(3_000, bad=False, state_every=10))
    (tmp_path / "input.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    config = access_token_config(sandbox, batch_size=100)
    with open(tmp_path / "input.jsonl", "rb") as stdin:
        proc = subprocess.Popen(
            write_command(tmp_path, config), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        try:
            assert proc.stdout is not None
            proc.stdout.readline()
            proc.stdout.close()
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code != 0
    assert len(sandbox.event_ids()) < 3_000  # it stopped, rather than sending on into a closed pipe


def test_ctrl_c_while_the_connector_starts_ends_quietly(tmp_path):
    """SIGINT while the Airbyte CDK is still being imported: exit 130 without a KeyboardInterrupt traceback. The
    interpreter reports each import it completes (`-X importtime`), so the signal is sent once the CDK's import
    has begun, whatever the machine's load."""
    command = write_command(tmp_path, sample_access_token_config(TOKEN, "http://127.0.0.1:9"))
    proc = subprocess.Popen(
        [command[0], "-X", "importtime", *command[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if b"airbyte_cdk" in line:
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=60)
    errors = b"".join(seen) + err
    assert b"airbyte_cdk" in b"".join(seen), "the CDK's import was never seen"
    assert proc.returncode == 128 + signal.SIGINT
    assert b"Traceback" not in errors and b"KeyboardInterrupt" not in errors, errors[-2000:]
    assert out == b""
