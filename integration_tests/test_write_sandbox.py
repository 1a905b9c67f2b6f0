"""`python main.py write` against the strict sandbox: batches, state gating, faults, isolation, errors, budget."""

from __future__ import annotations

import datetime as dt
import time

import orjson
import pytest
from linkedin_capi_sandbox import Sandbox

from devtools.sample_data import catalog, generate_lines
from integration_tests.writing import (
    ACCOUNT,
    TOKEN,
    DeliveryGate,
    access_token_config,
    assert_duplicates_identical,
    assert_states_echoed,
    run_write,
    seed_access_token,
    with_state_ids,
)

pytestmark = pytest.mark.timeout(300)


def test_12345_records_in_three_full_batches_with_every_state_gated(sandbox, tmp_path):
    seed_access_token(sandbox)
    lines = with_state_ids(generate_lines(12_345, bad=False, state_every=100))
    gate = DeliveryGate(sandbox, lines)
    run = run_write(tmp_path, access_token_config(sandbox), catalog(), lines, on_message=gate)
    assert run.code == 0, run.output
    ids = sandbox.event_ids()
    assert len(ids) == 12_345 and len(set(ids)) == 12_345
    assert sandbox.stats()["batch_sizes"] == [5000, 5000, 2345]
    assert_states_echoed(run, lines)
    assert len(gate.checked) == 123
    assert any("Sync summary: 12,345 records read, 12,345 sent, 0 rejected" in line for line in run.logs)
    assert TOKEN not in run.output


def test_every_event_arrives_through_a_storm_of_faults(sandbox, tmp_path):
    seed_access_token(sandbox)
    sandbox.set_fault_rate(0.3, statuses=(500, 503, 429), drop_share=0.25, seed=14)
    sandbox.add_fault(
        None, delay=2.5, count=2, after=3, path_prefix="/rest/conversionEvents"
    )  # beyond the read timeout
    lines = with_state_ids(generate_lines(3_000, bad=False, state_every=50))
    gate = DeliveryGate(sandbox, lines)
    config = access_token_config(sandbox, batch_size=250, read_timeout_seconds=1)
    run = run_write(tmp_path, config, catalog(), lines, on_message=gate)
    assert run.code == 0, run.output
    stats = sandbox.stats()
    # The storm really happened: answered or dropped faults, plus the two slow answers (200s that came too late).
    assert stats["faults"] >= 3 and stats["requests"] >= 12 + stats["faults"] + 2, stats
    ids = sandbox.event_ids()
    assert len(set(ids)) == 3_000  # nothing lost; a slow answer may have caused a resend ...
    assert_duplicates_identical(sandbox.events())  # ... and then every duplicate carries the same eventId and content
    assert_states_echoed(run, lines)


def _clock_ahead(days):
    return lambda: time.time() + days * 86400


@pytest.mark.parametrize("indices", [True, False], ids=["indexed-errors", "bisected"])
def test_three_bad_elements_among_5000_are_isolated(tmp_path, indices):
    # The sandbox's clock runs two days ahead, so three records that the connector still accepts
    # (89 days old) are too old for "LinkedIn": refused inside an otherwise valid 5,000-event batch.
    now = dt.datetime.now(dt.timezone.utc)
    lines = list(generate_lines(5_000, bad=False, state_every=1000, now=now))
    old = (now - dt.timedelta(days=89)).isoformat()
    bad_positions = {10, 2500, 4990}
    record_index = -1
    for position, line in enumerate(lines):
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            record_index += 1
            if record_index in bad_positions:
                message["record"]["data"]["event_time"] = old
                lines[position] = orjson.dumps(message)
    lines = with_state_ids(lines)
    with Sandbox(clock=_clock_ahead(2)) as sandbox:
        seed_access_token(sandbox)
        sandbox.set_error_indices(indices)
        run = run_write(tmp_path, access_token_config(sandbox), catalog(), lines)
        assert run.code == 0, run.output
        assert len(set(sandbox.event_ids())) == 4_997
        requests = sandbox.stats()["by_path"]["/rest/conversionEvents"]
    if indices:
        assert requests == 2
    else:
        assert requests <= 1 + 3 * 2 * 13  # ~2·log2(5000) extra requests per bad element
    summary = next(line for line in run.logs if line.startswith("Sync summary"))
    assert "5,000 records read, 4,997 sent, 3 rejected" in summary
    assert any("linkedin_rejected: e.g. LinkedIn refused the event:" in line and "90 days" in line for line in run.logs)
    assert len(run.states) == 5


