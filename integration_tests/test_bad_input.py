"""Bad input, one class per case, each with its exact outcome: a counted rejection with its reason code, a counted
ignored line, or a documented pass-through — never a traceback, never a silent drop (docs/architecture.md,
"Input lines"). Cases run the CLI's write path in process against the sandbox (fast); one CLI run feeds every
case at once, with raw non-UTF-8 bytes and CRLF endings, and checks the process as Airbyte sees it.

Unless a case brings its own states, it ends with a GLOBAL state (id 99) whose destinationStats must count every
record the case read.

Two more files belong to this suite: `test_bad_input_privacy.py` (input full of personal data, in every rejection
and ignored kind: no value reaches any output) and `test_bad_input_limits.py` (wide records of distinct key sets
within a memory bound; the summary of 100,000 unknown streams bounded).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from linkedin_capi_sandbox import Sandbox

from devtools.sample_data import catalog
from integration_tests.writing import (
    ROOT,
    TOKEN,
    access_token_config,
    derived_event_id,
    parse_summary,
    run_write,
    seed_access_token,
    write_in_process,
)

pytestmark = pytest.mark.timeout(120)

NOW = dt.datetime.now(dt.timezone.utc)


def ago(**delta: float) -> str:
    return (NOW - dt.timedelta(**delta)).isoformat()


BIG = 99999999999999999999  # beyond 64 bits: orjson alone would read 1e+20
BIG_KEYS = (12345678901234567890123, 12345678901234567890124)  # 23 digits, one apart: equal as doubles
LEAD = {"id": "l1", "email": "jane@example.com", "event_time": ago(hours=1)}
PURCHASE = {"id": "p1", "email": "sam@example.com", "event_time": ago(hours=2), "value": "49.90", "currency": "EUR"}


def line(message: Any) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def record(data: Any = LEAD, stream: Any = "leads", **fields: Any) -> bytes:
    """A RECORD line; `stream` None leaves the stream out, and any value may be given to break it."""
    body: dict[str, Any] = {"data": data, "emitted_at": 1} if stream is None else {"stream": stream, "data": data}
    body.update(fields)
    return line({"type": "RECORD", "record": body})


def lead(**changes: Any) -> bytes:
    """A valid lead with `changes` applied (a value of None removes the field)."""
    data = {**LEAD, **changes}
    return record({k: v for k, v in data.items() if v is not None})


def purchase(**changes: Any) -> bytes:
    data = {**PURCHASE, **changes}
    return record({k: v for k, v in data.items() if v is not None}, "purchases")


def state(state_id: int, stream: Any = "leads") -> bytes:
    body = {"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": {}}}
    return line({"type": "STATE", "id": state_id, "state": body})


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def with_raw(line_with_marker: bytes, raw: bytes) -> bytes:
    return line_with_marker.replace(b'"@RAW@"', raw)


@dataclass(frozen=True)
class Case:
    id: str
    lines: tuple[bytes, ...]
    read: int = 0
    sent: int = 0
    already_sent: int = 0  # left out: the sync sent the same rule and eventId before
    rejected: dict[str, int] = field(default_factory=dict)  # reason → records
    ignored: dict[str, int] = field(default_factory=dict)  # kind → lines
    notes: dict[str, int] = field(default_factory=dict)
    states: tuple[tuple[int, float | None], ...] = ()  # (id, recordCount; None: echoed without destinationStats)
    example: tuple[str, str] | None = None  # (reason or kind, text its example must contain)


CLOSING_STATE = line({"type": "STATE", "id": 99, "state": {"type": "GLOBAL", "global": {"shared_state": {}}}})


def case(id: str, *lines: bytes, states: tuple[tuple[int, float | None], ...] | None = None, **outcome: Any) -> Case:
    """A case; unless it brings its own states, a GLOBAL state (id 99) follows and counts every record read."""
    if states is not None:
        return Case(id, lines, states=states, **outcome)
    return Case(id, (*lines, CLOSING_STATE), states=((99, float(outcome.get("read", 0))),), **outcome)


CASES = [
    # --- lines that are not Airbyte messages
    case(
        "non-json-line",
        b"this is not JSON",
        ignored={"non_json_line": 1},
        example=("non_json_line", "a line of 16 bytes, the parser stopped at position 0"),
    ),
    case(
        "json-array",
        b"[1, 2]",
        ignored={"not_a_message": 1},
        example=("not_a_message", "a line of 6 bytes holding a JSON array, not an object"),
    ),
    case("json-number", b"42", ignored={"not_a_message": 1}),
    case("json-string", b'"RECORD"', ignored={"not_a_message": 1}),
    case("json-null", b"null", ignored={"not_a_message": 1}),
    case(
        "unknown-message-type",
        line({"type": "RECORDS", "record": {"stream": "leads", "data": LEAD}}),
        ignored={"not_a_message": 1},
        example=("not_a_message", "a message of type 'RECORDS'"),
    ),
    case("message-without-type", line({"record": {"stream": "leads", "data": LEAD}}), ignored={"not_a_message": 1}),
    case("record-not-an-object", line({"type": "RECORD", "record": "leads"}), ignored={"not_a_message": 1}),
    case("record-without-stream", record(stream=None), ignored={"not_a_message": 1}),
    case("record-stream-not-text", record(stream=5), ignored={"not_a_message": 1}),
    case("record-namespace-not-text", record(namespace=["public"]), ignored={"not_a_message": 1}),
    case("deeply-nested-non-object", b"[" * 300 + b"]" * 300, ignored={"not_a_message": 1}),
    case("deeply-nested-message-type", b'{"type":' + b"[" * 1000 + b"]" * 1000 + b"}", ignored={"not_a_message": 1}),
    case(
        "trace-log-and-control-messages-are-ignored",
        line({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1.0}}),
        line({"type": "LOG", "log": {"level": "INFO", "message": "hello"}}),
        line({"type": "CONTROL", "control": {"type": "CONNECTOR_CONFIG", "emitted_at": 1.0}}),
    ),
    case("blank-lines", b"", b"   ", b"\t"),
    # --- records the catalog does not know
    case(
        "unknown-stream",
        record(stream="orders"),
        read=1,
        ignored={"unknown_stream": 1},
        example=("unknown_stream", "stream 'orders' is not in the configured catalog"),
    ),
    case(
        "namespace-differs-from-the-catalog",
        record(namespace="public"),
        read=1,
        ignored={"unknown_stream": 1},
        example=("unknown_stream", "namespace 'public'"),
    ),
    # --- records whose data cannot be mapped at all
    case("data-a-list", record([LEAD]), read=1, rejected={"record_not_object": 1}),
    case("data-a-string", record("jane@example.com"), read=1, rejected={"record_not_object": 1}),
    case(
        "data-missing",
        line({"type": "RECORD", "record": {"stream": "leads"}}),
        read=1,
        rejected={"record_not_object": 1},
    ),
    case(
        "non-utf8-bytes",
        with_raw(lead(first_name="@RAW@", last_name="Doe"), b'"M\xfcller"'),
        read=1,
        rejected={"invalid_json": 1},
        example=("invalid_json", "not strict JSON"),
    ),
    case("nan", with_raw(purchase(value="@RAW@"), b"NaN"), read=1, rejected={"invalid_json": 1}),
    case("infinity", with_raw(lead(score="@RAW@"), b"-Infinity"), read=1, rejected={"invalid_json": 1}),
    case("number-beyond-double", with_raw(lead(score="@RAW@"), b"1e999"), read=1, rejected={"invalid_json": 1}),
    case(
        "lone-surrogate-escape",
        with_raw(lead(first_name="@RAW@", last_name="Doe"), rb'"\ud800"'),
        read=1,
        rejected={"invalid_json": 1},
    ),
    case(
        "not-strict-json-of-an-unknown-stream",
        with_raw(record({"v": "@RAW@"}, "orders"), b"NaN"),
        read=1,
        ignored={"unknown_stream": 1},
    ),
    # --- huge and deep records
    case("huge-record-over-1mb", lead(notes="x" * 1_100_000), read=1, sent=1),
    case("nested-1000-levels-with-a-primary-key", with_raw(lead(extra="@RAW@"), nested(1000)), read=1, sent=1),
    case(
        "nested-1000-levels-without-a-primary-key",
        with_raw(lead(id=None, extra="@RAW@"), nested(1000)),
        read=1,
        sent=1,
    ),
    case("nested-beyond-the-parser-limit", with_raw(lead(extra="@RAW@"), nested(1100)), ignored={"non_json_line": 1}),
    # --- each mapped field missing or invalid (docs/mapping.md, rejection reasons)
    case("no-identifier", lead(email=None), read=1, rejected={"no_identifier": 1}),
    case("invalid-email", lead(email="jane(at)example"), read=1, rejected={"invalid_email": 1}),
    case("missing-time", lead(event_time=None), read=1, rejected={"missing_timestamp": 1}),
    case("invalid-time", lead(event_time="yesterday"), read=1, rejected={"invalid_timestamp": 1}),
    case("time-too-old", lead(event_time=ago(days=100)), read=1, rejected={"too_old": 1}),
    case("time-in-the-future", lead(event_time=ago(days=-1)), read=1, rejected={"in_future": 1}),
    case("invalid-value", purchase(value="12,5"), read=1, rejected={"invalid_amount": 1}),
    case(
        "value-float-with-19-decimal-places",
        purchase(value=0.0015415475286882053),
        read=1,
        rejected={"invalid_amount": 1},
    ),
    case("negative-value", purchase(value=-5), read=1, rejected={"negative_amount": 1}),
    case("value-without-currency", purchase(currency=None), read=1, rejected={"missing_currency": 1}),
    case("invalid-currency", purchase(currency="XYZ"), read=1, rejected={"invalid_currency": 1}),
    case("event-id-too-long", lead(event_id="e" * 65), read=1, rejected={"invalid_event_id": 1}),
    case("unknown-event-name", lead(event_name="REFUND"), read=1, rejected={"unknown_event": 1}),
    case(
        "invalid-lead-with-an-email",
        lead(lead_id="urn:li:campaign:7"),
        read=1,
        sent=1,
        notes={"invalid_lead_dropped": 1},
    ),
    case("invalid-lead-alone", lead(email=None, lead_id="urn:li:campaign:7"), read=1, rejected={"no_identifier": 1}),
    case(
        "unknown-country",
        lead(first_name="Jane", last_name="Doe", country="Atlantis"),
        read=1,
        sent=1,
        notes={"unknown_country_dropped": 1},
    ),
    case("li-fat-id-not-text", lead(email=None, li_fat_id={"id": 1}), read=1, rejected={"no_identifier": 1}),
    case("first-name-without-last-name", lead(email=None, first_name="Jane"), read=1, rejected={"no_identifier": 1}),
    # --- batches
    case(
        "duplicate-event-ids-in-one-batch",
        lead(event_id="dup-1"),
        lead(event_id="dup-1", email="x@example.com"),
        read=2,
        sent=1,
        already_sent=1,
    ),
    # --- states
    case("empty-input", states=()),
    case("state-only", state(1), states=((1, 0.0),)),
    case(
        "global-state",
        lead(),
        purchase(),
        line(
            {
                "type": "STATE",
                "id": 1,
                "state": {"type": "GLOBAL", "global": {"shared_state": {"lsn": 1}, "stream_states": []}},
            }
        ),
        lead(id="l2"),
        line(
            {
                "type": "STATE",
                "id": 2,
                "state": {"type": "GLOBAL", "global": {"shared_state": {"lsn": 2}, "stream_states": []}},
            }
        ),
        read=3,
        sent=3,
        states=((1, 2.0), (2, 1.0)),
    ),
    case(
        "legacy-state",
        lead(),
        purchase(),
        line({"type": "STATE", "id": 1, "state": {"data": {"cursor": 7}}}),
        read=2,
        sent=2,
        states=((1, 2.0),),
    ),
    case(
        "state-without-a-state-object",
        lead(),
        line({"type": "STATE", "id": 1}),
        line({"type": "STATE", "id": 2, "state": None}),
        state(3),
        read=1,
        sent=1,
        states=((1, None), (2, None), (3, 1.0)),
    ),
    case(
        "stream-state-without-a-readable-descriptor",
        lead(),
        line({"type": "STATE", "id": 1, "state": {"type": "STREAM", "stream": "leads"}}),
        line({"type": "STATE", "id": 2, "state": {"type": "STREAM", "stream": {"stream_descriptor": "leads"}}}),
        state(3, ["leads"]),
        state(4),
        read=1,
        sent=1,
        states=((1, 0.0), (2, 0.0), (3, 0.0), (4, 1.0)),
    ),
    # --- integers beyond 64 bits: exact, never rounded to a float
    case(
        "state-cursor-beyond-64-bits",
        lead(),
        line({"type": "STATE", "id": 1, "state": {"type": "GLOBAL", "global": {"shared_state": {"cursor": BIG}}}}),
        read=1,
        sent=1,
        states=((1, 1.0),),
    ),
    case("primary-keys-beyond-64-bits", lead(id=BIG_KEYS[0]), lead(id=BIG_KEYS[1]), read=2, sent=2),
    case("external-id-beyond-64-bits", lead(external_id=BIG_KEYS[0]), read=1, sent=1),
    case(
        "state-line-not-strict-json",
        lead(),
        with_raw(state(1).replace(b"{}", b'{"cursor": "@RAW@"}'), b"NaN"),
        state(2),
        read=1,
        sent=1,
        ignored={"invalid_state": 1},
        states=((2, 1.0),),
    ),
]


def strict(raw: bytes) -> Any:
    """The line as strict JSON (integers exact, as Python reads them), or None."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    try:
        return json.loads(raw)
    except RecursionError:  # nested deeper than Python's parser goes: no long integer in those cases
        return parsed


