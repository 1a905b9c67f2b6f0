"""Seeding and reading through the admin HTTP API, the seed format, the pytest fixture and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from linkedin_capi_sandbox.examples import (
    EXAMPLE_ACCOUNT_ID,
    EXAMPLE_BATCH_BODY,
    EXAMPLE_HEADERS,
    EXAMPLE_TOKEN,
)

SEED = {
    "accounts": [{"account_id": EXAMPLE_ACCOUNT_ID, "name": "Acme GmbH"}],
    "tokens": [
        {"token": EXAMPLE_TOKEN, "accounts": {str(EXAMPLE_ACCOUNT_ID): "ACCOUNT_MANAGER"}},
        {"token": "revoked", "accounts": {str(EXAMPLE_ACCOUNT_ID): "ACCOUNT_MANAGER"}, "state": "revoked"},
    ],
    "rules": [
        {"account_id": EXAMPLE_ACCOUNT_ID, "rule_id": 123456, "name": "CAPI purchase", "type": "PURCHASE"},
        {"account_id": EXAMPLE_ACCOUNT_ID, "rule_id": 123457, "name": "CAPI lead"},
        {"account_id": EXAMPLE_ACCOUNT_ID, "rule_id": 9, "conversion_method": "INSIGHT_TAG_URL_MATCH_RULES"},
    ],
    "campaigns": [{"account_id": EXAMPLE_ACCOUNT_ID, "campaign_id": 42, "status": "ACTIVE"}],
    "campaign_conversions": [{"campaign_id": 42, "rule_id": 123456}],
    "oauth_clients": [{"client_id": "app", "client_secret": "s3cret"}],
    "refresh_tokens": [
        {"client_id": "app", "refresh_token": "r1", "accounts": {str(EXAMPLE_ACCOUNT_ID): "ACCOUNT_MANAGER"}}
    ],
    "cdp_token_ids": [{"token_id": "590708082141560832", "accounts": {str(EXAMPLE_ACCOUNT_ID): "ACCOUNT_MANAGER"}}],
}
# The example's events are from 2026-09-01; these sandboxes run on the real clock, so they get fresh
# timestamps and the current month's version (never sunset by default, never in the future).
LIVE_VERSION = dt.datetime.now(dt.timezone.utc).strftime("%Y%m")
FRESH_HEADERS = {**EXAMPLE_HEADERS, "LinkedIn-Version": LIVE_VERSION}


def fresh_batch(now_ms: int) -> dict:
    body = json.loads(EXAMPLE_BATCH_BODY)
    for element in body["elements"]:
        element["conversionHappenedAt"] = now_ms
    return body


def now_ms() -> int:
    return int(time.time() * 1000)


def test_seed_builds_the_whole_world(sandbox):
    sandbox.seed(SEED)
    assert [rule["id"] for rule in sandbox.rules(EXAMPLE_ACCOUNT_ID)] == [9, 123456, 123457]
    assert sandbox.campaign_conversions() == {(42, 123456)}
    response = requests.post(f"{sandbox.url}/rest/conversionEvents", json=fresh_batch(now_ms()), headers=FRESH_HEADERS)
    assert response.status_code == 200
    revoked = requests.post(
        f"{sandbox.url}/rest/conversionEvents",
        json=fresh_batch(now_ms()),
        headers={**FRESH_HEADERS, "Authorization": "Bearer revoked"},
    )
    assert revoked.json()["code"] == "REVOKED_ACCESS_TOKEN"
    refreshed = requests.post(
        f"{sandbox.url}/oauth/v2/accessToken",
        data={"grant_type": "refresh_token", "refresh_token": "r1", "client_id": "app", "client_secret": "s3cret"},
    )
    assert refreshed.status_code == 200


@pytest.mark.parametrize(
    "bad",
    [
        {"acounts": []},
        {"rules": [{"account_id": 1, "rule": 5}]},
        {"tokens": [{"token": "t", "accounts": {"1": "OWNER"}}]},
        {"rules": [{"account_id": 1, "type": "NOT_A_TYPE"}]},
    ],
)
def test_seed_refuses_unknown_sections_keys_and_values(sandbox, bad):
    with pytest.raises(ValueError):
        sandbox.seed(bad)


def test_the_fixture_is_a_running_sandbox_with_default_quotas(sandbox):
    assert sandbox.url.startswith("http://127.0.0.1:")
    assert requests.get(f"{sandbox.url}/_sandbox/health").json() == {"status": "ok"}
    sandbox.seed({"tokens": SEED["tokens"]})
    headers = {"Authorization": f"Bearer {EXAMPLE_TOKEN}", "LinkedIn-Version": LIVE_VERSION}
    with requests.Session() as session:
        statuses = [
            session.get(f"{sandbox.url}/rest/adAccountUsers?q=authenticatedUser", headers=headers).status_code
            for _ in range(601)
        ]
    assert statuses == [200] * 600 + [429]


def test_admin_api_seeds_and_reads(sandbox):
    admin = f"{sandbox.url}/_sandbox"
    assert (
        requests.post(f"{admin}/seed", json={"accounts": SEED["accounts"], "tokens": SEED["tokens"]}).status_code == 204
    )
    created = requests.post(f"{admin}/rules", json={"account_id": EXAMPLE_ACCOUNT_ID, "rule_id": 123456})
    assert created.status_code == 201 and created.json() == {"id": 123456}
    assert (
        requests.post(f"{admin}/rules", json={"account_id": EXAMPLE_ACCOUNT_ID, "rule_id": 123457}).status_code == 201
    )
    campaign = requests.post(f"{admin}/campaigns", json={"account_id": EXAMPLE_ACCOUNT_ID}).json()["id"]
    assert (
        requests.post(f"{admin}/campaign-conversions", json={"campaign_id": campaign, "rule_id": 123456}).status_code
        == 204
    )
    assert requests.get(f"{admin}/campaign-conversions").json() == {"elements": [[campaign, 123456]]}
    assert requests.post(f"{admin}/token-state", json={"token": "revoked", "state": "valid"}).status_code == 204

    requests.post(f"{sandbox.url}/rest/conversionEvents", json=fresh_batch(now_ms()), headers=FRESH_HEADERS)
    events = requests.get(f"{admin}/events").json()["elements"]
    assert [e["eventId"] for e in events] == ["order-8c482", "lead-7f01"]
    assert [e["eventId"] for e in requests.get(f"{admin}/events?rule_id=123457").json()["elements"]] == ["lead-7f01"]
    jsonl = requests.get(f"{admin}/events.jsonl")
    assert jsonl.headers["Content-Type"] == "application/x-ndjson"
    assert [json.loads(line)["_rule_id"] for line in jsonl.text.splitlines()] == [123456, 123457]
    assert requests.get(f"{admin}/event-ids").json() == {"elements": ["order-8c482", "lead-7f01"]}
    stats = requests.get(f"{admin}/stats").json()
    assert stats["by_status"] == {"200": 1} and stats["batch_sizes"] == [2]
    rules = requests.get(f"{admin}/rules?account_id={EXAMPLE_ACCOUNT_ID}").json()["elements"]
    assert [r["id"] for r in rules] == [123456, 123457]

    assert requests.delete(f"{admin}/events").status_code == 204
    assert requests.get(f"{admin}/events").json() == {"elements": []}
    assert requests.delete(f"{admin}/stats").status_code == 204
    assert requests.get(f"{admin}/stats").json()["requests"] == 0


def test_admin_stats_count_duplicates_received_per_rule(sandbox):
    admin = f"{sandbox.url}/_sandbox"
    assert requests.post(f"{admin}/seed", json={"tokens": SEED["tokens"], "rules": SEED["rules"]}).status_code == 204
    for _ in range(3):
        sent = requests.post(f"{sandbox.url}/rest/conversionEvents", json=fresh_batch(now_ms()), headers=FRESH_HEADERS)
        assert sent.status_code == 200
    stats = requests.get(f"{admin}/stats").json()
    assert stats["duplicates_received"] == 4
    assert stats["duplicates_by_rule"] == {"123456": 2, "123457": 2}


def test_admin_api_limits_and_errors(sandbox):
    admin = f"{sandbox.url}/_sandbox"
    sandbox.seed({"tokens": SEED["tokens"]})
    assert requests.post(f"{admin}/limits", json={"requests_per_minute": 1}).status_code == 204
    headers = {"Authorization": f"Bearer {EXAMPLE_TOKEN}", "LinkedIn-Version": LIVE_VERSION}
    statuses = [
        requests.get(f"{sandbox.url}/rest/adAccountUsers?q=authenticatedUser", headers=headers).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 429]
    assert requests.post(f"{admin}/rules", json={"account_id": 1, "colour": "red"}).status_code == 400
    assert requests.post(f"{admin}/rules", data=b"[1]").status_code == 400
    unknown = requests.get(f"{admin}/nope")
    assert unknown.status_code == 404 and "GET /_sandbox/stats" in unknown.json()["routes"]


def start_cli(*args: str, module: bool = False) -> tuple[subprocess.Popen, str]:
    command = (
        [sys.executable, "-m", "linkedin_capi_sandbox"]
        if module
        else [str(Path(sys.executable).with_name("linkedin-capi-sandbox"))]
    )
    process = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("SANDBOX_URL=http://127.0.0.1:"), (
        line,
        process.stderr.read() if process.poll() is not None else "",
    )
    return process, line.removeprefix("SANDBOX_URL=")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_starts_seeded_prints_one_line_and_stops_cleanly(tmp_path, sig):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    process, url = start_cli(
        "--port", "0", "--seed", str(seed), "--requests-per-minute", "unlimited", "--sunset", LIVE_VERSION
    )
    try:
        response = requests.post(f"{url}/rest/conversionEvents", json=fresh_batch(now_ms()), headers=FRESH_HEADERS)
        assert response.status_code == 426  # --sunset replaced the defaults
        response = requests.post(
            f"{url}/rest/conversionEvents",
            json=fresh_batch(now_ms()),
            headers={**FRESH_HEADERS, "LinkedIn-Version": "202508"},
        )
        assert response.status_code == 200
        assert len(requests.get(f"{url}/_sandbox/events").json()["elements"]) == 2
    finally:
        process.send_signal(sig)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out == ""  # nothing after the URL line


def test_cli_as_module_with_quota_flags():
    process, url = start_cli(
        "--requests-per-minute", "1", "--window-seconds", "30", "--requests-per-day", "unlimited", module=True
    )
    try:
        requests.post(f"{url}/_sandbox/tokens", json={"token": "t", "accounts": {"1": "VIEWER"}})
        headers = {"Authorization": "Bearer t", "LinkedIn-Version": LIVE_VERSION}
        statuses = [
            requests.get(f"{url}/rest/adAccountUsers?q=authenticatedUser", headers=headers).status_code
            for _ in range(2)
        ]
        assert statuses == [200, 429]
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_cli_refuses_a_bad_seed(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text('{"nope": []}')
    result = subprocess.run(
        [sys.executable, "-m", "linkedin_capi_sandbox", "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and result.stdout == "" and "unknown seed sections" in result.stderr


def test_invalidate_tokens_ends_every_valid_session():
    import requests as _requests
    from linkedin_capi_sandbox import Sandbox

    with Sandbox() as sb:
        sb.add_token("a", {1: "ACCOUNT_MANAGER"})
        sb.add_token("b", {1: "ACCOUNT_MANAGER"}, state="revoked")
        sb.add_cdp_token_id("590708082141560832", {1: "ACCOUNT_MANAGER"})
        minted = _requests.post(
            f"{sb.url}/cdp/v1/token", json={"token_id": "590708082141560832", "account_id": "1"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {minted}", "LinkedIn-Version": "202607"}
        assert _requests.get(f"{sb.url}/rest/adAccounts/1", headers=headers).status_code == 200
        answer = _requests.post(f"{sb.url}/_sandbox/invalidate-tokens", json={})
        assert answer.json() == {"count": 2}  # "a" and the minted one; "b" was already revoked
        refused = _requests.get(f"{sb.url}/rest/adAccounts/1", headers=headers)
        assert refused.status_code == 401 and refused.json()["code"] == "EXPIRED_ACCESS_TOKEN"


def test_the_cli_server_runs_with_tuned_gc_thresholds_and_restores_them():
    """The CLI's process collects garbage less often while it serves (docs/performance.md); `main` puts the
    thresholds back when it returns. Seen from inside a real CLI process: `start` is replaced to report them."""
    code = (
        "import gc, sys\n"
        "from linkedin_capi_sandbox import cli\n"
        "def start(self, host, port):\n"
        "    print('serving', gc.get_threshold(), file=sys.stderr)\n"
        "    raise OSError('stop here')\n"
        "cli.Sandbox.start = start\n"
        "print('before', gc.get_threshold(), file=sys.stderr)\n"
        "code = cli.main(['--port', '0'])\n"
        "print('after', gc.get_threshold(), code, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    lines = [line for line in result.stderr.splitlines() if line.split(" ")[0] in ("before", "serving", "after")]
    assert len(lines) == 3, result.stderr
    before = lines[0].removeprefix("before ")
    assert before != "(100000, 50, 100)"
    assert lines[1:] == ["serving (100000, 50, 100)", f"after {before} 2"], result.stderr
