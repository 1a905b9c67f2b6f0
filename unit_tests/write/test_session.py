"""WriteSession in process, dry run (no HTTP): what each kind of input line becomes, the destinationStats each
STATE carries, and how a failure ends the sync. The CLI and the sandbox runs are in integration_tests."""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from typing import Any

import pytest
from airbyte_cdk.utils.traced_exception import AirbyteTracedException, FailureType

from destination_linkedin_capi.airbyte.input import message_lines
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import SyncCancelled
from destination_linkedin_capi.mapping.routing import StreamInfo
from destination_linkedin_capi.write.session import WriteSession
from unit_tests.conftest import rejected_by_reason

STREAMS = {(None, "leads"): StreamInfo(primary_key=(("id",),)), ("crm", "leads"): StreamInfo()}
WHEN = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))


def config(**overrides: Any) -> ConnectorConfig:
    return ConnectorConfig.parse(
        {
            "account_id": "512345678",
            "credentials": {"auth_type": "access_token", "access_token": "unused", "conversion_mapping": "LEAD=11"},
            "stream_events": "leads=LEAD",
            "dry_run": True,
            "batch_size": 2,
            **overrides,
        }
    )


def record(n: int, stream: str = "leads", namespace: str | None = None, **data: Any) -> bytes:
    payload = {"id": n, "email": f"user{n}@example.com", "event_time": WHEN, **data}
    message: dict[str, Any] = {"type": "RECORD", "record": {"stream": stream, "data": payload, "emitted_at": 0}}
    if namespace is not None:
        message["record"]["namespace"] = namespace
    return json.dumps(message).encode()


def stream_state(n: int, name: str = "leads", namespace: str | None = None) -> bytes:
    descriptor = {"name": name, **({"namespace": namespace} if namespace else {})}
    state = {"type": "STREAM", "stream": {"stream_descriptor": descriptor, "stream_state": {"n": n}}}
    return json.dumps({"type": "STATE", "state": state, "id": n}).encode()


def global_state(n: int) -> bytes:
    return json.dumps({"type": "STATE", "state": {"type": "GLOBAL", "global": {"n": n}}, "id": n}).encode()


def run(lines: list[bytes], **overrides: Any) -> tuple[list[dict[str, Any]], Any]:
    out: list[dict[str, Any]] = []
    report = WriteSession(config(**overrides), STREAMS, out.append).run(lines)
    return out, report


def counts(states: list[dict[str, Any]]) -> list[tuple[int, float]]:
    stats = [state["state"]["destinationStats"] for state in states]  # Airbyte adds the two counts
    return [
        (state["id"], s["recordCount"] + s.get("rejectedRecordCount", 0.0))
        for state, s in zip(states, stats, strict=True)
    ]


def test_each_stream_state_counts_its_own_streams_records_since_its_previous_state():
    lines = [record(1), record(2, namespace="crm"), record(3), stream_state(1), record(4), stream_state(2)]
    lines.append(stream_state(3, namespace="crm"))
    states, report = run(lines)
    assert counts(states) == [(1, 2.0), (2, 1.0), (3, 1.0)]
    assert report.total_sent == 4


def test_a_global_state_counts_every_stream_and_resets_the_stream_counts():
    lines = [record(1), record(2, namespace="crm"), global_state(1), record(3), stream_state(2), global_state(3)]
    states, _ = run(lines)
    assert counts(states) == [(1, 2.0), (2, 1.0), (3, 1.0)]


def test_states_are_echoed_unchanged_but_for_destination_stats():
    line = json.dumps(
        {"type": "STATE", "id": 7, "sourceStats": {"recordCount": 1.0}, "state": {"type": "LEGACY", "data": {"a": 1}}}
    ).encode()
    (state,), _ = run([record(1), line])
    expected = json.loads(line)
    expected["state"]["destinationStats"] = {"recordCount": 1.0}
    assert state == expected


def test_records_of_streams_not_in_the_catalog_are_counted_and_ignored():
    states, report = run([record(1, stream="orders"), record(2, namespace="other"), stream_state(1, "orders")])
    assert report.ignored == {"unknown_stream": 2}
    assert report.total_read == 2 and report.total_sent == 0 and report.unsettled == 0
    assert counts(states) == [(1, 1.0)]  # still counted on its stream's state


def test_a_record_line_that_is_not_strict_json_is_rejected_not_guessed():
    line = b'{"type": "RECORD", "record": {"stream": "leads", "data": {"id": 1, "value": NaN}, "emitted_at": 0}}'
    _, report = run([line, record(2)])
    assert rejected_by_reason(report) == {"invalid_json": 1}
    assert report.total_sent == 1
    assert "not strict JSON" in report.examples["invalid_json"]


