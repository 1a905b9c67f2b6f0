"""Helpers for running the real `python main.py write` CLI against the sandbox, and for checking what came out:
which STATEs were echoed, whether each was printed only after its records reached the sandbox, and what the
"Sync summary" LOG lines say."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from destination_linkedin_capi.destination import DestinationLinkedinCapi
from devtools.sample_data import ACCOUNT, RULES, catalog
from devtools.sample_data import access_token_config as sample_access_token_config

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "AQX-write-test-token-SECRET"
SAMPLE_EVENTS = {"leads": "lead", "purchases": "purchase", "signups": "sign_up"}  # stream → configured event key
#: An access token the sandbox minted (OAuth or CDP token service): `<prefix>-<token_urlsafe(24)>`.
MINTED_TOKEN = re.compile(r"\b(?:oauth|cdp)-[A-Za-z0-9_-]{32}")


def seed_access_token(sandbox: Any) -> None:
    sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
    seed_rules(sandbox)


def seed_rules(sandbox: Any) -> None:
    for event, rule_id in RULES.items():
        sandbox.add_rule(ACCOUNT, rule_id=rule_id, type=event, name=f"CAPI {event}")


def access_token_config(sandbox: Any, **overrides: Any) -> dict[str, Any]:
    return sample_access_token_config(TOKEN, sandbox.url, **overrides)


def write_command(tmp_path: Path, config: dict[str, Any]) -> list[str]:
    """`python main.py write` with `config` and the sample catalog, both written under `tmp_path`."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog()))
    config_path, catalog_path = str(tmp_path / "config.json"), str(tmp_path / "catalog.json")
    return [sys.executable, str(ROOT / "main.py"), "write", "--config", config_path, "--catalog", catalog_path]


@dataclass
class WriteRun:
    code: int
    messages: list[dict[str, Any]]
    stderr: str
    states: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    traces: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # stdout as printed, line by line

    @property
    def output(self) -> str:
        return json.dumps(self.messages) + self.stderr

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL


def run_write(
    tmp_path: Path,
    config: dict[str, Any],
    catalog: dict[str, Any],
    lines: Iterable[bytes],
    *,
    on_message: Callable[[dict[str, Any]], None] | None = None,
    kill_when: Callable[[dict[str, Any]], bool] | None = None,
    kill_after: float | None = None,
    line_end: bytes = b"\n",
    timeout: float = 300,
) -> WriteRun:
    """Run the CLI; `on_message` sees each stdout message the moment it is printed.

    SIGKILL the connector as soon as `kill_when(message)` is true, or `kill_after` seconds after it started,
    as a crashed pod would be; what it printed before dying is still read, as the platform would have."""
    config_path = tmp_path / "config.json"
    catalog_path = tmp_path / "catalog.json"
    input_path = tmp_path / "input.jsonl"
    config_path.write_text(json.dumps(config))
    catalog_path.write_text(json.dumps(catalog))
    input_path.write_bytes(b"".join(line + line_end for line in lines))
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
        timer = threading.Timer(kill_after, proc.kill) if kill_after is not None else None
        if timer is not None:
            timer.start()
        messages, printed = [], []
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                printed.append(raw)
                message = orjson.loads(raw)
                messages.append(message)
                if on_message is not None:
                    on_message(message)
                if kill_when is not None and kill_when(message):
                    proc.kill()
            code = proc.wait(timeout=timeout)
        finally:
            if timer is not None:
                timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr.seek(0)
        err = stderr.read().decode("utf-8", "replace")
    run = WriteRun(code, messages, err, raw=printed)
    run.states = [m for m in messages if m["type"] == "STATE"]
    run.logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    run.traces = [m["trace"] for m in messages if m["type"] == "TRACE"]
    return run


@dataclass
class InProcessRun:
    """What `write_lines` (the CLI's write path, minus argument parsing) emitted and logged, and the error it raised."""

    states: list[dict[str, Any]]
    logs: list[str]
    error: AirbyteTracedException | None