def echoed(states: list[dict[str, Any]]) -> list[tuple[int, float | None]]:
    """(id, records the state covers): recordCount plus rejectedRecordCount, as Airbyte adds them."""
    out = []
    for s in states:
        stats = (s.get("state") or {}).get("destinationStats") or {}
        count = stats.get("recordCount")
        out.append((s["id"], None if count is None else count + stats.get("rejectedRecordCount", 0.0)))
    return out


@pytest.fixture(scope="module")
def linkedin():
    with Sandbox(requests_per_minute=None, requests_per_day=None) as sandbox:
        seed_access_token(sandbox)
        yield sandbox


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(linkedin: Sandbox, tmp_path: Path, case: Case):
    linkedin.reset_events()
    run = write_in_process(tmp_path, access_token_config(linkedin), catalog(), case.lines)
    assert run.error is None, run.error and (run.error.message or run.error.internal_message)
    summary = parse_summary(run.logs)
    assert (summary.read, summary.sent, summary.already_sent, summary.rejected, summary.unsettled) == (
        case.read,
        case.sent,
        case.already_sent,
        sum(case.rejected.values()),
        0,
    ), run.logs
    assert {reason: n for s in summary.streams.values() for reason, n in s.rejected.items()} == case.rejected
    assert summary.ignored == case.ignored
    assert summary.notes == case.notes
    assert len(linkedin.event_ids()) == case.sent  # "sent" means stored by LinkedIn
    if case.example:
        kind, text = case.example
        assert text in summary.examples[kind], summary.examples
    assert echoed(run.states) == list(case.states)
    inputs = {m["id"]: m for m in map(strict, case.lines) if isinstance(m, dict) and m.get("type") == "STATE"}
    for out in run.states:  # echoed unchanged but for destinationStats
        original = inputs[out["id"]]
        if isinstance(out.get("state"), dict):
            out = {**out, "state": {k: v for k, v in out["state"].items() if k != "destinationStats"}}
        assert out == original