def test_a_state_line_that_is_not_strict_json_is_not_echoed():
    line = b'{"type": "STATE", "state": {"type": "GLOBAL", "global": {"x": Infinity}}}'
    states, report = run([record(1), line, global_state(2)])
    assert [state["id"] for state in states] == [2] and counts(states) == [(2, 1.0)]
    assert report.ignored == {"invalid_state": 1}


@pytest.mark.parametrize(
    "line, kind, example",
    [
        (b"hello", "non_json_line", "a line of 5 bytes, the parser stopped at position 0 (…)"),
        (b"[1, 2]", "not_a_message", "a line of 6 bytes holding a JSON array, not an object"),
        (b'{"type": "RECORD", "record": {"data": {}}}', "not_a_message", "a RECORD without a record.stream"),
        (
            b'{"type": "RECORD", "record": {"stream": "leads", "namespace": 5}}',
            "not_a_message",
            "a RECORD whose record.namespace is not text",
        ),
        (b'{"type": "CATALOG"}', "not_a_message", "a message of type 'CATALOG'"),
        (b'{"type": 3}', "not_a_message", "a message whose type is not text"),
    ],
)
def test_lines_that_are_not_messages_are_counted_with_an_example(line, kind, example):
    _, report = run([line])
    assert report.ignored == {kind: 1}
    (shown,) = report.ignored_examples[kind]
    start, _, end = example.partition("…")  # … stands for the parser's own sentence
    assert shown.startswith(start) and shown.endswith(end) and len(shown) >= len(example), shown
    assert report.total_read == 0


def test_blank_lines_and_platform_messages_are_skipped_uncounted():
    log = json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "hi"}}).encode()
    _, report = run([b"", b"   \n", log, record(1)])
    assert not report.ignored and report.total_sent == 1


def test_data_that_is_not_an_object_is_rejected():
    line = json.dumps({"type": "RECORD", "record": {"stream": "leads", "data": [1], "emitted_at": 0}}).encode()
    _, report = run([line])
    assert rejected_by_reason(report) == {"record_not_object": 1}


def test_in_process_messages_take_the_path_of_lines():
    out: list[dict[str, Any]] = []
    messages = [json.loads(record(1)), "not a dict", json.loads(stream_state(1))]
    report = WriteSession(config(), STREAMS, out.append).run(message_lines(messages))
    assert report.ignored_examples["not_a_message"] == ["a line of 12 bytes holding a JSON string, not an object"]
    assert counts(out) == [(1, 1.0)]


def test_the_fail_policy_ends_the_sync_with_a_config_error_after_settling_what_came_before():
    bad = record(2, email=None, event_time=None)
    out: list[dict[str, Any]] = []
    session = WriteSession(config(invalid_record_policy="fail"), STREAMS, out.append)
    with pytest.raises(AirbyteTracedException) as raised:
        session.run([record(1), stream_state(1), bad, stream_state(2)])
    assert raised.value.failure_type == FailureType.config_error
    assert "A record was rejected" in raised.value.message
    assert counts(out) == [(1, 1.0)]  # the state after the rejected record is never emitted


# -- streams that can never be routed, judged from the catalog before any record ----------------------------------

DECLARED = ("id", "email", "event_time")


def start(streams: dict, mapping: str = "LEAD=11,PURCHASE=12", **overrides: Any) -> AirbyteTracedException | None:
    """A dry run of no records with these streams: the error it ended with, or None."""
    credentials = {"auth_type": "access_token", "access_token": "unused", "conversion_mapping": mapping}
    try:
        WriteSession(config(credentials=credentials, **overrides), streams, lambda message: None).run([])
    except AirbyteTracedException as error:
        return error
    return None


def test_a_stream_whose_schema_has_no_event_name_field_and_no_route_fails_the_sync_at_its_start():
    error = start(
        {(None, "orders"): StreamInfo(properties=DECLARED), ("crm", "leads"): StreamInfo(properties=DECLARED)}
    )
    assert error is not None and error.failure_type == FailureType.config_error
    assert error.message == (
        "Stream 'orders' cannot be routed to an event: its schema has no 'event_name' field, it is not in Stream "
        "events, its name is not an event, and more than one event is configured (LEAD, PURCHASE); add "
        "'orders=EVENT' to Stream events, or set Event name field to a field the stream has."
    )  # crm.leads is in Stream events (leads=LEAD)