class Collect(logging.Handler):
    """The messages of the log records it receives, at INFO and above."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def write_in_process(
    tmp_path: Path, config: dict[str, Any], catalog: dict[str, Any], lines: Iterable[bytes]
) -> InProcessRun:
    """Run the CLI's write path in this process: raw input lines in, emitted STATEs and log lines out."""
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    collect = Collect()
    logger = logging.getLogger("airbyte")
    logger.addHandler(collect)
    states: list[dict[str, Any]] = []
    error = None
    try:
        DestinationLinkedinCapi().write_lines(config, str(catalog_path), lines, states.append)
    except AirbyteTracedException as raised:
        error = raised
    finally:
        logger.removeHandler(collect)
    return InProcessRun(states, collect.messages, error)


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
    """For each STATE: (id, expected destinationStats.recordCount, records read before it).

    A STREAM state counts its stream's records since that stream's previous state; a GLOBAL or legacy
    state counts every record since the previous GLOBAL or legacy state."""
    since: dict[str, int] = {}
    since_global = 0
    total = 0
    expected = []
    for line in lines:
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            since[message["record"]["stream"]] = since.get(message["record"]["stream"], 0) + 1
            since_global += 1
            total += 1
        elif message["type"] == "STATE":
            state = message["state"]
            if state.get("type") == "STREAM":
                count = since.pop(state["stream"]["stream_descriptor"]["name"], 0)
            else:
                count, since_global = since_global, 0
                since.clear()
            expected.append((message["id"], float(count), total))
    return expected


def assert_states_echoed(run: WriteRun, lines: list[bytes]) -> None:
    """Every input STATE comes back once, in order, with its id and the right destinationStats."""
    expected = expected_state_counts(lines)
    assert [s["id"] for s in run.states] == [e[0] for e in expected]
    # Airbyte adds the two (rejectedRecordCount is there only when a state covers rejected records)
    assert [
        s["state"]["destinationStats"]["recordCount"] + s["state"]["destinationStats"].get("rejectedRecordCount", 0.0)
        for s in run.states
    ] == [e[1] for e in expected]
    inputs = {orjson.loads(line)["id"]: orjson.loads(line) for line in lines if b'"STATE"' in line}
    for state in run.states:
        original = inputs[state["id"]]
        assert {k: v for k, v in state["state"].items() if k != "destinationStats"} == original["state"]


def derived_event_id(namespace: str | None, stream: str, event: str, key: Any) -> str:
    """The eventId docs/mapping.md promises for a record without `event_id`, computed here from the doc's
    formula rather than the connector's code: SHA-256 of `[namespace, stream, event, key]`, 32 hex digits."""
    canonical = json.dumps([namespace, stream, event, key], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def sample_event_ids(lines: Iterable[bytes]) -> list[str]:
    """The eventId of every sample record (sample_data: primary key `id`, events by STREAM_EVENTS), in order."""
    ids = []
    for line in lines:
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            record = message["record"]
            event = SAMPLE_EVENTS[record["stream"]]
            ids.append(derived_event_id(record.get("namespace"), record["stream"], event, [record["data"]["id"]]))
    return ids


def kill_plan(rng: random.Random, *, most_states: int = 8, latest: float = 2.2) -> dict[str, object]:
    """`run_write`'s kill arguments. Half the time: die right after the k-th STATE this run prints (k up to
    `most_states`); else after a random delay up to `latest` seconds (the CLI takes about 1.3 s to start, so some
    kills land before the first state)."""
    if rng.random() < 0.5:
        after_states = rng.randint(1, most_states)
        printed = []

        def kill_when(message: dict[str, object]) -> bool:
            if message["type"] == "STATE":
                printed.append(message)
            return len(printed) >= after_states

        return {"kill_when": kill_when}
    return {"kill_after": rng.uniform(0.5, latest)}


class DeliveryGate:
    """`on_message` callback: when a STATE is printed, every record before it must already be in the sandbox
    (checked by eventId, so it holds across restarts and duplicates). `checked` lists the state ids seen."""

    def __init__(self, sandbox: Any, lines: list[bytes]) -> None:
        self.sandbox = sandbox
        self.event_ids = sample_event_ids(lines)
        self.before = {state_id: total for state_id, _, total in expected_state_counts(lines)}
        self.checked: list[int] = []

    def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] != "STATE":
            return
        stored = set(self.sandbox.event_ids())
        missing = [i for i in self.event_ids[: self.before[message["id"]]] if i not in stored]
        assert not missing, f"state {message['id']} printed before {len(missing)} of its records reached LinkedIn"
        self.checked.append(message["id"])


