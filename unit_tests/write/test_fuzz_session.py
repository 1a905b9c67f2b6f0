"""Hypothesis fuzzing of whole message streams through `WriteSession`, in process: records of configured and
unknown streams with random data, states of every kind, junk lines. Whatever the stream, nothing raises and

- records read = sent + rejected + ignored (unknown stream), per stream as the input says, none left unsettled;
- states out = states in, in order, unchanged but for destinationStats, with the documented record counts
  (a STATE whose line is not strict JSON is the one that is not echoed: docs/architecture.md, Input lines);
- rejections carry documented reason codes.

The dry-run test covers the writer's batching and state gating without I/O; the sandbox test sends to the strict
sandbox over HTTP and also requires that LinkedIn accepts every event the mapping produced.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linkedin_capi_sandbox import Sandbox

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.reasons import REJECTION_REASONS
from destination_linkedin_capi.mapping.routing import StreamInfo
from destination_linkedin_capi.report import SyncReport
from destination_linkedin_capi.write.session import WriteSession
from devtools.sample_data import ACCOUNT
from unit_tests.conftest import rejected_by_reason

TOKEN = "fuzz-token"
RULES = {"LEAD": 11, "PURCHASE": 12, "SIGN_UP": 13}
STREAMS = {
    (None, "leads"): StreamInfo(primary_key=(("id",),)),
    (None, "purchases"): StreamInfo(primary_key=(("id",),)),
    (None, "signups"): StreamInfo(),
    ("crm", "leads"): StreamInfo(primary_key=(("id",),)),
}
UNKNOWN_KEYS = [(None, "orders"), ("other", "leads")]  # not in the catalog
STREAM_KEYS = [*STREAMS, *STREAMS, *UNKNOWN_KEYS]  # known streams twice as often
INPUT_REASONS = {"record_not_object", "invalid_json", "linkedin_rejected"}
NOW = time.time()


def config(**overrides: Any) -> ConnectorConfig:
    return ConnectorConfig.parse(
        {
            "account_id": str(ACCOUNT),
            "credentials": {
                "auth_type": "access_token",
                "access_token": TOKEN,
                "conversion_mapping": ",".join(f"{e}={r}" for e, r in RULES.items()),
            },
            "stream_events": "leads=LEAD,purchases=PURCHASE,signups=SIGN_UP",
            "batch_size": 3,  # several batches, so states wait for batches
            **overrides,
        }
    )


# --- what a stream is made of -------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
OFFSETS = st.sampled_from([-3600, -86400 * 30, -86400 * 100, 86400, 60])  # seconds from now, off the limits
TIMES = OFFSETS.map(lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + s))) | OFFSETS.map(
    lambda s: int(NOW + s)
)
# Mostly sendable records (an id, an email, a recent time), then any recognised field may be overwritten or added.
SENDABLE = st.fixed_dictionaries(
    {
        "id": st.integers(0, 30),
        "email": st.sampled_from(["jane@example.com", " JANE.Doe@Example.COM ", "sam@example.org"]),
        "event_time": OFFSETS.filter(lambda s: -86400 * 90 < s <= 60).map(
            lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + s))
        ),
    }
)
CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(0, 30) | st.text(max_size=4),
        "email": st.sampled_from(["jane@example.com", " JANE.Doe@Example.COM ", "not-an-email", ""]) | JSON,
        "event_time": TIMES | JSON,
        "value": st.sampled_from(["12.50", "1,234.5", "12,5", "-3", "1e3", "abc"]) | st.integers(-5, 10**6) | JSON,
        "currency": st.sampled_from(["EUR", "usd", "XYZ", ""]) | JSON,
        "first_name": st.text(max_size=6) | JSON,
        "last_name": st.text(max_size=6),
        "company": st.text(max_size=6),
        "country": st.sampled_from(["DE", "Germany", "Atlantis", "usa"]),
        "li_fat_id": st.text(max_size=6) | st.integers(),
        "lead_id": st.sampled_from(["123", "urn:li:leadGenFormResponse:9", "urn:li:campaign:1"]),
        "event_id": st.text(max_size=70) | st.integers(),
        "event_name": st.sampled_from(["LEAD", "purchase", "REFUND"]),
        "extra": JSON,
    },
)
DATA = st.one_of(SENDABLE, SENDABLE, st.builds(lambda base, changes: {**base, **changes}, SENDABLE, CHANGES), CHANGES)


@dataclass(frozen=True)
class Record:
    key: tuple[str | None, str]
    data: Any
    strict: bool = True  # False: the line holds NaN, so it is not strict JSON


@dataclass(frozen=True)
class State:
    kind: str  # stream, global, legacy, no_state_object, unreadable_descriptor, not_strict
    key: tuple[str | None, str] | None = None


@dataclass(frozen=True)
class Junk:
    line: bytes


NOT_OBJECTS = JSON.filter(lambda v: not isinstance(v, dict))
STRICT = st.sampled_from([True] * 9 + [False])  # one record line in ten is not strict JSON
RECORDS = st.builds(Record, st.sampled_from(STREAM_KEYS), st.one_of(DATA, DATA, DATA, NOT_OBJECTS), STRICT)
STATES = st.builds(State, st.just("stream"), st.sampled_from(STREAM_KEYS)) | st.builds(
    State, st.sampled_from(["global", "legacy", "no_state_object", "unreadable_descriptor", "not_strict"])
)
JUNK = st.builds(
    Junk,
    st.sampled_from([b"", b"   ", b"not json", b"[1,2]", b"42", b'"RECORD"', b"null", b'{"type":"SPEC"}', b"{}"])
    | st.sampled_from(
        [
            b'{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1}}',
            b'{"type":"LOG","log":{"level":"INFO","message":"hi"}}',
            b'{"type":"RECORD","record":{"data":{}}}',
            b'{"type":"RECORD","record":{"stream":"leads","namespace":[1],"data":{}}}',
        ]
    )
    | st.binary(max_size=24).filter(lambda b: b"STATE" not in b and b"RECORD" not in b),
)
ITEMS = st.lists(st.one_of(RECORDS, RECORDS, RECORDS, STATES, STATES, JUNK), min_size=10, max_size=60)


def encode(items: list[Any]) -> list[bytes]:
    lines, state_id = [], 0
    for item in items:
        if isinstance(item, Record):
            namespace, name = item.key
            record = {
                "stream": name,
                "data": item.data,
                "emitted_at": 1,
                **({"namespace": namespace} if namespace else {}),
            }
            line = json.dumps({"type": "RECORD", "record": record}).encode()
            lines.append(line if item.strict else line[:-2] + b', "score": NaN}}')
        elif isinstance(item, State):
            state_id += 1
            lines.append(json.dumps({"type": "STATE", "id": state_id, **state_body(item)}).encode())
            if item.kind == "not_strict":
                lines[-1] = lines[-1][:-1] + b', "nan": NaN}'
        else:
            lines.append(item.line)
    return lines


def state_body(item: State) -> dict[str, Any]:
    if item.kind == "stream":
        namespace, name = item.key or (None, "")
        descriptor = {"name": name, **({"namespace": namespace} if namespace else {})}
        return {"state": {"type": "STREAM", "stream": {"stream_descriptor": descriptor, "stream_state": {"c": 1}}}}
    if item.kind in ("global", "not_strict"):
        return {"state": {"type": "GLOBAL", "global": {"shared_state": {"lsn": 1}}}}
    if item.kind == "legacy":
        return {"state": {"data": {"cursor": 1}}}
    if item.kind == "unreadable_descriptor":
        return {"state": {"type": "STREAM", "stream": {"stream_descriptor": "leads"}}}
    return {}  # no state object


def expected(items: list[Any]) -> tuple[Counter[tuple[str | None, str]], list[tuple[int, float | None]]]:
    """Records read per stream, and (id, recordCount) of each state that must come back, from the documented rules."""
    read: Counter[tuple[str | None, str]] = Counter()
    since: Counter[tuple[str | None, str]] = Counter()
    since_global, states, state_id = 0, [], 0
    for item in items:
        if isinstance(item, Record):
            read[item.key] += 1
            since[item.key] += 1
            since_global += 1
        elif isinstance(item, State):
            state_id += 1
            if item.kind == "stream":
                states.append((state_id, float(since.pop(item.key, 0))))
            elif item.kind in ("global", "legacy"):
                states.append((state_id, float(since_global)))
                since_global = 0
                since.clear()
            elif item.kind == "unreadable_descriptor":
                states.append((state_id, 0.0))
            elif item.kind == "no_state_object":
                states.append((state_id, None))
    return read, states


def check(items: list[Any], report: SyncReport, emitted: list[dict[str, Any]]) -> None:
    read, states = expected(items)
    assert report.read == +read
    unknown = sum(n for key, n in read.items() if key not in STREAMS)
    assert report.ignored["unknown_stream"] == unknown
    assert report.total_read == report.total_sent + report.total_already_sent + report.total_rejected + unknown
    assert report.unsettled == 0
    assert set(rejected_by_reason(report)) <= set(REJECTION_REASONS) | INPUT_REASONS
    assert not [m for m in emitted if m.get("type") != "STATE"]
    out = [(m["id"], covered(m)) for m in emitted]
    assert out == states
    inputs = {i + 1: state_body(s) for i, s in enumerate(s for s in items if isinstance(s, State))}
    for message in emitted:
        body = {k: v for k, v in message.items() if k not in ("type", "id")}
        if isinstance(body.get("state"), dict):
            body["state"] = {k: v for k, v in body["state"].items() if k != "destinationStats"}
        assert body == inputs[message["id"]]


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(ITEMS)
def test_any_message_stream_balances_in_a_dry_run(items):
    emitted: list[dict[str, Any]] = []
    report = WriteSession(config(dry_run=True), STREAMS, emitted.append).run(encode(items))
    check(items, report, emitted)


@pytest.fixture(scope="module")
def linkedin() -> Iterator[Sandbox]:
    with Sandbox(requests_per_minute=None, requests_per_day=None) as sandbox:
        sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
        for event, rule_id in RULES.items():
            sandbox.add_rule(ACCOUNT, rule_id=rule_id, type=event)
        yield sandbox


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(items=ITEMS)
def test_any_message_stream_balances_against_the_sandbox_and_linkedin_takes_every_mapped_event(linkedin, items):
    linkedin.reset_events()
    emitted: list[dict[str, Any]] = []
    session = WriteSession(config(api_base_url=linkedin.url), STREAMS, emitted.append)
    report = session.run(encode(items))
    check(items, report, emitted)
    assert report.total_sent == len(linkedin.events())
    # Each conversion once: a row repeating an event LinkedIn took is left out as already sent.
    keys = [(event["conversion"], event["eventId"]) for event in linkedin.events()]
    assert len(keys) == len(set(keys))
    assert report.total_sent + report.total_already_sent == sum(report.mapped.values())
    assert rejected_by_reason(report)["linkedin_rejected"] == 0, report.examples


def covered(message: dict) -> float | None:
    """The records a STATE covers: recordCount plus rejectedRecordCount, as Airbyte adds them."""
    stats = (message.get("state") or {}).get("destinationStats") or {}
    count = stats.get("recordCount")
    return None if count is None else count + stats.get("rejectedRecordCount", 0.0)
