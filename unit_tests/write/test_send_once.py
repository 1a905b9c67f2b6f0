"""Send each conversion once: the writer's side of the sent-events ledger, against the strict sandbox.

The ledger here is the `process` store (this sync's memory, or one shared by two in-process syncs); the SQLite and
Redis stores run the same contract in unit_tests/ledger/ and whole syncs in integration_tests/test_send_once.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from linkedin_capi_sandbox import Sandbox

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.ledger.base import CLAIMED, HELD, SENT, entry_key
from destination_linkedin_capi.ledger.process import ProcessLedger
from destination_linkedin_capi.ledger.sqlite_store import SqliteLedger
from destination_linkedin_capi.mapping.routing import StreamInfo
from destination_linkedin_capi.report import SyncReport
from destination_linkedin_capi.write import session as session_module
from destination_linkedin_capi.write.send_once import SendOnce, keep_ms
from destination_linkedin_capi.write.session import WriteSession
from destination_linkedin_capi.write.writer import BatchWriter
from devtools.sample_data import ACCOUNT
from unit_tests.write.test_writer import STREAM, FakeLinkedIn

TOKEN = "send-once-token"
RULE = 21
STREAMS = {(None, "leads"): StreamInfo(primary_key=(("id",),))}
URN = f"urn:lla:llaPartnerConversion:{RULE}"


@pytest.fixture(scope="module")
def linkedin() -> Iterator[Sandbox]:
    with Sandbox(requests_per_minute=None, requests_per_day=None) as sandbox:
        sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
        sandbox.add_rule(ACCOUNT, rule_id=RULE, type="LEAD")
        yield sandbox


def config(linkedin: Sandbox, **overrides: Any) -> ConnectorConfig:
    return ConnectorConfig.parse(
        {
            "account_id": str(ACCOUNT),
            "credentials": {"auth_type": "access_token", "access_token": TOKEN, "conversion_mapping": f"LEAD={RULE}"},
            "stream_events": "leads=LEAD",
            "api_base_url": linkedin.url,
            "batch_size": 4,
            **overrides,
        }
    )


def lines(ids: list[int]) -> list[bytes]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    out = []
    for i in ids:
        data = {"id": i, "email": f"user{i}@example.com", "event_time": stamp}
        out.append(
            json.dumps({"type": "RECORD", "record": {"stream": "leads", "data": data, "emitted_at": 1}}).encode()
        )
    out.append(json.dumps({"type": "STATE", "state": {"type": "LEGACY", "data": {"c": 1}}}).encode())
    return out


def write(cfg: ConnectorConfig, ids: list[int], ledger: ProcessLedger | None = None, monkeypatch=None) -> Any:
    if ledger is not None:
        monkeypatch.setattr(session_module, "make_ledger", lambda config: ledger)
    emitted: list[dict] = []
    report = WriteSession(cfg, STREAMS, emitted.append).run(lines(ids))
    return report, emitted


def test_a_row_repeated_within_a_batch_and_across_batches_is_sent_once(linkedin):
    linkedin.reset_events()
    ids = [1, 2, 1, 3, 4, 5, 2, 1, 6, 6]  # batches of 4: a repeat inside a batch, and in later batches
    report, emitted = write(config(linkedin), ids)
    event_ids = [event["eventId"] for event in linkedin.events(RULE)]
    assert len(event_ids) == len(set(event_ids)) == 6
    assert report.total_sent == 6
    assert report.total_already_sent == 4
    assert report.unsettled == 0
    summary = "\n".join(report.summary_lines(dry_run=False))
    assert "10 records read, 6 sent, 4 already sent, 0 rejected" in summary
    # already sent is processed, not rejected: the STATE counts every record
    assert emitted[-1]["state"]["destinationStats"] == {"recordCount": 10.0}


def test_send_once_off_sends_every_row_as_before(linkedin):
    linkedin.reset_events()
    report, _ = write(config(linkedin, send_once=False), [1, 1, 2, 2])
    assert len(linkedin.events(RULE)) == 4
    assert report.total_sent == 4
    assert report.total_already_sent == 0
    assert "already sent" not in "\n".join(report.summary_lines(dry_run=False))


def test_a_second_sync_on_the_same_ledger_sends_nothing_new_and_says_when_it_was_first_sent(linkedin, monkeypatch):
    linkedin.reset_events()
    ledger = ProcessLedger()
    write(config(linkedin), [1, 2, 3], ledger, monkeypatch)
    report, emitted = write(config(linkedin), [1, 2, 3, 4], ledger, monkeypatch)
    assert len(linkedin.events(RULE)) == 4
    assert (report.total_sent, report.total_already_sent) == (1, 3)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert any(f"already sent 3 (first accepted {day}" in line for line in report.summary_lines(dry_run=False))
    assert emitted[-1]["state"]["destinationStats"] == {"recordCount": 4.0}
    assert ledger.count() == 4


def test_a_dry_run_reports_what_would_be_left_out_and_claims_nothing(linkedin, tmp_path):
    linkedin.reset_events()
    sqlite = {"store": "sqlite", "path": str(tmp_path / "ledger.sqlite")}
    write(config(linkedin, request_budget=sqlite), [1, 2])
    report, _ = write(config(linkedin, request_budget=sqlite, dry_run=True), [1, 2, 3])
    assert (report.total_sent, report.total_already_sent) == (1, 2)
    assert "1 would be sent, 2 would be left out as already sent" in report.summary_lines(dry_run=True)[0]
    assert SqliteLedger(sqlite["path"]).count() == 2
    assert len(linkedin.events(RULE)) == 2


def test_a_dry_run_with_the_ledger_of_this_sync_only_looks_nothing_up(linkedin):
    session = WriteSession(config(linkedin, dry_run=True), STREAMS, lambda m: None)
    assert session.once is None
    assert WriteSession(config(linkedin), STREAMS, lambda m: None).once is not None


def test_an_event_linkedin_refuses_is_not_recorded_and_its_copies_in_the_batch_are_refused_with_it():
    linkedin = FakeLinkedIn(with_indices=True)
    ledger = ProcessLedger()
    report = SyncReport()
    writer = BatchWriter(
        send=linkedin.send,
        report=report,
        emit=lambda message: None,
        batch_size=10,
        max_age=600.0,
        once=SendOnce(ledger, lease_seconds=60, keep_ms=keep_ms(60)),
    )
    now_ms = int(time.time() * 1000)
    rows = [("bad", True), ("bad", True), ("good", False), ("good", False)]
    for n, (event_id, bad) in enumerate(rows):
        payload = {"n": n, "bad": bad, "conversion": URN, "eventId": event_id, "conversionHappenedAt": now_ms}
        writer.add_event(STREAM, "lead", payload)
    writer.finish()
    assert linkedin.requests == [2, 1]  # one copy of each key went out; the refused one was isolated by index
    assert linkedin.delivered == [2]
    assert (report.total_sent, report.total_already_sent, report.total_rejected) == (1, 1, 2)
    assert ledger.seen([entry_key(URN, "good"), entry_key(URN, "bad")])[1] is None
    assert ledger.count() == 1
    # the refused key is free again: a later sync may send it once it is fixed
    assert [v.status for v in ledger.claim([entry_key(URN, "bad")], "later", 1000)] == [CLAIMED]


# --- the claim protocol, with a clock the test moves -------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def once(ledger: ProcessLedger, clock: Clock, sleep) -> SendOnce:
    return SendOnce(
        ledger, lease_seconds=60, keep_ms=keep_ms(60), sleep=sleep, clock=clock, wall_ms=lambda: int(clock.now * 1000)
    )


def test_a_sync_meeting_another_syncs_live_claim_waits_and_takes_it_over_when_its_lease_runs_out():
    clock = Clock()
    ledger = ProcessLedger(clock=clock)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    dead = once(ledger, clock, sleep)
    refs = [(URN, "e1", 0), (URN, "e2", 0)]
    assert dead.plan(refs, lambda: None).send == [0, 1]  # then the sync dies: no confirm, no release
    alive = once(ledger, clock, sleep)
    plan = alive.plan(refs, lambda: None)
    assert plan.send == [0, 1]
    assert 59 <= sum(slept) <= 61  # it waited for the lease, not less, not much more
    assert [v.status for v in ledger.claim([entry_key(URN, "e1")], dead.owner, 1000)] == [HELD]


def test_a_sync_waiting_on_a_claim_leaves_the_event_out_once_its_owner_confirms_it():
    clock = Clock()
    ledger = ProcessLedger(clock=clock)
    owner = once(ledger, clock, lambda s: None)
    refs = [(URN, "e1", int(clock.now * 1000))]
    owner_plan = owner.plan(refs, lambda: None)

    def sleep(seconds: float) -> None:
        clock.now += seconds
        owner.settle(owner_plan, [0], refs)  # LinkedIn accepted the owner's request

    waiter = once(ledger, clock, sleep)
    plan = waiter.plan(refs, lambda: None)
    assert plan.send == []
    assert plan.already == {0: int(clock.now * 1000)}


def test_an_owner_that_releases_lets_the_waiting_sync_send_it():
    clock = Clock()
    ledger = ProcessLedger(clock=clock)
    owner = once(ledger, clock, lambda s: None)
    refs = [(URN, "e1", 0)]
    owner_plan = owner.plan(refs, lambda: None)

    def sleep(seconds: float) -> None:
        clock.now += seconds
        owner.settle(owner_plan, [], refs)  # LinkedIn refused it: released, never recorded

    plan = once(ledger, clock, sleep).plan(refs, lambda: None)
    assert plan.send == [0]
    assert ledger.count() == 0


def test_entries_expire_when_the_conversion_leaves_linkedins_window():
    clock = Clock()
    ledger = ProcessLedger(clock=clock)
    sender = once(ledger, clock, lambda s: None)
    happened = int(clock.now * 1000)
    refs = [(URN, "e1", happened)]
    sender.settle(sender.plan(refs, lambda: None), [0], refs)
    assert [v.status for v in ledger.claim([entry_key(URN, "e1")], "other", 1000)] == [SENT]
    clock.now += keep_ms(60) / 1000 + 1  # 90 days and the margin later
    assert ledger.count() == 0
    assert [v.status for v in ledger.claim([entry_key(URN, "e1")], "other", 1000)] == [CLAIMED]


def test_full_refresh_streams_with_a_ledger_of_this_sync_only_get_one_warning(linkedin, tmp_path, caplog):
    whole = {(None, "leads"): StreamInfo(primary_key=(("id",),), full_refresh=True)}
    WriteSession(config(linkedin), whole, lambda m: None)
    warnings = [r.getMessage() for r in caplog.records if "read in full at each sync" in r.getMessage()]
    assert warnings == [
        "Streams 'leads' are read in full at each sync, and with the Request budget store 'This sync only' the "
        "sent-events ledger lasts one sync: rows LinkedIn accepted before are sent again and may count twice. Choose "
        "an SQLite file or Redis as the store to send each conversion once across syncs."
    ]
    caplog.clear()
    sqlite = {"store": "sqlite", "path": str(tmp_path / "ledger.sqlite")}
    WriteSession(config(linkedin, request_budget=sqlite), whole, lambda m: None)
    WriteSession(config(linkedin), STREAMS, lambda m: None)  # incremental streams
    assert not [r for r in caplog.records if "read in full" in r.getMessage()]


def test_the_catalog_says_which_streams_are_read_in_full():
    from destination_linkedin_capi.airbyte.catalog import streams_of

    def configured(name: str, mode: str) -> dict:
        stream = {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]}
        return {"stream": stream, "sync_mode": mode, "destination_sync_mode": "append"}

    streams = streams_of({"streams": [configured("a", "full_refresh"), configured("b", "incremental")]})
    assert [(key[1], info.full_refresh) for key, info in streams.items()] == [("a", True), ("b", False)]
