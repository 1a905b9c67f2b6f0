"""The access token dies mid-sync (the sandbox revokes or expires every valid token right after the first STATE
is printed), in each auth mode. Token-ID and OAuth refresh mint a new token and finish without loss; a Direct API
access token cannot be renewed, so the sync ends with a config_error TRACE (exit 1) whose last STATE is the last
safe one. No secret, configured or minted, appears in any output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from linkedin_capi_sandbox import Sandbox

from devtools.sample_data import catalog, generate_lines
from integration_tests.writing import (
    ACCOUNT,
    MINTED_TOKEN,
    RULES,
    TOKEN,
    DeliveryGate,
    WriteRun,
    access_token_config,
    assert_duplicates_identical,
    assert_states_echoed,
    expected_state_counts,
    parse_summary,
    run_write,
    sample_event_ids,
    seed_access_token,
    seed_rules,
    with_state_ids,
)

pytestmark = pytest.mark.timeout(120)

RECORDS = 500
MAPPING = ",".join(f"{event}={rule}" for event, rule in RULES.items())
TOKEN_ID = "590708082141560832"
SERVICE_KEY = "cdp-service-key-SECRET"
CLIENT_SECRET = "oauth-client-secret-SECRET"
REFRESH_TOKEN = "oauth-refresh-token-SECRET"
SECRETS = (TOKEN, SERVICE_KEY, CLIENT_SECRET, REFRESH_TOKEN)


def credentials(sandbox: Sandbox, mode: str) -> dict[str, Any]:
    """Seed the sandbox for `mode` and return the connector's credentials block."""
    if mode == "access_token":
        seed_access_token(sandbox)
        return {"auth_type": "access_token", "access_token": TOKEN, "conversion_mapping": MAPPING}
    seed_rules(sandbox)
    if mode == "token_id":
        sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "ACCOUNT_MANAGER"}, service_key=SERVICE_KEY)
        return {
            "auth_type": "token_id",
            "token_id": TOKEN_ID,
            "token_service_url": f"{sandbox.url}/cdp/v1/token",
            "token_service_key": SERVICE_KEY,
            "conversion_mapping": MAPPING,
        }
    sandbox.add_oauth_client("capi-app", CLIENT_SECRET)
    sandbox.add_refresh_token("capi-app", REFRESH_TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
    return {
        "auth_type": "oauth2",
        "client_id": "capi-app",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "conversion_mapping": MAPPING,
    }


def sync_losing_its_token(sandbox: Sandbox, tmp_path: Path, mode: str, state: str) -> tuple[WriteRun, list[bytes]]:
    """Ten 50-event batches at most four requests a second: about two seconds of batches remain when the first
    STATE is printed, so the token dies mid-sync even on a loaded machine."""
    config = access_token_config(
        sandbox,
        credentials=credentials(sandbox, mode),
        batch_size=50,
        requests_per_minute=2,
        throttle_window_seconds=0.5,
    )
    lines = with_state_ids(generate_lines(RECORDS, bad=False, state_every=50))
    gate = DeliveryGate(sandbox, lines)
    invalidated: list[int] = []

    def on_message(message: dict[str, Any]) -> None:
        gate(message)
        if message["type"] == "STATE" and not invalidated:
            invalidated.append(sandbox.invalidate_tokens(state))

    run = run_write(tmp_path, config, catalog(), lines, on_message=on_message)
    assert invalidated == [1], "exactly the one token in use was invalidated, after the first STATE"
    assert sandbox.stats()["by_status"].get(401, 0) >= 1, "the connector never met the dead token"
    output = run.output
    assert not [secret for secret in SECRETS if secret in output]
    assert not MINTED_TOKEN.search(output), "a minted access token was printed"
    return run, lines


@pytest.mark.parametrize("mode", ["token_id", "oauth2"])
def test_a_token_revoked_mid_sync_is_renewed_and_nothing_is_lost(sandbox, tmp_path: Path, mode: str):
    run, lines = sync_losing_its_token(sandbox, tmp_path, mode, "revoked")
    assert run.code == 0, run.output
    assert any("LinkedIn rejected the access token" in line and "a new one" in line for line in run.logs), run.logs
    events = sandbox.events()
    assert {event["eventId"] for event in events} == set(sample_event_ids(lines))
    assert assert_duplicates_identical(events) == 0  # a 401 stores nothing
    assert_states_echoed(run, lines)
    summary = parse_summary(run.logs)
    assert (summary.read, summary.sent, summary.unsettled) == (RECORDS, RECORDS, 0)


@pytest.mark.parametrize("state", ["revoked", "expired"])
def test_a_dead_access_token_ends_with_a_config_error_after_the_last_safe_state(sandbox, tmp_path: Path, state: str):
    run, lines = sync_losing_its_token(sandbox, tmp_path, "access_token", state)
    assert run.code == 1
    (trace,) = run.traces
    assert trace["error"]["failure_type"] == "config_error"
    problem, code = (
        ("has been revoked", "REVOKED_ACCESS_TOKEN") if state == "revoked" else ("has expired", "EXPIRED_ACCESS_TOKEN")
    )
    assert f"LinkedIn rejected the access token: it {problem} ({code})" in trace["error"]["message"]
    assert "Signals manager → Direct API" in trace["error"]["message"]

    # The states printed are exactly those whose records all reached LinkedIn: the last safe one is there, and
    # nothing after it — no state follows the error.
    stored = set(sandbox.event_ids())
    event_ids = sample_event_ids(lines)
    safe = []
    for state_id, _, before in expected_state_counts(lines):
        if not set(event_ids[:before]) <= stored:
            break
        safe.append(state_id)
    assert 1 <= len(safe) < RECORDS // 50, "the token should die after the first state and before the last"
    assert [s["id"] for s in run.states] == safe
    kinds = [m["type"] for m in run.messages if m["type"] != "LOG"]
    assert kinds == ["STATE"] * len(safe) + ["TRACE"]
    summary = parse_summary(run.logs)
    assert summary.sent == len(stored) and summary.unsettled == summary.read - summary.sent > 0