@pytest.mark.parametrize(
    "streams, overrides",
    [
        ({(None, "orders"): StreamInfo(properties=DECLARED)}, {"stream_events": "Orders=PURCHASE"}),
        ({(None, "purchase"): StreamInfo(properties=DECLARED)}, {}),  # named like an event
        ({(None, "orders"): StreamInfo(properties=(*DECLARED, "Event_Name"))}, {}),
        ({(None, "orders"): StreamInfo(properties=(*DECLARED, "kind"))}, {"event_name_field": "kind"}),
        (
            {(None, "orders"): StreamInfo(properties=(*DECLARED, "meta"))},
            {"field_mappings": [{"linkedin_field": "event_name", "record_field": "meta.type"}]},
        ),
        ({(None, "orders"): StreamInfo()}, {}),  # no declared fields: its records will tell
        ({(None, "orders"): StreamInfo(properties=DECLARED, destination_object_name="PURCHASE")}, {}),
        ({(None, "orders"): StreamInfo(properties=DECLARED)}, {"mapping": "LEAD=11"}),  # the only event
    ],
)
def test_a_stream_that_can_be_routed_starts(streams, overrides):
    assert start(streams, **overrides) is None


def test_a_stream_events_entry_naming_no_stream_of_the_catalog_is_one_warning(caplog):
    with caplog.at_level("WARNING", logger="airbyte"):
        assert start(STREAMS, stream_events="leads=LEAD,purchase=PURCHASE,LEADS=LEAD") is None
    assert [record.getMessage() for record in caplog.records if record.levelname == "WARNING"] == [
        "Stream events names stream 'purchase', which is not in this sync's catalog; check its spelling (the entry is "
        "ignored)."
    ]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("source", ["pipe", "generator"])
def test_records_before_a_quiet_spell_are_sent_by_the_batch_age_limit(source):
    """Mapped events wait in the writer's open chunk only while the loop is busy: before it waits for more input
    (a stream's next block; a generator's next line) they are in a batch, which the age limit then sends."""
    lines: queue.Queue[bytes | None] = queue.Queue()
    if source == "pipe":
        read_end, write_end = os.pipe()
        items: Any = os.fdopen(read_end, "rb")
        writer = os.fdopen(write_end, "wb")

        def feed() -> None:
            while (line := lines.get()) is not None:
                writer.write(line + b"\n")
                writer.flush()
            writer.close()

    else:

        def generate():
            while (line := lines.get()) is not None:
                yield line

        items = generate()

        def feed() -> None:
            pass

    session = WriteSession(config(batch_size=5000, batch_max_age_seconds=1), STREAMS, lambda message: None)
    reader = threading.Thread(target=lambda: session.run(items))
    feeder = threading.Thread(target=feed)
    feeder.start()
    reader.start()
    for n in range(3):
        lines.put(record(n))
    deadline = time.monotonic() + 30
    while session.report.total_sent < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    sent_before_the_end = session.report.total_sent
    lines.put(None)
    feeder.join()
    reader.join()
    assert sent_before_the_end == 3


@pytest.mark.timeout(30)
def test_a_wait_for_the_request_budget_ends_when_the_sync_is_cancelled():
    """With one request a minute the second waits; a cancellation ends that wait at once (as every retry pause)."""
    session = WriteSession(config(dry_run=False, requests_per_minute=1), STREAMS, lambda message: None)
    assert session.budget is not None
    session.budget.acquire()
    threading.Timer(0.5, session.cancellation._handle, args=(15, None)).start()
    started = time.monotonic()
    with pytest.raises(SyncCancelled):
        session.budget.acquire()
    assert time.monotonic() - started < 5


# --- a stream whose records are (mostly) rejected -------------------------------------------------------------
WITH_PAGE_VIEWS = {**STREAMS, (None, "page_views"): StreamInfo()}
#: Two events, so no stream falls back to the only one: every page_views row is unknown_event.
TWO_EVENTS = {
    "credentials": {"auth_type": "access_token", "access_token": "unused", "conversion_mapping": "LEAD=11,PURCHASE=12"}
}


def page_views(count: int) -> list[bytes]:
    return [record(n, stream="page_views") for n in range(count)]


def test_a_stream_whose_every_record_is_rejected_is_a_warning_and_the_rows_not_kept_are_counted(caplog):
    lines = [record(1), stream_state(1), *page_views(3), stream_state(2, name="page_views")]
    out: list[dict[str, Any]] = []
    with caplog.at_level("INFO", logger="airbyte"):
        WriteSession(config(**TWO_EVENTS), WITH_PAGE_VIEWS, out.append).run(lines)
    assert counts(out) == [(1, 1.0), (2, 3.0)]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [w for w in warnings if w.startswith("Stream page_views")] == [
        "Stream page_views: all 3 records read in this sync were rejected, none sent; top reasons: unknown_event 3 "
        "(e.g. " + rejected_example(caplog, "unknown_event") + ")."
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "  rejected records: 3 not kept (Rejected records storage is None); set Rejected records storage to S3 or "
        "Local to keep them for fixing and re-sending." in messages
    )


