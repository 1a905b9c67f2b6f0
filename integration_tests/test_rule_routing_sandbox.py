"""Rules against the sandbox: an event sent to several rules, a row naming its own rule, and the rules the connector
created following the configured attribution settings (PARTIAL_UPDATE), while a user's rules are never changed."""

from __future__ import annotations

import datetime as dt
import logging

import orjson
import pytest

from destination_linkedin_capi.commands.check import check_connection
from destination_linkedin_capi.linkedin.rules import resolve_rules
from devtools.sample_data import catalog
from integration_tests.test_rules_sandbox import TOKEN_ID, connect, token_id_setup
from integration_tests.writing import ACCOUNT, TOKEN, access_token_config, parse_summary, write_in_process

pytestmark = pytest.mark.timeout(120)
logger = logging.getLogger("airbyte")
OTHER_ACCOUNT = 512345679


def lead_lines(count: int, **extra: object) -> list[bytes]:
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    records = [
        {"id": n, "email": f"user{n}@example.com", "created_at": now, "event_name": "LEAD", **extra}
        for n in range(count)
    ]
    return [
        orjson.dumps({"type": "RECORD", "record": {"stream": "leads", "data": data, "emitted_at": 0}})
        for data in records
    ] + [orjson.dumps({"type": "STATE", "state": {"type": "LEGACY", "data": {"at": count}}})]


def rows(lines_per_rule: dict[object, int]) -> list[bytes]:
    """`n` lead rows naming each rule (None: naming none)."""
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    out = []
    number = 0
    for rule, count in lines_per_rule.items():
        for _ in range(count):
            data = {"id": number, "email": f"user{number}@example.com", "created_at": now}
            if rule is not None:
                data["conversion_rule_id"] = rule
            out.append(orjson.dumps({"type": "RECORD", "record": {"stream": "leads", "data": data, "emitted_at": 0}}))
            number += 1
    return out


def seed(sandbox) -> dict[str, int]:
    sandbox.add_account(ACCOUNT)
    sandbox.add_account(OTHER_ACCOUNT)
    sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER", OTHER_ACCOUNT: "ACCOUNT_MANAGER"})
    return {
        "main": sandbox.add_rule(ACCOUNT, rule_id=22285180, name="CAPI lead", type="LEAD"),
        "reporting": sandbox.add_rule(ACCOUNT, rule_id=22285190, name="CAPI lead reporting", type="LEAD"),
        "closed": sandbox.add_rule(ACCOUNT, rule_id=22285200, name="CAPI closed won", type="PURCHASE"),
        "disabled": sandbox.add_rule(ACCOUNT, rule_id=22285210, name="Old", type="LEAD", enabled=False),
        "tag": sandbox.add_rule(
            ACCOUNT, rule_id=22285220, name="Tag", type="LEAD", conversion_method="INSIGHT_TAG_URL_MATCH_RULES"
        ),
        "elsewhere": sandbox.add_rule(OTHER_ACCOUNT, rule_id=22285230, name="Other account", type="LEAD"),
    }


def config(sandbox, mapping: str, **overrides: object) -> dict:
    return access_token_config(
        sandbox,
        credentials={"auth_type": "access_token", "access_token": TOKEN, "conversion_mapping": mapping},
        stream_events="leads=LEAD",
        **overrides,
    )


def test_an_event_mapped_to_two_rules_reaches_both_with_one_event_id_and_counts_per_rule(sandbox, tmp_path):
    seed(sandbox)
    lines = lead_lines(10)
    run = write_in_process(tmp_path, config(sandbox, "LEAD=22285180|22285190"), catalog(["leads"]), lines)
    assert run.error is None, run.logs

    by_rule = {rule: sorted(e["eventId"] for e in sandbox.events(rule)) for rule in (22285180, 22285190)}
    assert len(by_rule[22285180]) == 10 and by_rule[22285180] == by_rule[22285190]
    for first, further in zip(sandbox.events(22285180), sandbox.events(22285190), strict=True):
        assert {**first, "conversion": None, "_rule_id": None, "_received_at": None} == {
            **further,
            "conversion": None,
            "_rule_id": None,
            "_received_at": None,
        }
    summary = parse_summary(run.logs)
    assert (summary.read, summary.sent, summary.rejected, summary.unsettled) == (10, 10, 0, 0)
    assert "  LEAD → rule 22285180: 10 sent; rule 22285190: 10 sent" in run.logs
    assert run.states[-1]["state"]["destinationStats"] == {"recordCount": 10.0}