def test_401_twice_is_a_config_error_with_the_last_safe_state(sandbox, tmp_path):
    seed_access_token(sandbox)
    sandbox.set_token_state(TOKEN, "revoked")
    lines = with_state_ids(generate_lines(200, bad=False, state_every=50))
    run = run_write(tmp_path, access_token_config(sandbox), catalog(), lines)
    assert run.code == 1
    assert run.states == []
    (trace,) = run.traces
    assert trace["error"]["failure_type"] == "config_error"
    message = trace["error"]["message"]
    assert "LinkedIn rejected the access token: it has been revoked (REVOKED_ACCESS_TOKEN)" in message
    assert "Signals manager → Direct API" in message
    assert TOKEN not in run.output


def test_expired_token_mid_sync_is_refreshed_in_token_id_mode(sandbox, tmp_path):
    token_id = "590708082141560832"
    sandbox.add_cdp_token_id(token_id, {ACCOUNT: "ACCOUNT_MANAGER"})
    for event, rule_id in {"LEAD": 11, "PURCHASE": 12, "SIGN_UP": 13}.items():
        sandbox.add_rule(ACCOUNT, rule_id=rule_id, type=event)
    config = access_token_config(
        sandbox,
        credentials={
            "auth_type": "token_id",
            "token_id": token_id,
            "token_service_url": f"{sandbox.url}/cdp/v1/token",
            "conversion_mapping": "LEAD=11,PURCHASE=12,SIGN_UP=13",
        },
        batch_size=100,
        requests_per_minute=10,
        throttle_window_seconds=0.5,  # paces the sync so the token expires while batches remain
    )
    lines = with_state_ids(generate_lines(1_000, bad=False, state_every=100))
    expired = []

    def expire_after_first_state(message):
        if message["type"] == "STATE" and not expired:
            expired.append(sandbox.invalidate_tokens("expired"))

    run = run_write(tmp_path, config, catalog(), lines, on_message=expire_after_first_state)
    assert run.code == 0, run.output
    assert expired == [1]
    assert len(set(sandbox.event_ids())) == 1_000
    assert sandbox.stats()["by_status"].get(401, 0) >= 1  # the connector really met the expiry
    assert len(run.states) == 10


def test_a_rule_of_an_account_the_token_cannot_reach_is_named_before_anything_is_sent(sandbox, tmp_path):
    seed_access_token(sandbox)
    sandbox.add_rule(598765432, rule_id=77, type="LEAD")  # a rule in an account the token cannot reach
    config = access_token_config(sandbox)
    config["credentials"]["conversion_mapping"] = "LEAD=77,PURCHASE=12,SIGN_UP=13"
    run = run_write(tmp_path, config, catalog(), with_state_ids(generate_lines(50, bad=False, state_every=10)))
    assert run.code == 1 and run.states == [] and sandbox.event_ids() == []
    (trace,) = run.traces
    assert trace["error"]["failure_type"] == "config_error"
    assert trace["error"]["message"].startswith(
        f"Event LEAD: conversion rule 77 does not exist in ad account {ACCOUNT}; check the ID in Conversion mapping"
    )  # not a 403 blamed on the token's permissions, which LinkedIn answers for the batch


def test_426_names_the_sunset_version(sandbox, tmp_path):
    seed_access_token(sandbox)
    config = access_token_config(sandbox, api_version="202511")
    run = run_write(tmp_path, config, catalog(), with_state_ids(generate_lines(20, bad=False, state_every=10)))
    assert run.code == 1
    (trace,) = run.traces
    assert trace["error"]["failure_type"] == "config_error"
    assert "API version 202511" in trace["error"]["message"] and "api_version" in trace["error"]["message"]


