"""The start of every `write` against the sandbox: the rule preflight (the account and every rule a sync sends to,
as `check` verifies them, in every auth mode) and the streams that can never be routed, both failing the sync as
a config error before anything is sent; the happy paths still send, listing the account's rules once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from devtools.sample_data import ACCOUNT, RULES, catalog, generate_lines
from integration_tests.writing import (
    TOKEN,
    access_token_config,
    seed_access_token,
    seed_rules,
    with_state_ids,
    write_in_process,
)

pytestmark = pytest.mark.timeout(120)
OTHER_ACCOUNT = 598765432
TOKEN_ID = "590708082141560832"
LISTING = "/rest/conversions"
SENDING = "/rest/conversionEvents"


def lines(count: int = 30) -> list[bytes]:
    return with_state_ids(generate_lines(count, bad=False, state_every=10))


def failed(sandbox, tmp_path: Path, config: dict[str, Any], *fragments: str, streams: Any = None) -> str:
    """The sync failed as a config error whose message holds each fragment, with nothing sent and no STATE."""
    run = write_in_process(tmp_path, config, streams or catalog(), lines())
    assert run.error is not None, run.logs
    message = run.error.message
    assert run.error.failure_type.value == "config_error", message
    for fragment in fragments:
        assert fragment in message, message
    assert run.states == []
    assert sandbox.events() == [] and SENDING not in sandbox.stats()["by_path"]
    assert TOKEN not in message
    return message


def token_id_config(sandbox, **overrides: Any) -> dict[str, Any]:
    sandbox.add_account(ACCOUNT)
    sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "CAMPAIGN_MANAGER", OTHER_ACCOUNT: "ACCOUNT_MANAGER"})
    credentials = {"auth_type": "token_id", "token_id": TOKEN_ID, "token_service_url": f"{sandbox.url}/cdp/v1/token"}
    return access_token_config(sandbox, credentials=credentials, conversion_events=list(RULES), **overrides)


# -- the rule preflight fails the sync before anything is sent ---------------------------------------------------


def test_a_disabled_rule_fails_the_sync_before_sending(sandbox, tmp_path):
    sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
    seed_rules(sandbox)
    sandbox.add_rule(ACCOUNT, rule_id=RULES["PURCHASE"], type="PURCHASE", name="CAPI PURCHASE", enabled=False)
    failed(
        sandbox,
        tmp_path,
        access_token_config(sandbox),
        f"Event PURCHASE: conversion rule {RULES['PURCHASE']} ('CAPI PURCHASE') is disabled, so it records nothing",
    )


def test_a_rule_of_another_account_names_that_account(sandbox, tmp_path):
    sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER", OTHER_ACCOUNT: "ACCOUNT_MANAGER"})
    seed_rules(sandbox)
    elsewhere = sandbox.add_rule(OTHER_ACCOUNT, name="Their lead", type="LEAD")
    config = access_token_config(sandbox)
    config["credentials"]["conversion_mapping"] = f"LEAD={elsewhere},PURCHASE=12,SIGN_UP=13"
    failed(
        sandbox,
        tmp_path,
        config,
        f"Event LEAD: conversion rule {elsewhere} belongs to ad account {OTHER_ACCOUNT}, not {ACCOUNT}",
    )


def test_a_mistyped_rule_id_is_named_not_blamed_on_the_token(sandbox, tmp_path):
    seed_access_token(sandbox)
    config = access_token_config(sandbox)
    config["credentials"]["conversion_mapping"] = "LEAD=21,PURCHASE=12,SIGN_UP=13"
    message = failed(
        sandbox, tmp_path, config, f"Event LEAD: conversion rule 21 does not exist in ad account {ACCOUNT}"
    )
    assert "403" not in message and "permission" not in message


def test_an_insight_tag_rule_fails_the_sync(sandbox, tmp_path):
    sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
    seed_rules(sandbox)
    sandbox.add_rule(
        ACCOUNT, rule_id=RULES["LEAD"], name="Tag", conversion_method="INSIGHT_TAG_URL_MATCH_RULES", type="LEAD"
    )
    failed(
        sandbox,
        tmp_path,
        access_token_config(sandbox),
        f"Event LEAD: conversion rule {RULES['LEAD']} ('Tag') is an INSIGHT_TAG_URL_MATCH_RULES rule",
    )


def test_an_account_the_token_cannot_reach_fails_the_sync(sandbox, tmp_path):
    sandbox.add_token(TOKEN, {OTHER_ACCOUNT: "ACCOUNT_MANAGER"})
    seed_rules(sandbox)
    failed(
        sandbox,
        tmp_path,
        access_token_config(sandbox),
        f"Ad account {ACCOUNT} is not among the 1 ad accounts this token can reach",
    )


def test_a_viewer_cannot_sync_in_oauth_mode(sandbox, tmp_path):
    sandbox.add_account(ACCOUNT)
    sandbox.add_oauth_client("app", "app-secret")
    sandbox.add_refresh_token("app", "refresh-1", {ACCOUNT: "VIEWER"})
    credentials = {
        "auth_type": "oauth2",
        "client_id": "app",
        "client_secret": "app-secret",
        "refresh_token": "refresh-1",
    }
    config = access_token_config(sandbox, credentials=credentials, conversion_events=list(RULES))
    failed(sandbox, tmp_path, config, f"has the VIEWER role on ad account {ACCOUNT}, which cannot send conversions")
    assert sandbox.rules(ACCOUNT) == []  # no rule was created either


def test_a_disabled_mapped_rule_stops_a_token_id_sync_before_any_rule_is_created(sandbox, tmp_path):
    config = token_id_config(sandbox)
    disabled = sandbox.add_rule(ACCOUNT, name="Old leads", type="LEAD", enabled=False)
    config["credentials"]["conversion_mapping"] = f"LEAD={disabled}"
    failed(sandbox, tmp_path, config, f"Event LEAD: conversion rule {disabled} ('Old leads') is disabled")
    assert [rule["id"] for rule in sandbox.rules(ACCOUNT)] == [disabled]


def test_a_stream_mapped_to_a_deleted_rule_in_data_activation_fails_the_sync(sandbox, tmp_path):
    seed_access_token(sandbox)
    streams = catalog()
    streams["streams"][0]["destination_object_name"] = "CRM leads (rule 4444)"  # discover's name for a rule
    failed(
        sandbox,
        tmp_path,
        access_token_config(sandbox),
        f"Event CRM leads (rule 4444): conversion rule 4444 does not exist in ad account {ACCOUNT}",
        streams=streams,
    )


# -- the happy paths still send, with one listing of the account's rules ----------------------------------------


def test_access_token_mode_sends_after_one_listing(sandbox, tmp_path):
    seed_access_token(sandbox)
    run = write_in_process(tmp_path, access_token_config(sandbox), catalog(), lines())
    assert run.error is None, run.logs
    assert len(sandbox.event_ids()) == 30
    assert sandbox.stats()["by_path"][LISTING] == 1


def test_token_id_mode_sends_after_one_listing_for_mapped_and_managed_rules(sandbox, tmp_path):
    config = token_id_config(sandbox)
    mapped = sandbox.add_rule(ACCOUNT, name="CRM purchases", type="PURCHASE")
    for event in ("LEAD", "SIGN_UP"):
        sandbox.add_rule(ACCOUNT, name=f"Airbyte CAPI {event}", type=event)
    config["credentials"]["conversion_mapping"] = f"PURCHASE={mapped}"
    run = write_in_process(tmp_path, config, catalog(), lines())
    assert run.error is None, run.logs
    assert len(sandbox.event_ids()) == 30
    assert sandbox.stats()["by_path"][LISTING] == 1  # the preflight's listing also chose the managed rules


def test_a_dry_run_does_not_call_linkedin(sandbox, tmp_path):
    sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
    sandbox.add_rule(ACCOUNT, rule_id=RULES["LEAD"], name="Off", enabled=False)
    run = write_in_process(tmp_path, access_token_config(sandbox, dry_run=True), catalog(), lines())
    assert run.error is None, run.logs
    assert sandbox.stats()["requests"] == 0


# -- streams that can never be routed (a PyAirbyte-shaped catalog) -----------------------------------------------


def pyairbyte_catalog(**properties: dict[str, Any]) -> dict[str, Any]:
    """A configured catalog as PyAirbyte writes it: each stream's JSON schema declares its properties, the
    source's cursor and key, and `sync_id` 1 on every run."""
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "json_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", **schema},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                    "source_defined_cursor": True,
                    "default_cursor_field": ["updated_at"],
                    "source_defined_primary_key": [["id"]],
                    "is_resumable": True,
                },
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
                "cursor_field": ["updated_at"],
                "primary_key": [["id"]],
                "generation_id": 1,
                "minimum_generation_id": 0,
                "sync_id": 1,
            }
            for name, schema in properties.items()
        ]
    }