def test_rows_naming_their_rule_go_there_and_unknown_rules_are_rejected_with_the_id(sandbox, tmp_path):
    ids = seed(sandbox)
    lines = rows(
        {
            None: 3,
            ids["reporting"]: 4,
            f"urn:lla:llaPartnerConversion:{ids['closed']}": 2,
            ids["disabled"]: 1,
            ids["tag"]: 1,
            ids["elsewhere"]: 1,
            "99999999": 1,
            "not-a-rule": 1,
        }
    )
    run = write_in_process(tmp_path, config(sandbox, "LEAD=22285180"), catalog(["leads"]), lines)
    assert run.error is None, run.logs

    assert len(sandbox.events(ids["main"])) == 3
    assert len(sandbox.events(ids["reporting"])) == 4
    assert len(sandbox.events(ids["closed"])) == 2
    assert sandbox.stats()["by_path"]["/rest/conversions"] == 1  # one listing of the account's rules, whatever the rows
    summary = parse_summary(run.logs)
    assert (summary.read, summary.sent, summary.rejected) == (14, 9, 5)
    assert summary.streams["leads"].rejected == {"unknown_conversion_rule": 4, "invalid_conversion_rule": 1}
    assert "  LEAD → rule 22285180: 3 sent; rule 22285190: 4 sent; rule 22285200: 2 sent" in run.logs
    example = summary.examples["unknown_conversion_rule"]
    assert example.startswith("Conversion rule 22285210 is disabled;"), example
    assert "enabled Conversions API rules of ad account 512345678" in example


@pytest.mark.parametrize(
    "rule, why",
    [
        (22285210, "is disabled"),
        (22285220, "is an INSIGHT_TAG_URL_MATCH_RULES rule, not a Conversions API rule"),
        (22285230, "is not a rule of this ad account (it does not exist, or belongs to another account)"),
    ],
)
def test_the_rejection_names_the_rule_and_why(sandbox, tmp_path, rule, why):
    seed(sandbox)
    run = write_in_process(tmp_path, config(sandbox, "LEAD=22285180"), catalog(["leads"]), rows({rule: 2}))
    assert parse_summary(run.logs).examples["unknown_conversion_rule"].startswith(f"Conversion rule {rule} {why};")
    assert sandbox.events() == []


def test_a_dry_run_calls_nothing_and_says_what_it_would_do(sandbox, tmp_path):
    seed(sandbox)
    raw = config(sandbox, "LEAD=22285180|22285190", dry_run=True)
    run = write_in_process(tmp_path, raw, catalog(["leads"]), rows({None: 2, 22285200: 3, 99999999: 1}))
    assert run.error is None, run.logs
    assert sandbox.stats()["requests"] == 0
    said = [line for line in run.logs if line.startswith("Dry run: rows naming their own conversion rule")]
    assert len(said) == 1 and "does not check" in said[0]
    assert (
        "  LEAD → rule 22285180: 2 would be sent; rule 22285190: 2 would be sent; rule 22285200: 3 would be sent; "
        "rule 99999999: 1 would be sent"
    ) in run.logs


# --- rules the connector created follow the config; a user's rules never change