def assert_duplicates_identical(events: list[dict[str, Any]]) -> int:
    """Every event stored twice carries the same eventId and content as its first copy; returns the duplicates."""
    first_copy: dict[str, dict[str, Any]] = {}
    duplicates = 0
    for event in events:
        body = {k: v for k, v in event.items() if not k.startswith("_")}
        first = first_copy.setdefault(event["eventId"], body)
        if first is not body:
            duplicates += 1
            assert first == body, f"event {event['eventId']} was resent with different content"
    return duplicates


@dataclass
class StreamCounts:
    read: int
    sent: int
    rejected: dict[str, int]
    already_sent: int = 0


@dataclass
class Summary:
    """The "Sync summary:" LOG line and the lines under it, as numbers."""

    read: int
    sent: int
    rejected: int
    unsettled: int
    streams: dict[str, StreamCounts]
    ignored: dict[str, int]
    notes: dict[str, int]
    examples: dict[str, str]
    already_sent: int = 0


_TOTALS = re.compile(
    r"Sync summary: ([\d,]+) records read, ([\d,]+) (?:would be )?sent, "
    r"(?:([\d,]+) (?:would be left out as )?already sent, )?([\d,]+) rejected"
    r"(?:, ([\d,]+) not sent because the sync stopped)?, in "
)
_STREAM = re.compile(
    r"  stream (.*): read ([\d,]+), (?:would be )?sent ([\d,]+), (?:already sent ([\d,]+)(?: \([^)]*\))?, )?"
    r"rejected [\d,]+(?: \((.*)\))?$"
)
_COUNTED = re.compile(r"  (ignored|note) ([a-z0-9_]+): ([\d,]+)(?: records| \(e\.g\. (.*)\))?$", re.S)
_EXAMPLE = re.compile(r"  ([a-z0-9_]+): e\.g\. (.*)$", re.S)


def _number(text: str | None) -> int:
    return int(text.replace(",", "")) if text else 0


def parse_summary(logs: list[str]) -> Summary:
    """Read the summary lines (exactly one "Sync summary:" line is expected)."""
    (start,) = [i for i, line in enumerate(logs) if line.startswith("Sync summary: ")]
    totals = _TOTALS.match(logs[start])
    assert totals, logs[start]
    read, sent, already, rejected, unsettled = (_number(totals.group(i)) for i in range(1, 6))
    summary = Summary(read, sent, rejected, unsettled, {}, {}, {}, {}, already_sent=already)
    for line in logs[start + 1 :]:
        if not line.startswith("  "):
            break
        if match := _STREAM.match(line):
            reasons = dict(part.rsplit(" ", 1) for part in match.group(5).split(", ")) if match.group(5) else {}
            summary.streams[match.group(1)] = StreamCounts(
                _number(match.group(2)),
                _number(match.group(3)),
                {k: _number(v) for k, v in reasons.items()},
                _number(match.group(4)),
            )
        elif match := _COUNTED.match(line):
            target = summary.ignored if match.group(1) == "ignored" else summary.notes
            target[match.group(2)] = _number(match.group(3))
            if match.group(4) is not None:  # an ignored kind quotes its first few lines
                summary.examples[match.group(2)] = match.group(4)
        elif (match := _EXAMPLE.match(line)) and not line.startswith("  event "):
            summary.examples[match.group(1)] = match.group(2)
    return summary
