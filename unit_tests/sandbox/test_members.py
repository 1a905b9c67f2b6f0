"""The sandbox meters per member, as LinkedIn does: every token minted from one CDP token ID or refresh token,
and seeded tokens marked as one member, share one quota. Rule creation can be made to take a while."""

from __future__ import annotations

import threading

import requests
from linkedin_capi_sandbox import Sandbox
from linkedin_capi_sandbox.pytest_plugin import ManualClock

ACCOUNT = 512345678
NOW = 1788258060.0
HEADERS = {"LinkedIn-Version": "202608", "X-Restli-Protocol-Version": "2.0.0"}


def read(sb: Sandbox, token: str) -> int:
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    return requests.get(f"{sb.url}/rest/adAccounts/{ACCOUNT}", headers=headers).status_code


def minted(sb: Sandbox) -> list[str]:
    cdp = [
        requests.post(f"{sb.url}/cdp/v1/token", json={"token_id": "777", "account_id": str(ACCOUNT)}) for _ in range(2)
    ]
    form = {"grant_type": "refresh_token", "refresh_token": "rt-1", "client_id": "app", "client_secret": "s"}
    oauth = [requests.post(f"{sb.url}/oauth/v2/accessToken", data=form) for _ in range(2)]
    return [response.json()["access_token"] for response in cdp + oauth]


def test_tokens_of_one_grant_share_one_quota_and_other_members_keep_theirs():
    with Sandbox(requests_per_minute=3, clock=ManualClock(NOW)) as sb:
        sb.add_cdp_token_id("777", {ACCOUNT: "ACCOUNT_MANAGER"})
        sb.add_oauth_client("app", "s")
        sb.add_refresh_token("app", "rt-1", {ACCOUNT: "ACCOUNT_MANAGER"})
        sb.seed(
            {"tokens": [{"token": f"seeded-{i}", "accounts": {ACCOUNT: "VIEWER"}, "member": "alice"} for i in (1, 2)]}
        )
        sb.add_token("loner", {ACCOUNT: "VIEWER"})
        cdp_a, cdp_b, oauth_a, oauth_b = minted(sb)
        for first, second in ((cdp_a, cdp_b), (oauth_a, oauth_b), ("seeded-1", "seeded-2")):
            assert [read(sb, first), read(sb, second), read(sb, first)] == [200, 200, 200]
            assert (read(sb, second), read(sb, first)) == (429, 429)  # the member's 3 are spent, whichever token
        assert read(sb, "loner") == 200  # a token without a member is a member of its own


def test_rule_creation_latency_lets_parallel_creations_overlap():
    with Sandbox() as sb:
        sb.add_token("t", {ACCOUNT: "ACCOUNT_MANAGER"})
        requests.post(f"{sb.url}/_sandbox/rule-creation-latency", json={"seconds": 1.0}).raise_for_status()
        body = {
            "name": "Airbyte CAPI LEAD",
            "account": f"urn:li:sponsoredAccount:{ACCOUNT}",
            "conversionMethod": "CONVERSIONS_API",
            "type": "LEAD",
        }
        headers = {**HEADERS, "Authorization": "Bearer t"}
        seen_before_any_exists: list[int] = []

        def create() -> None:
            listed = requests.get(
                f"{sb.url}/rest/conversions?q=account&account=urn%3Ali%3AsponsoredAccount%3A{ACCOUNT}", headers=headers
            )
            seen_before_any_exists.append(len(listed.json()["elements"]))
            assert requests.post(f"{sb.url}/rest/conversions", json=body, headers=headers).status_code == 201

        threads = [threading.Thread(target=create) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # each listed while the others' rules were still being created: the race a real API allows
        assert seen_before_any_exists == [0, 0, 0]
        assert len(sb.rules(ACCOUNT)) == 3
