"""Bad input full of personal data: no record value may appear verbatim in anything the connector prints — log
lines, the sync summary, rejection sentences, TRACE messages, stderr, dry-run previews (docs/linkedin-capi.md, "What
the logs say about records"). Every rejection reason the mapping and the input can give, every ignored kind, and
valid records with names, company, title and raw IDs run through the real `python main.py write`: into the sandbox,
as a dry run, and under the `fail` policy. STATE messages are left out of the search: they are the source's own
checkpoints, echoed unchanged by design.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from linkedin_capi_sandbox import Sandbox

from devtools.sample_data import catalog
from integration_tests.writing import WriteRun, access_token_config, parse_summary, run_write, seed_access_token

pytestmark = pytest.mark.timeout(180)

NOW = dt.datetime.now(dt.timezone.utc)
RECENT = (NOW - dt.timedelta(hours=2)).isoformat()
FUTURE = (NOW + dt.timedelta(days=3, minutes=17)).isoformat()

# Distinctive personal data, each value put where it is valid (sent or previewed) or in a wrong column.
EMAIL = "jane.doe@corp-privacy.com"
PERSON = {
    "first_name": "Zebediah",
    "last_name": "Quillfeather",
    "company": "Umbrellacorp Zyx",
    "title": "Chief Whisperer",
    "li_fat_id": "AQEprivacy-771199",
    "acxiom_id": "ACXprivacy-8812",
    "external_id": "crm-priv-4455",
    "lead_id": "urn:li:leadGenFormResponse:lead-priv-6677",
    "event_id": "ORDER-PRIV-3321",
}
NON_ASCII_NAME = "Ærønwyn Çelebiöğlu"
WRONG = {
    "event_name": "Trent.Reznor@nin-priv.com",
    "phone_time": "+1 415 555 0199",
    "old_time": "2020-03-14T15:09:26Z",
    "future_time": FUTURE,
    "epoch_phone": 4155550199,  # seconds: the year 2101, in the future
    "bad_email": "zebediah-at-corp-priv",
    "amount_email": "trent@corp-priv.com",
    "negative": "-98765.4321",
    "currency": "Quentin Tarantino",
    "long_event_id": "ORDER-" + "Q7" * 35,
    "nested_id": "AQEnested-9911",
    "lead_elsewhere": "urn:li:campaign:priv-5544",
    "country": "Atlantisland",
}
LINE_PII = {
    "nan_email": "nan.user@corp-priv.com",
    "line_email": "line.user@corp-priv.com",
    "line_phone": "+1 415 555 0123",
    "array_email": "array.user@corp-priv.com",
    "array_phone": "+44 20 7946 0958",
    "type_email": "type.user@corp-priv.com",
    "state_email": "state.user@corp-priv.com",
    "data_email": "data.user@corp-priv.com",
    "unknown_stream_email": "orders.user@corp-priv.com",
}
FORBIDDEN = [EMAIL, NON_ASCII_NAME, "Ærønwyn", *PERSON.values(), *map(str, WRONG.values()), *LINE_PII.values()]


def record(data: Any, stream: str = "leads") -> bytes:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data}}).encode()


def lead(**fields: Any) -> dict[str, Any]:
    return {"email": EMAIL, "event_time": RECENT, **fields}


def lines() -> list[bytes]:
    valid = [
        record(lead(**PERSON)),
        record({"event_time": RECENT, "first_name": NON_ASCII_NAME, "last_name": "Quillfeather", "li_fat_id": "x-1"}),
        record(lead(lead_id=WRONG["lead_elsewhere"], first_name="Zebediah", last_name="Q", country=WRONG["country"])),
        record(lead(external_id=PERSON["external_id"], value="4242.42", currency="EUR"), "purchases"),
    ]
    rejected = [
        record(lead(event_name=WRONG["event_name"])),  # unknown_event
        record({"email": EMAIL, **PERSON}),  # missing_timestamp
        record(lead(event_time=WRONG["phone_time"])),  # invalid_timestamp
        record(lead(event_time=WRONG["old_time"])),  # too_old
        record(lead(event_time=WRONG["future_time"])),  # in_future
        record(lead(event_time=WRONG["epoch_phone"])),  # in_future, an int
        record(
            {"event_time": RECENT, "first_name": "Zebediah", "li_fat_id": {"id": WRONG["nested_id"]}}
        ),  # no_identifier
        record(lead(email=WRONG["bad_email"])),  # invalid_email
        record(lead(value=WRONG["amount_email"], currency="EUR"), "purchases"),  # invalid_amount
        record(lead(value=WRONG["negative"], currency="EUR"), "purchases"),  # negative_amount
        record(lead(value="13579.2468"), "purchases"),  # missing_currency
        record(lead(value="10", currency=WRONG["currency"]), "purchases"),  # invalid_currency
        record(lead(event_id=WRONG["long_event_id"])),  # invalid_event_id
        record(LINE_PII["data_email"]),  # record_not_object
        record(lead(email=LINE_PII["nan_email"], score="@NAN@")).replace(b'"@NAN@"', b"NaN"),  # invalid_json
    ]
    ignored = [
        f"phone {LINE_PII['line_phone']}, email {LINE_PII['line_email']}".encode(),  # non_json_line
        json.dumps([LINE_PII["array_email"], LINE_PII["array_phone"]]).encode(),  # not_a_message
        json.dumps({"type": LINE_PII["type_email"]}).encode(),  # not_a_message
        b'{"type":"STATE","state":{"type":"LEGACY","data":{"cursor":"%s","n":NaN}}}' % LINE_PII["state_email"].encode(),
        record({"email": LINE_PII["unknown_stream_email"]}, "orders"),  # unknown_stream
    ]
    closing = json.dumps({"type": "STATE", "id": 1, "state": {"type": "LEGACY", "data": {"cursor": 1}}}).encode()
    return [*valid, *rejected, *ignored, closing]


REASONS = {
    "unknown_event",
    "missing_timestamp",
    "invalid_timestamp",
    "too_old",
    "in_future",
    "no_identifier",
    "invalid_email",
    "invalid_amount",
    "negative_amount",
    "missing_currency",
    "invalid_currency",
    "invalid_event_id",
    "record_not_object",
    "invalid_json",
}


def printed(run: WriteRun) -> Iterator[str]:
    """Every text the connector printed, decoded: each string in each non-STATE message, and stderr."""

    def texts(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for child in value.values():
                yield from texts(child)
        elif isinstance(value, list):
            for child in value:
                yield from texts(child)

    for message in run.messages:
        if message.get("type") != "STATE":
            yield from texts(message)
    yield run.stderr


def assert_nothing_quoted(run: WriteRun) -> None:
    found = {value for text in printed(run) for value in FORBIDDEN if value in text}
    escaped = {value for value in FORBIDDEN if json.dumps(value)[1:-1] in run.stderr}
    assert not found | escaped, sorted(found | escaped)


@pytest.fixture
def linkedin(sandbox: Sandbox) -> Sandbox:
    seed_access_token(sandbox)
    return sandbox


def test_no_record_value_reaches_the_output_of_a_sync(linkedin: Sandbox, tmp_path: Path):
    run = run_write(tmp_path, access_token_config(linkedin), catalog(), lines())
    assert run.code == 0, run.output
    summary = parse_summary(run.logs)
    assert summary.sent == 4 == len(linkedin.event_ids())
    assert {reason for stream in summary.streams.values() for reason in stream.rejected} == REASONS
    assert set(summary.ignored) == {"non_json_line", "not_a_message", "invalid_state", "unknown_stream"}
    assert set(summary.notes) >= {"invalid_lead_dropped", "unknown_country_dropped"}
    assert "'T***@n***.com' (an email address, 25 characters)" in summary.examples["unknown_event"]
    assert_nothing_quoted(run)


def test_no_record_value_reaches_the_output_of_a_dry_run_and_its_previews_are_masked(linkedin: Sandbox, tmp_path: Path):
    run = run_write(tmp_path, access_token_config(linkedin, dry_run=True), catalog(), lines())
    assert run.code == 0, run.output
    assert linkedin.stats()["requests"] == 0
    previews = [line for line in run.logs if line.startswith("Dry run, would send (personal data masked): ")]
    assert len(previews) == 3
    first = json.loads(previews[0].split(": ", 1)[1])["user"]
    assert first["userInfo"] == {"firstName": "Z***", "lastName": "Q***", "companyName": "U***", "title": "C***"}
    assert first["externalIds"] == ["c***"] and first["lead"] == "urn:li:leadGenFormResponse:l***"
    assert parse_summary(run.logs).rejected == len(REASONS) + 1  # in_future twice
    assert_nothing_quoted(run)


def test_no_record_value_reaches_the_trace_of_a_sync_failed_by_the_fail_policy(linkedin: Sandbox, tmp_path: Path):
    config = access_token_config(linkedin, invalid_record_policy="fail")
    run = run_write(
        tmp_path, config, catalog(), [record(lead(value=WRONG["amount_email"], currency="EUR"), "purchases")]
    )
    assert run.code != 0
    (trace,) = [t for t in run.traces if t.get("type") == "ERROR"]
    assert "'t***@c***.com' (an email address, 19 characters)" in trace["error"]["message"]
    assert_nothing_quoted(run)