def test_a_changed_window_is_applied_to_our_rule_once_and_a_mapped_rule_is_left_alone(sandbox):
    ours = sandbox.add_rule(ACCOUNT, name="Airbyte CAPI LEAD", type="LEAD")
    mine = sandbox.add_rule(ACCOUNT, name="My purchase rule", type="PURCHASE")
    settings = {
        "rule_post_click_window": 90,
        "rule_view_through_window": 30,
        "rule_attribution_type": "LAST_TOUCH_BY_CONVERSION",
    }
    sandbox.add_account(ACCOUNT)
    sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "ACCOUNT_MANAGER"})
    creds = {
        "auth_type": "token_id",
        "token_id": TOKEN_ID,
        "token_service_url": f"{sandbox.url}/cdp/v1/token",
        "conversion_mapping": f"PURCHASE={mine}",
    }
    config, client, _ = connect(sandbox, {"credentials": creds, "conversion_events": ["LEAD", "PURCHASE"], **settings})
    before = {rule["id"]: rule for rule in sandbox.rules(ACCOUNT)}
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        resolve_rules(config, client, logger)
        resolve_rules(config, client, logger)  # nothing left to change: no second update, no second line
    finally:
        logger.removeHandler(handler)

    after = {rule["id"]: rule for rule in sandbox.rules(ACCOUNT)}
    assert (
        after[ours]["postClickAttributionWindowSize"],
        after[ours]["viewThroughAttributionWindowSize"],
        after[ours]["attributionType"],
    ) == (90, 30, "LAST_TOUCH_BY_CONVERSION")
    assert after[mine] == before[mine]
    lines = [r.getMessage() for r in records if "follows the config" in r.getMessage()]
    assert lines == [
        f"Conversion rule {ours} 'Airbyte CAPI LEAD' follows the config now: attribution LAST_TOUCH_BY_CAMPAIGN → "
        "LAST_TOUCH_BY_CONVERSION; click-through window 30 days → 90 days; view-through window 7 days → 30 days."
    ]


def test_a_365_day_window_on_a_type_that_refuses_it_is_lowered_as_at_creation(sandbox):
    ours = sandbox.add_rule(ACCOUNT, name="Airbyte CAPI SIGN_UP", type="SIGN_UP")
    config, client, _ = token_id_setup(sandbox, conversion_events=["SIGN_UP"], rule_post_click_window=365)
    resolve_rules(config, client, logger)
    (rule,) = [rule for rule in sandbox.rules(ACCOUNT) if rule["id"] == ours]
    assert rule["postClickAttributionWindowSize"] == 90


def test_check_warns_when_rules_differ_from_the_config(sandbox):
    ours = sandbox.add_rule(ACCOUNT, name="Airbyte CAPI LEAD", type="LEAD")
    mine = sandbox.add_rule(ACCOUNT, name="My purchase rule", type="PURCHASE")
    sandbox.add_account(ACCOUNT)
    sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "ACCOUNT_MANAGER"})
    raw = {
        "account_id": str(ACCOUNT),
        "api_base_url": sandbox.url,
        "oauth_base_url": sandbox.url,
        "credentials": {
            "auth_type": "token_id",
            "token_id": TOKEN_ID,
            "token_service_url": f"{sandbox.url}/cdp/v1/token",
            "conversion_mapping": f"PURCHASE={mine}",
        },
        "conversion_events": ["LEAD", "PURCHASE"],
        "rule_post_click_window": 90,
    }
    before = sandbox.rules(ACCOUNT)
    ok, message = check_connection(raw, logger)
    assert ok, message
    assert (
        f"Warning: Conversion rule {ours} 'Airbyte CAPI LEAD' (event LEAD) differs from the config "
        "(click-through window 30 days → 90 days); the next sync updates it, as the connector created it."
    ) in message
    assert (
        f"Warning: Conversion rule {mine} 'My purchase rule' (event PURCHASE) differs from the config "
        "(click-through window 30 days → 90 days); the connector never changes a rule it did not create: change it "
        "in Campaign Manager if you want the configured setting."
    ) in message
    assert sandbox.rules(ACCOUNT) == before  # check changes nothing