def test_daily_budget_stops_cleanly_after_the_last_safe_state(sandbox, tmp_path):
    seed_access_token(sandbox)
    # the sync's first two requests read the account and its rules; three batches of 10 fit in the rest
    config = access_token_config(sandbox, batch_size=10, requests_per_day=5)
    lines = with_state_ids(generate_lines(100, bad=False, state_every=10))
    run = run_write(tmp_path, config, catalog(), lines)
    assert run.code == 1
    assert len(set(sandbox.event_ids())) == 30
    assert [s["id"] for s in run.states] == [1, 2, 3]
    (trace,) = run.traces
    assert trace["error"]["failure_type"] == "transient_error"
    assert "daily request budget (5 requests) is spent; it resets at" in trace["error"]["message"]
    summary = next(line for line in run.logs if line.startswith("Sync summary"))
    read = int(summary.split(" records read")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert f"{read:,} records read, 30 sent, 0 rejected, {read - 30:,} not sent because the sync stopped" in summary


def test_the_request_budget_means_zero_429s(tmp_path):
    # The sandbox enforces 8 requests per second per token; the connector has 40 batches to send.
    with Sandbox(requests_per_minute=8, window_seconds=1.0) as sandbox:
        seed_access_token(sandbox)
        config = access_token_config(sandbox, batch_size=25, requests_per_minute=8, throttle_window_seconds=1.0)
        lines = with_state_ids(generate_lines(1_000, bad=False, state_every=100))
        run = run_write(tmp_path, config, catalog(), lines)
        assert run.code == 0, run.output
        stats = sandbox.stats()
    assert stats["throttled"] == 0 and stats["by_status"].get(429, 0) == 0
    assert stats["batch_sizes"] == [25] * 40
    assert len(run.states) == 10


def test_dry_run_sends_nothing_and_echoes_states(sandbox, tmp_path):
    seed_access_token(sandbox)
    lines = with_state_ids(generate_lines(300, state_every=100))
    run = run_write(tmp_path, access_token_config(sandbox, dry_run=True), catalog(), lines)
    assert run.code == 0, run.output
    assert sandbox.stats()["requests"] == 0
    assert_states_echoed(run, lines)
    previews = [line for line in run.logs if line.startswith("Dry run, would send (personal data masked): ")]
    assert len(previews) == 3
    event = orjson.loads(previews[0].removeprefix("Dry run, would send (personal data masked): "))
    assert event["conversion"].startswith("urn:lla:llaPartnerConversion:")
    assert any("would be sent" in line for line in run.logs)


def test_two_token_id_writes_create_the_two_rules_once_and_reuse_them(sandbox, tmp_path):
    token_id = "590708082141560832"
    sandbox.add_account(ACCOUNT)
    sandbox.add_cdp_token_id(token_id, {ACCOUNT: "ACCOUNT_MANAGER"})
    config = access_token_config(
        sandbox,
        credentials={"auth_type": "token_id", "token_id": token_id, "token_service_url": f"{sandbox.url}/cdp/v1/token"},
        conversion_events=["LEAD", "PURCHASE"],
        stream_events="leads=LEAD,purchases=PURCHASE",
    )
    lines = with_state_ids(generate_lines(400, bad=False, state_every=100))
    received = []
    for attempt in (1, 2):
        run = run_write(tmp_path, config, catalog(["leads", "purchases"]), lines)
        assert run.code == 0, run.output
        rules = sandbox.rules(ACCOUNT)
        assert sorted((rule["name"], rule["type"], rule["conversionMethod"]) for rule in rules) == [
            ("Airbyte CAPI LEAD", "LEAD", "CONVERSIONS_API"),
            ("Airbyte CAPI PURCHASE", "PURCHASE", "CONVERSIONS_API"),
        ], f"run {attempt}"
        received.append({event["_rule_id"] for event in sandbox.events()})
        summary = next(line for line in run.logs if line.startswith("Sync summary"))
        signups = sum(1 for line in lines if b'"stream":"signups"' in line)
        assert f"400 records read, {400 - signups:,} sent, 0 rejected" in summary
    assert received[0] == received[1] == {rule["id"] for rule in sandbox.rules(ACCOUNT)}
    assert sandbox.stats()["by_path"].get("/rest/conversions", 0) >= 2  # listed on each run, created on the first