def test_5001_records_for_one_state_make_two_batches_and_one_late_state(linkedin: Sandbox, tmp_path: Path):
    linkedin.reset_events()
    linkedin.reset_stats()
    lines = [lead(id=f"l{n}") for n in range(5_001)] + [state(1)]
    run = write_in_process(tmp_path, access_token_config(linkedin), catalog(), lines)
    assert run.error is None
    assert linkedin.stats()["batch_sizes"] == [5_000, 1]
    assert len(set(linkedin.event_ids())) == 5_001
    assert echoed(run.states) == [(1, 5_001.0)]


def test_duplicate_event_ids_in_one_batch_are_sent_once_or_as_they_are_with_send_once_off(
    linkedin: Sandbox, tmp_path: Path
):
    """With Send each conversion once (default) the second copy is left out; off, both copies go out in one batch
    (docs/linkedin-capi.md, Sending each conversion once)."""
    for send_once, expected in ((True, ["dup-1"]), (False, ["dup-1", "dup-1"])):
        linkedin.reset_events()
        linkedin.reset_stats()
        config = access_token_config(linkedin, send_once=send_once)
        run = write_in_process(tmp_path, config, catalog(), [lead(event_id="dup-1"), lead(event_id="dup-1")])
        assert run.error is None
        assert linkedin.event_ids() == expected
        assert linkedin.stats()["batch_sizes"] == [len(expected)]


