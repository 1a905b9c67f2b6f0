"""`check` step by step against precise mocks: the first problem wins, as one sentence without a secret."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import requests
from airbyte_cdk.models import Status

from destination_linkedin_capi.commands import check as check_module
from destination_linkedin_capi.commands.check import refresh_token_warning, run_check
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.failures import version_warning
from unit_tests.linkedin_mocks import (
    ACCESS_TOKEN,
    ACCOUNT,
    API,
    CLIENT_SECRET,
    MINTED,
    NOW,
    OAUTH,
    REFRESH_TOKEN,
    SERVICE_KEY,
    TOKEN_ID,
    TOKEN_SERVICE,
    FakeClock,
    config,
    linkedin_headers,
    mock_account_users,
    mock_rules,
    mock_token_service,
    rule,
)

logger = logging.getLogger("airbyte")
SECRETS = (ACCESS_TOKEN, SERVICE_KEY, CLIENT_SECRET, REFRESH_TOKEN, MINTED)
OAUTH_URL = f"{OAUTH}/oauth/v2/accessToken"


def run(raw, clock=None):
    clock = clock or FakeClock()
    status = run_check(raw, logger, clock=clock, sleep=clock.sleep)
    for secret in SECRETS:
        assert secret not in status.message
    return status


def failed(raw, *fragments, clock=None):
    status = run(raw, clock)
    assert status.status == Status.FAILED, status.message
    for fragment in fragments:
        assert fragment in status.message, status.message
    return status.message


def access_config(mapping="LEAD=111", **overrides):
    return config("access_token", creds={"conversion_mapping": mapping}, **overrides)


# -- SUCCEEDED in each mode --------------------------------------------------------------------------------


def test_access_token_mode_succeeds_and_lists_event_to_rule(m, caplog):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "CRM leads")])
    with caplog.at_level(logging.INFO, logger="airbyte"):
        status = run(access_config())
    assert status.status == Status.SUCCEEDED
    assert status.message == f"Connected to ad account {ACCOUNT} as ACCOUNT_MANAGER. Events: LEAD → rule 111."
    assert "event → conversion rule: LEAD → rule 111" in caplog.text


def test_token_id_mode_succeeds_and_creates_nothing(m):
    mock_token_service(m)
    mock_account_users(m, MINTED, {ACCOUNT: "CAMPAIGN_MANAGER"})
    mock_rules(m, MINTED, [rule(7, "Airbyte CAPI PURCHASE", "PURCHASE")])
    status = run(config("token_id", conversion_events=["LEAD", "PURCHASE"]))
    assert status.status == Status.SUCCEEDED, status.message
    assert "as CAMPAIGN_MANAGER" in status.message
    assert "LEAD → new rule 'Airbyte CAPI LEAD', created at the first sync" in status.message
    assert "PURCHASE → rule 7 ('Airbyte CAPI PURCHASE')" in status.message
    assert all(request.method == "GET" for request in m.request_history[1:])


def test_oauth_mode_succeeds_with_a_mapped_rule(m):
    m.post(OAUTH_URL, json={"access_token": MINTED, "expires_in": 5_184_000, "scope": "r_ads,rw_conversions"})
    mock_account_users(m, MINTED)
    mock_rules(m, MINTED, [rule(111, "CRM leads")])
    status = run(config("oauth2", creds={"conversion_mapping": "LEAD=111"}))
    assert status.status == Status.SUCCEEDED, status.message
    assert "LEAD → rule 111 (mapped)" in status.message


def test_dry_run_still_verifies_the_credentials(m):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "CRM leads")])
    status = run(access_config(dry_run=True))
    assert status.status == Status.SUCCEEDED, status.message
    assert status.message == (
        f"Connected to ad account {ACCOUNT} as ACCOUNT_MANAGER. Events: LEAD → rule 111." + check_module.DRY_RUN_NOTE
    )
    assert m.call_count == 2 and all(request.method == "GET" for request in m.request_history)


def test_dry_run_with_a_bad_token_fails(m):
    m.get(f"{API}/rest/adAccountUsers", status_code=401, json={"serviceErrorCode": 65600, "status": 401})
    status = run(access_config(dry_run=True))
    assert status.status == Status.FAILED
    assert "Dry run" not in status.message


# -- step 1 and 2: config and token -------------------------------------------------------------------------


def test_malformed_mapping(m):
    failed(access_config("LEAD=111,PURCHASE"), "'PURCHASE'", "EVENT=CONVERSION_ID")
    assert m.call_count == 0


def test_unknown_token_id(m):
    m.post(TOKEN_SERVICE, status_code=404, json={"error": "unknown_token_id"})
    message = failed(config("token_id"), "does not know this Token ID")
    assert TOKEN_ID not in message


def test_token_service_down(m):
    m.post(TOKEN_SERVICE, exc=requests.ConnectionError)
    clock = FakeClock()
    failed(config("token_id"), "token service at cdp.example.test is not answering", clock=clock)
    assert sum(clock.sleeps) <= check_module.CHECK_RETRY_SECONDS  # check never waits a sync's 600 s


def test_a_hanging_token_service_fails_check_within_the_check_deadline(m):
    """The service accepts the connection and never answers: each attempt costs its whole read timeout (60 s by
    default), so only timeouts cut to the time left keep `check` within its 20 s."""
    clock = FakeClock()
    timeouts = []

    def hang(request, context):
        timeouts.append(request.timeout)
        clock.now += request.timeout[1]  # waited for the answer until the read timeout
        raise requests.exceptions.ReadTimeout("read timed out")

    m.post(TOKEN_SERVICE, json=hang)
    started = clock.now
    failed(config("token_id"), "token service at cdp.example.test is not answering", clock=clock)
    assert clock.now - started <= check_module.CHECK_RETRY_SECONDS
    assert timeouts[0] == (10.0, check_module.CHECK_RETRY_SECONDS)


def test_invalid_grant(m):
    m.post(OAUTH_URL, status_code=400, json={"error": "invalid_grant"})
    failed(config("oauth2"), "invalid_grant", "Re-authorise", "365 days")


@pytest.mark.parametrize(
    "code, phrase",
    [
        ("INVALID_ACCESS_TOKEN", "is not valid"),
        ("REVOKED_ACCESS_TOKEN", "has been revoked"),
        ("EXPIRED_ACCESS_TOKEN", "has expired"),
        (None, "is invalid, revoked or expired"),
    ],
)
def test_rejected_access_token(m, code, phrase):
    mock_account_users(m, ACCESS_TOKEN, status_code=401, json={"status": 401, "code": code, "message": "x"})
    failed(access_config(), f"LinkedIn rejected the access token: it {phrase}", "Direct API")


def test_rejected_token_id_token_after_renewal_points_at_the_cdp(m):
    mock_token_service(m)  # the service keeps handing out the same dead token
    mock_account_users(m, MINTED, status_code=401, json={"status": 401, "code": "REVOKED_ACCESS_TOKEN"})
    clock = FakeClock()
    failed(config("token_id"), "issued for this token ID: it has been revoked", "your CDP", clock=clock)
    assert clock.sleeps == [5.0]  # one propagation wait, then it was final


# -- step 3: account and role --------------------------------------------------------------------------------


def test_account_not_reachable(m):
    mock_account_users(m, ACCESS_TOKEN, {999: "ACCOUNT_MANAGER"})
    failed(access_config(), f"Ad account {ACCOUNT} is not among the 1 ad accounts this token can reach")


def test_viewer_role(m):
    mock_account_users(m, ACCESS_TOKEN, {ACCOUNT: "VIEWER"})
    failed(access_config(), f"has the VIEWER role on ad account {ACCOUNT}", "Manage access")


def test_sunset_version_is_named(m):
    mock_account_users(m, ACCESS_TOKEN, status_code=426, json={"status": 426, "code": "NONEXISTENT_VERSION"})
    failed(access_config(), "no longer serves API version 202607 (HTTP 426, version sunset)", "upgrade the connector")


def test_linkedin_failing_for_the_whole_check_says_nothing_of_syncs_or_checkpoints(m):
    mock_account_users(m, ACCESS_TOKEN, status_code=503, json={"status": 503})
    message = failed(access_config(), "LinkedIn kept failing for ", "on GET /rest/adAccountUsers")
    assert "checkpoint" not in message and "sync" not in message


def test_forbidden_text_from_linkedin_is_secret_filtered(m):
    mock_account_users(
        m, ACCESS_TOKEN, status_code=403, json={"status": 403, "message": f"token {ACCESS_TOKEN} lacks r_ads"}
    )
    message = failed(
        access_config(), "refused to list the ad accounts this token can reach (HTTP 403: token **** lacks"
    )
    assert ACCESS_TOKEN not in message


# -- step 4: mapped rules -------------------------------------------------------------------------------------


def test_rule_missing(m):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(5, "other")])
    failed(access_config(), "Event LEAD: conversion rule 111 does not exist in ad account", "Conversion mapping")


def test_rule_in_another_reachable_account_names_that_account(m):
    mock_account_users(m, ACCESS_TOKEN, {ACCOUNT: "ACCOUNT_MANAGER", 222: "VIEWER", 333: "ACCOUNT_MANAGER"})
    mock_rules(m, ACCESS_TOKEN, [])
    m.get(
        f"{API}/rest/conversions/111?account=urn%3Ali%3AsponsoredAccount%3A222",
        complete_qs=True,
        request_headers=linkedin_headers(ACCESS_TOKEN),
        status_code=403,
        json={"status": 403},
    )
    m.get(
        f"{API}/rest/conversions/111?account=urn%3Ali%3AsponsoredAccount%3A333",
        complete_qs=True,
        request_headers=linkedin_headers(ACCESS_TOKEN),
        json=rule(111, "theirs", account="urn:li:sponsoredAccount:333"),
    )
    failed(access_config(), f"Event LEAD: conversion rule 111 belongs to ad account 333, not {ACCOUNT}")


def test_rule_in_an_unreachable_account_reads_as_missing(m):
    mock_account_users(m, ACCESS_TOKEN, {ACCOUNT: "ACCOUNT_MANAGER", 222: "ACCOUNT_MANAGER"})
    mock_rules(m, ACCESS_TOKEN, [])
    m.get(f"{API}/rest/conversions/111", status_code=404, json={"status": 404})
    failed(access_config(), "conversion rule 111 does not exist in ad account")


def test_rule_disabled(m):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "Old leads", enabled=False)])
    failed(access_config(), "Event LEAD: conversion rule 111 ('Old leads') is disabled")


def test_non_capi_rule(m):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "Thank-you page", conversionMethod="INSIGHT_TAG_URL_MATCH_RULES")])
    failed(access_config(), "Event LEAD: conversion rule 111 ('Thank-you page') is an INSIGHT_TAG_URL_MATCH_RULES rule")


def test_the_first_bad_mapped_event_is_named(m):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "ok"), rule(222, "off", enabled=False)])
    failed(access_config("LEAD=111,demo_request=222"), "Event demo_request: conversion rule 222")


# -- step 5: rules that can be had ----------------------------------------------------------------------------


def test_our_disabled_rule_blocks(m):
    mock_token_service(m)
    mock_account_users(m, MINTED)
    mock_rules(m, MINTED, [rule(8, "Airbyte CAPI LEAD", enabled=False)])
    failed(config("token_id"), "rule 8 'Airbyte CAPI LEAD' for event LEAD is disabled")


def test_cannot_create_without_rw_conversions(m):
    mock_token_service(m, scope="r_ads")
    mock_account_users(m, MINTED)
    mock_rules(m, MINTED, [])
    failed(config("token_id"), "LEAD has no conversion rule", "lacks the rw_conversions permission")


def test_listed_campaign_missing(m):
    mock_token_service(m)
    mock_account_users(m, MINTED)
    mock_rules(m, MINTED, [])
    m.get(
        f"{API}/rest/adAccounts/{ACCOUNT}/adCampaigns?q=search&start=0&count=100",
        complete_qs=True,
        request_headers=linkedin_headers(MINTED),
        json={"elements": [{"id": 1}]},
    )
    failed(config("token_id", campaign_association="listed", campaign_ids=["1", "2"]), "campaign 2 not found")


def test_all_active_campaigns_are_counted(m):
    mock_token_service(m)
    mock_account_users(m, MINTED)
    mock_rules(m, MINTED, [])
    m.get(f"{API}/rest/adAccounts/{ACCOUNT}/adCampaigns", json={"elements": [{"id": 1}, {"id": 2}]})
    status = run(config("token_id", campaign_association="all_active"))
    assert "linked to the account's 2 active campaigns" in status.message


# -- warnings, robustness -------------------------------------------------------------------------------------


def test_version_warning_window():
    sunset = dt.date(2027, 7, 15)  # 202607
    assert version_warning("202607", sunset - dt.timedelta(days=61)) is None
    assert "is sunset on 2027-07-15, in 60 days" in version_warning("202607", sunset - dt.timedelta(days=60))
    assert "was sunset on 2027-07-15" in version_warning("202607", sunset)


def test_a_version_newer_than_the_known_ones_gets_one_warning_whatever_the_date():
    for today in (dt.date(2026, 12, 7), dt.date(2099, 1, 1)):
        warning = version_warning("209912", today)
        assert warning is not None
        assert "LinkedIn API version 209912 is not known to this connector version; sunset date unknown." in warning
    assert version_warning("202607", dt.date(2026, 12, 7)) is None  # known, sunset far off


def test_check_logs_and_reports_the_version_warning(m, caplog):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "CRM leads")])
    clock = FakeClock(dt.datetime(2027, 6, 1, tzinfo=dt.timezone.utc).timestamp())
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        status = run(access_config(), clock)
    warning = "LinkedIn API version 202607 is sunset on 2027-07-15, in 44 days"
    assert warning in caplog.text
    assert status.status == Status.SUCCEEDED
    assert status.message.startswith(f"Connected to ad account {ACCOUNT} as ACCOUNT_MANAGER. Events: LEAD → rule 111.")
    assert f" Warning: {warning}; LinkedIn then refuses every call (HTTP 426)." in status.message


def test_check_logs_an_unknown_config_key_once_and_still_succeeds(m, caplog):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "CRM leads")])
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        status = run(access_config(dry_runn=True))
    warning = "Unknown config key ignored: 'dry_runn' (did you mean 'dry_run'?)."
    assert status.status == Status.SUCCEEDED, status.message
    assert caplog.text.count(warning) == 1
    assert f"Warning: {warning}" in status.message


def test_the_refresh_token_warning_reaches_the_succeeded_message(m, caplog):
    m.post(OAUTH_URL, json={"access_token": MINTED, "refresh_token_expires_in": 86400 * 29, "scope": "r_ads"})
    mock_account_users(m, MINTED)
    mock_rules(m, MINTED, [rule(111, "CRM leads")])
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        status = run(config("oauth2", creds={"conversion_mapping": "LEAD=111"}))
    assert status.status == Status.SUCCEEDED, status.message
    assert "LEAD → rule 111 (mapped). Warning: The OAuth refresh token expires on 2027-02-13 (in 29 days)" in (
        status.message
    )
    assert caplog.text.count("The OAuth refresh token expires on 2027-02-13") == 1


def test_refresh_token_warning_in_check(m, caplog):
    m.post(OAUTH_URL, json={"access_token": MINTED, "refresh_token_expires_in": 86400 * 29})
    mock_account_users(m, MINTED, {})
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        failed(config("oauth2"), "is not among the 0 ad accounts")
    assert "The OAuth refresh token expires on 2027-02-13 (in 29 days)" in caplog.text


def test_refresh_token_warning_thresholds():
    parsed = ConnectorConfig.parse(config("token_id"))

    class Tokens:
        refresh_token_expires_at = NOW + 86400 * 31

    assert refresh_token_warning(parsed, Tokens, NOW) is None
    Tokens.refresh_token_expires_at = NOW + 86400 * 30
    assert "re-authorise LinkedIn in your CDP" in refresh_token_warning(parsed, Tokens, NOW)


def test_a_bug_becomes_failed_not_an_exception(monkeypatch):
    def boom(raw):
        raise RuntimeError(f"leak {ACCESS_TOKEN}")

    monkeypatch.setattr(ConnectorConfig, "parse", staticmethod(boom))
    message = failed(access_config(), "Unexpected error while checking the connection (RuntimeError).")
    assert "leak" not in message