FIELDS = {"properties": {name: {"type": ["null", "string"]} for name in ("id", "email", "event_time", "updated_at")}}


def record(stream: str, n: int) -> bytes:
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    data = {"id": str(n), "email": f"u{n}@example.com", "event_time": when, "updated_at": when}
    return orjson.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 0}})


def test_a_stream_whose_schema_cannot_name_an_event_fails_the_sync_naming_the_fix(sandbox, tmp_path):
    seed_access_token(sandbox)
    config = access_token_config(sandbox, stream_events="purchase=PURCHASE")  # the stream is `purchases`
    streams = pyairbyte_catalog(purchases=FIELDS, lead=FIELDS)  # `lead` is named like the event LEAD
    run = write_in_process(tmp_path, config, streams, [record("purchases", 1), record("lead", 2)])
    assert run.error is not None and run.error.failure_type.value == "config_error"
    assert run.error.message == (
        "Stream 'purchases' cannot be routed to an event: its schema has no 'event_name' field, it is not in Stream "
        "events, its name is not an event, and more than one event is configured (LEAD, PURCHASE, SIGN_UP); add "
        "'purchases=EVENT' to Stream events, or set Event name field to a field the stream has."
    )
    assert (
        "Stream events names stream 'purchase', which is not in this sync's catalog; check its spelling (the entry "
        "is ignored)."
    ) in run.logs
    assert sandbox.stats()["requests"] == 0  # stopped before even the preflight