def test_integers_beyond_64_bits_keep_their_digits(linkedin: Sandbox, tmp_path: Path):
    """Two primary keys one apart in the 23rd digit derive two eventIds, from the exact digits (docs/mapping.md's
    formula); an external ID of 23 digits reaches LinkedIn as those digits."""
    linkedin.reset_events()
    keys = BIG_KEYS
    lines = [lead(id=keys[0]), lead(id=keys[1], external_id=keys[1])]
    run = write_in_process(tmp_path, access_token_config(linkedin), catalog(), lines)
    assert run.error is None
    assert linkedin.event_ids() == [derived_event_id(None, "leads", "lead", [key]) for key in keys]
    assert len(set(linkedin.event_ids())) == 2
    assert [event["user"].get("externalIds") for event in linkedin.events()] == [None, [str(keys[1])]]


def test_integers_beyond_64_bits_stay_exact_on_every_path(linkedin: Sandbox, tmp_path: Path):
    """A line with an integer beyond 64 bits is read exactly whatever the mapping does with it: a 21-digit amount
    reaches LinkedIn digit for digit, and in a stream without a primary key (eventIds derived from the whole
    record) two records one apart in an unmapped 23-digit column derive two eventIds."""
    linkedin.reset_events()
    amount = 123456789012345678901
    keyless = catalog()
    for stream in keyless["streams"]:
        if stream["stream"]["name"] == "signups":
            del stream["primary_key"]
    signups = [record({**LEAD, "id": "s1", "crm_row": key}, "signups") for key in BIG_KEYS]
    run = write_in_process(tmp_path, access_token_config(linkedin), keyless, [purchase(value=amount), *signups])
    assert run.error is None
    purchase_event, *signup_events = linkedin.events()
    assert purchase_event["conversionValue"]["amount"] == str(amount)
    assert len({event["eventId"] for event in signup_events}) == 2


