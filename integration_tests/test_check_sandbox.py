"""`python main.py check` against the sandbox: SUCCEEDED per auth mode, one specific sentence per failure.

Every run asserts one CONNECTION_STATUS, exit code 0, no traceback, and that no secret — configured or
minted at run time — appears anywhere in stdout or stderr.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from devtools.sample_data import ACCOUNT
from unit_tests.conftest import run_cli

OTHER_ACCOUNT = 598765432
ACCESS_TOKEN = "AQXsandbox-access-token-SECRET-a1"
SERVICE_KEY = "svc-key-SECRET-b2"
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "client-secret-SECRET-c3"
REFRESH_TOKEN = "AQRsandbox-refresh-SECRET-d4"
TOKEN_ID = "590708082141560832"
SECRETS = (ACCESS_TOKEN, SERVICE_KEY, CLIENT_SECRET, REFRESH_TOKEN)
MINTED = re.compile(r"\b(?:cdp|oauth)-[A-Za-z0-9_-]{16,}")  # the sandbox's minted token format


def check(tmp_path: Path, config: dict) -> dict:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code, messages, stdout, stderr = run_cli(["check", "--config", str(path)])
    output = stdout + stderr
    assert code == 0, output
    assert "Traceback" not in output
    for secret in SECRETS:
        assert secret not in output
    assert not MINTED.search(output), "a minted access token was printed"
    statuses = [message["connectionStatus"] for message in messages if message["type"] == "CONNECTION_STATUS"]
    assert len(statuses) == 1, output
    return statuses[0]


def config(sandbox, credentials: dict, **overrides) -> dict:
    return {
        "account_id": str(ACCOUNT),
        "credentials": credentials,
        "api_base_url": sandbox.url,
        "oauth_base_url": sandbox.url,
        "max_retry_seconds": 2,
        **overrides,
    }


def access(sandbox, mapping: str = "LEAD={rule}", role: str = "ACCOUNT_MANAGER", state: str = "valid", **rule_args):
    """Access-token mode with one seeded rule (mapped as LEAD unless `mapping` says otherwise)."""
    sandbox.add_token(ACCESS_TOKEN, {ACCOUNT: role, OTHER_ACCOUNT: "ACCOUNT_MANAGER"}, state=state)
    rule = sandbox.add_rule(rule_args.pop("account", ACCOUNT), name="CRM leads", **rule_args)
    creds = {"auth_type": "access_token", "access_token": ACCESS_TOKEN, "conversion_mapping": mapping.format(rule=rule)}
    return config(sandbox, creds), rule


def token_id(sandbox, **overrides) -> dict:
    sandbox.add_account(ACCOUNT)
    sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "CAMPAIGN_MANAGER"}, service_key=SERVICE_KEY)
    creds = {
        "auth_type": "token_id",
        "token_id": TOKEN_ID,
        "token_service_url": f"{sandbox.url}/cdp/v1/token",
        "token_service_key": SERVICE_KEY,
    }
    return config(sandbox, creds, conversion_events=["LEAD", "PURCHASE"], **overrides)


def oauth(sandbox, state: str = "valid") -> dict:
    sandbox.add_account(ACCOUNT)
    sandbox.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    sandbox.add_refresh_token(CLIENT_ID, REFRESH_TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"}, state=state)
    creds = {
        "auth_type": "oauth2",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    return config(sandbox, creds, conversion_events=["SIGN_UP"])


def assert_failed(status: dict, *fragments: str) -> None:
    assert status["status"] == "FAILED", status["message"]
    for fragment in fragments:
        assert fragment in status["message"], status["message"]


# -- SUCCEEDED -----------------------------------------------------------------------------------------------


def test_access_token_mode_succeeds(sandbox, tmp_path):
    cfg, rule = access(sandbox)
    status = check(tmp_path, cfg)
    assert status == {
        "status": "SUCCEEDED",
        "message": f"Connected to ad account {ACCOUNT} as ACCOUNT_MANAGER. Events: LEAD → rule {rule}.",
    }


def test_token_id_mode_succeeds_and_creates_nothing(sandbox, tmp_path):
    cfg = token_id(sandbox)
    purchase = sandbox.add_rule(ACCOUNT, name="Airbyte CAPI PURCHASE", type="PURCHASE")
    status = check(tmp_path, cfg)
    assert status["status"] == "SUCCEEDED", status["message"]
    assert "as CAMPAIGN_MANAGER" in status["message"]
    assert "LEAD → new rule 'Airbyte CAPI LEAD', created at the first sync" in status["message"]
    assert f"PURCHASE → rule {purchase} ('Airbyte CAPI PURCHASE')" in status["message"]
    assert [rule["id"] for rule in sandbox.rules(ACCOUNT)] == [purchase]


def test_oauth_mode_succeeds(sandbox, tmp_path):
    status = check(tmp_path, oauth(sandbox))
    assert status["status"] == "SUCCEEDED", status["message"]
    assert "SIGN_UP → new rule 'Airbyte CAPI SIGN_UP'" in status["message"]


# -- FAILED, one sentence each -------------------------------------------------------------------------------


def test_malformed_mapping(sandbox, tmp_path):
    cfg, _ = access(sandbox, mapping="LEAD={rule},PURCHASE")
    assert_failed(check(tmp_path, cfg), "Conversion mapping entry 'PURCHASE' has no '='", "EVENT=CONVERSION_ID")


def test_unknown_token_id(sandbox, tmp_path):
    cfg = token_id(sandbox)
    cfg["credentials"]["token_id"] = "123"
    assert_failed(check(tmp_path, cfg), "The token service does not know this Token ID (unknown_token_id)")


def test_wrong_service_key(sandbox, tmp_path):
    cfg = token_id(sandbox)
    cfg["credentials"]["token_service_key"] = "wrong-key-SECRET"
    status = check(tmp_path, cfg)
    assert_failed(status, "refused the Token service key (invalid_service_key)")
    assert "wrong-key-SECRET" not in status["message"]


def test_token_service_answering_503(sandbox, tmp_path):
    cfg = token_id(sandbox)
    sandbox.add_fault(503, count=100, path_prefix="/cdp/v1/token")
    status = check(tmp_path, cfg)
    assert_failed(status, "The token service at 127.0.0.1:", "is not answering (HTTP 503, ")
    # Full jitter makes the count vary, but within the 2 s limit there is always a retry (the first pause is
    # at most 2 s).
    attempts = int(re.search(r"is not answering \(HTTP 503, (\d+) attempts\)", status["message"]).group(1))
    assert attempts >= 2


def test_token_service_unreachable(sandbox, tmp_path):
    cfg = token_id(sandbox, max_retry_seconds=0)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg["credentials"]["token_service_url"] = f"http://127.0.0.1:{port}/cdp/v1/token"
    assert_failed(check(tmp_path, cfg), f"The token service at 127.0.0.1:{port} is not answering (no answer")


@pytest.mark.parametrize(
    "token_state, phrase",
    [("revoked", "it has been revoked (REVOKED_ACCESS_TOKEN)"), ("expired", "it has expired (EXPIRED_ACCESS_TOKEN)")],
)
def test_revoked_or_expired_access_token(sandbox, tmp_path, token_state, phrase):
    cfg, _ = access(sandbox, state=token_state)
    assert_failed(check(tmp_path, cfg), f"LinkedIn rejected the access token: {phrase}", "Direct API")


def test_invalid_access_token(sandbox, tmp_path):
    cfg, _ = access(sandbox)
    cfg["credentials"]["access_token"] = "not-a-known-token-SECRET"
    status = check(tmp_path, cfg)
    assert_failed(status, "LinkedIn rejected the access token: it is not valid (INVALID_ACCESS_TOKEN)")
    assert "not-a-known-token-SECRET" not in status["message"]


@pytest.mark.parametrize("grant_state", ["revoked", "expired"])
def test_invalid_grant(sandbox, tmp_path, grant_state):
    assert_failed(
        check(tmp_path, oauth(sandbox, state=grant_state)),
        "LinkedIn refused the refresh token (invalid_grant)",
        "refresh tokens last 365 days",
    )


def test_wrong_client_secret(sandbox, tmp_path):
    cfg = oauth(sandbox)
    cfg["credentials"]["client_secret"] = "wrong-secret-SECRET"
    assert_failed(check(tmp_path, cfg), "LinkedIn refused the client ID or client secret (invalid_client)")


def test_account_not_reachable(sandbox, tmp_path):
    cfg, _ = access(sandbox)
    cfg["account_id"] = "500000001"
    assert_failed(check(tmp_path, cfg), "Ad account 500000001 is not among the 2 ad accounts this token can reach")


def test_viewer_role(sandbox, tmp_path):
    cfg, _ = access(sandbox, role="VIEWER")
    assert_failed(check(tmp_path, cfg), f"has the VIEWER role on ad account {ACCOUNT}")


def test_rule_missing(sandbox, tmp_path):
    cfg, _ = access(sandbox, mapping="LEAD=4444")
    assert_failed(check(tmp_path, cfg), f"Event LEAD: conversion rule 4444 does not exist in ad account {ACCOUNT}")


def test_rule_disabled(sandbox, tmp_path):
    cfg, rule = access(sandbox, enabled=False)
    assert_failed(check(tmp_path, cfg), f"Event LEAD: conversion rule {rule} ('CRM leads') is disabled")


def test_non_capi_rule(sandbox, tmp_path):
    cfg, rule = access(sandbox, conversion_method="INSIGHT_TAG_URL_MATCH_RULES")
    assert_failed(
        check(tmp_path, cfg), f"Event LEAD: conversion rule {rule} ('CRM leads') is an INSIGHT_TAG_URL_MATCH_RULES rule"
    )


def test_rule_in_another_account(sandbox, tmp_path):
    cfg, rule = access(sandbox, account=OTHER_ACCOUNT)
    assert_failed(
        check(tmp_path, cfg), f"Event LEAD: conversion rule {rule} belongs to ad account {OTHER_ACCOUNT}, not {ACCOUNT}"
    )


def test_our_disabled_rule_blocks_creation_of_a_twin(sandbox, tmp_path):
    cfg = token_id(sandbox)
    rule = sandbox.add_rule(ACCOUNT, name="Airbyte CAPI LEAD", type="LEAD", enabled=False)
    assert_failed(check(tmp_path, cfg), f"Conversion rule {rule} 'Airbyte CAPI LEAD' for event LEAD is disabled")


def test_listed_campaign_of_another_account(sandbox, tmp_path):
    cfg = token_id(sandbox, campaign_association="listed", campaign_ids=["7001"])
    sandbox.add_campaign(OTHER_ACCOUNT, campaign_id=7001)
    assert_failed(check(tmp_path, cfg), f"campaign 7001 not found in ad account {ACCOUNT}")


def test_sunset_version(sandbox, tmp_path):
    cfg, _ = access(sandbox)
    cfg["api_version"] = "202508"  # sunset 2026-08-17
    assert_failed(check(tmp_path, cfg), "LinkedIn no longer serves API version 202508 (HTTP 426, version sunset)")