def test_streams_that_can_be_routed_are_sent(sandbox, tmp_path):
    seed_access_token(sandbox)
    with_event = {"properties": {**FIELDS["properties"], "Event_Name": {"type": "string"}}}
    config = access_token_config(sandbox, stream_events="purchases=PURCHASE")
    streams = pyairbyte_catalog(purchases=FIELDS, lead=FIELDS, crm=with_event, raw={})
    data = [record(stream, n) for n, stream in enumerate(("purchases", "lead"))]
    run = write_in_process(tmp_path, config, streams, data)
    assert run.error is None, (run.error.internal_message, run.logs)
    assert len(sandbox.event_ids()) == 2
    assert not [line for line in run.logs if "Stream events names" in line]


def test_pyairbyte_runs_with_sync_id_1_keep_their_rejected_rows_apart(sandbox, tmp_path):
    seed_access_token(sandbox)
    folder = tmp_path / "rejected"
    storage = {"storage_type": "Local", "local_path": str(folder)}
    config = access_token_config(sandbox, stream_events="purchases=PURCHASE", object_storage_config=storage)
    bad = orjson.dumps({"type": "RECORD", "record": {"stream": "purchases", "data": {"id": "x"}, "emitted_at": 0}})
    for _ in range(2):
        run = write_in_process(tmp_path, config, pyairbyte_catalog(purchases=FIELDS), [bad])
        assert run.error is None, run.logs
    runs = sorted(path.name for path in folder.iterdir())
    assert len(runs) == 2 and all(name.startswith("1-run-") for name in runs), runs
    rows = [json.loads(line) for path in folder.rglob("*.jsonl") for line in path.read_text().splitlines()]
    assert [row["record"]["id"] for row in rows] == ["x", "x"]