def test_the_input_lines_table_documents_every_outcome():
    """Every ignored kind and input-level rejection code the cases meet has a row in docs/architecture.md."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Input lines") :]
    documented = set(re.findall(r"`([a-z_]+)`", section))
    met = {kind for c in CASES for kind in c.ignored} | {"record_not_object", "invalid_json"}
    assert met <= documented, met - documented


def test_every_case_at_once_through_the_cli(sandbox: Sandbox, tmp_path: Path):
    """The whole suite as one input to `python main.py write`, CRLF line endings: exit 0, no traceback anywhere,
    totals equal the cases' sums, and every state that should come back does, in order."""
    seed_access_token(sandbox)
    lines, expected_ids = [], []
    for c in CASES:
        for ln in c.lines:
            message = strict(ln)
            if isinstance(message, dict) and message.get("type") == "STATE":  # echoed: renumbered to stay unique
                message["id"] = len(expected_ids) + 1
                expected_ids.append(message["id"])
                ln = json.dumps(message).encode()
            lines.append(ln)
    # cases repeat the same rows (eventIds): each case's own run counts them; here every row goes out
    run = run_write(tmp_path, access_token_config(sandbox, send_once=False), catalog(), lines, line_end=b"\r\n")
    assert run.code == 0, run.output
    assert "Traceback" not in run.output and not run.traces
    summary = parse_summary(run.logs)
    assert summary.read == sum(c.read for c in CASES)
    assert summary.sent == sum(c.sent + c.already_sent for c in CASES) == len(sandbox.event_ids())
    assert summary.rejected == sum(sum(c.rejected.values()) for c in CASES)
    assert sum(summary.ignored.values()) == sum(sum(c.ignored.values()) for c in CASES)
    assert [s["id"] for s in run.states] == expected_ids
    assert b'"cursor":99999999999999999999' in b"".join(run.raw)  # echoed digit for digit
    assert TOKEN not in run.output


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"destination_object_name": 123}, "stream 1 ('leads'): 'destination_object_name' is not text"),
        ({"stream": None}, "stream 1 has no 'stream' object"),
    ],
    ids=["destination-object-name-a-number", "stream-null"],
)
def test_a_catalog_with_a_mistyped_field_is_a_config_error(sandbox: Sandbox, tmp_path: Path, change, problem):
    """Through the CLI: exit 1, one config_error TRACE naming the stream and field, no traceback."""
    seed_access_token(sandbox)
    broken = catalog()
    broken["streams"][0].update(change)
    run = run_write(tmp_path, access_token_config(sandbox), broken, [lead(), CLOSING_STATE])
    assert run.code == 1, run.output
    assert "Traceback" not in run.output and "Something went wrong" not in run.output
    (trace,) = run.traces
    assert trace["error"]["failure_type"] == "config_error"
    assert trace["error"]["message"].endswith(f"could not be used: {problem}.")
    assert run.states == [] and sandbox.event_ids() == []