def rejected_example(caplog, reason: str) -> str:
    """The summary's example sentence of `reason`."""
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith(f"  {reason}: e.g. "))
    return line.removeprefix(f"  {reason}: e.g. ")


def test_no_not_kept_line_when_nothing_was_rejected(caplog):
    with caplog.at_level("INFO", logger="airbyte"):
        run([record(1), stream_state(1)])
    assert not [r for r in caplog.records if "not kept" in r.getMessage()]


def test_a_rejected_share_above_the_maximum_fails_the_sync_after_its_states_are_emitted(caplog):
    lines = [record(1), record(2), stream_state(1), *page_views(3), stream_state(2, name="page_views")]
    out: list[dict[str, Any]] = []
    with caplog.at_level("INFO", logger="airbyte"), pytest.raises(AirbyteTracedException) as raised:
        WriteSession(config(max_rejected_percent=10, **TWO_EVENTS), WITH_PAGE_VIEWS, out.append).run(lines)
    assert raised.value.failure_type == FailureType.config_error
    assert raised.value.message.startswith(
        "Stream page_views: 3 of its 3 records were rejected (100%), more than Maximum rejected share (10%); the "
        "records sent are checkpointed"
    )
    assert counts(out) == [(1, 2.0), (2, 3.0)]  # every state was emitted before the sync failed
    assert any(r.getMessage().startswith("Stream page_views: all 3 records") for r in caplog.records)


def test_a_rejected_share_within_the_maximum_passes():
    lines = [record(1), record(2), record(3), record(4, email=None), stream_state(1)]  # 25% of leads rejected
    out, report = run(lines, max_rejected_percent=25)
    assert counts(out) == [(1, 4.0)] and report.total_rejected == 1


@pytest.mark.timeout(120)
def test_a_long_sync_warns_early_about_a_stream_it_rejects_whole(caplog):
    """After the first 1,000 records of an all-rejected stream, the warning comes while the sync still reads."""
    seen = threading.Event()

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Stream page_views: all 1,200 records read so far were rejected"):
                seen.set()

    def source():
        yield from page_views(1200)
        seen.wait(60)  # the source goes quiet until the warning came (a generous bound for a busy machine)
        yield from page_views(10)

    handler = Seen()
    logging.getLogger("airbyte").addHandler(handler)
    try:
        session = WriteSession(config(batch_max_age_seconds=1, **TWO_EVENTS), WITH_PAGE_VIEWS, lambda message: None)
        with caplog.at_level("INFO", logger="airbyte"):
            session.run(source())
    finally:
        logging.getLogger("airbyte").removeHandler(handler)
    assert seen.is_set()
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Stream page_views")]
    assert [w.split(";")[0] for w in warnings] == [
        "Stream page_views: all 1,200 records read so far were rejected, none sent",
        "Stream page_views: all 1,210 records read in this sync were rejected, none sent",
    ]


def test_a_maximum_below_the_warning_share_still_names_the_reasons_and_100_never_fails(caplog):
    lines = [record(1), record(2), record(3, email=None), stream_state(1)]  # 33% of leads rejected
    with caplog.at_level("INFO", logger="airbyte"), pytest.raises(AirbyteTracedException) as raised:
        run(lines, rejected_warn_percent=50, max_rejected_percent=30)
    assert raised.value.message.startswith("Stream leads: 1 of its 3 records were rejected (33%), more than Maximum")
    assert any(r.getMessage().startswith("Stream leads: 1 of 3 records read in this sync") for r in caplog.records)
    out: list[dict[str, Any]] = []
    lines = [*page_views(3), stream_state(1, name="page_views")]
    WriteSession(config(max_rejected_percent=100, **TWO_EVENTS), WITH_PAGE_VIEWS, out.append).run(lines)
    assert counts(out) == [(1, 3.0)]  # all rejected is not more than 100%


def test_the_list_forms_of_the_config_route_records_as_the_text_forms_do(caplog):
    overrides = {
        "credentials": {"auth_type": "access_token", "access_token": "unused"},
        "conversion_mapping": [{"event": "LEAD", "rule_ids": ["11"]}, {"event": "PURCHASE", "rule_ids": [12]}],
        "stream_events": [{"stream": "leads", "event": "PURCHASE"}],
        "stream_event": "leads=LEAD",  # misspelt: ignored, with one warning
    }
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        _out, report = run([record(1), record(2), stream_state(2)], **overrides)
    assert dict(report.sent) == {((None, "leads"), "purchase"): 2}
    warning = "Unknown config key ignored: 'stream_event' (did you mean 'stream_events'?)."
    assert caplog.text.count(warning) == 1
