"""Precise `requests_mock` stand-ins for LinkedIn and a CDP token service, plus a fake clock.

Every registration names the exact method, URL and query, and the LinkedIn ones also require the
bearer token and `LinkedIn-Version`, so a request that is wrong in any of those finds no mock and fails.
"""

from __future__ import annotations

from typing import Any

import orjson
import requests_mock

from devtools.sample_data import ACCOUNT

API = "https://api.linkedin.test"
OAUTH = "https://oauth.linkedin.test"
TOKEN_SERVICE = "https://cdp.example.test/linkedin/token"
ACCOUNT_URN = f"urn:li:sponsoredAccount:{ACCOUNT}"
ACCOUNT_Q = f"urn%3Ali%3AsponsoredAccount%3A{ACCOUNT}"
VERSION = "202607"
NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC

ACCESS_TOKEN = "AQX-static-access-token-SECRET-1"
SERVICE_KEY = "svc-key-SECRET-2"
CLIENT_SECRET = "client-secret-SECRET-3"
REFRESH_TOKEN = "AQR-refresh-token-SECRET-4"
MINTED = "AQV-minted-token-SECRET-5"
TOKEN_ID = "590708082141560832"


class Batch(list):
    """Events as `LinkedInClient.send_events` takes them: a count and a request body (the writer encodes in chunks)."""

    def body(self) -> bytes:
        return orjson.dumps({"elements": list(self)})


class FakeClock:
    """`time.time` and `time.sleep` in one: sleeping advances the clock and is recorded, never waited."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def credentials(mode: str, **overrides: Any) -> dict[str, Any]:
    base = {
        "token_id": {
            "auth_type": "token_id",
            "token_id": TOKEN_ID,
            "token_service_url": TOKEN_SERVICE,
            "token_service_key": SERVICE_KEY,
        },
        "access_token": {"auth_type": "access_token", "access_token": ACCESS_TOKEN, "conversion_mapping": "LEAD=111"},
        "oauth2": {
            "auth_type": "oauth2",
            "client_id": "client-id-1",
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        },
    }[mode]
    return {**base, **overrides}


def config(mode: str = "token_id", *, creds: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    raw = {
        "account_id": str(ACCOUNT),
        "credentials": credentials(mode, **(creds or {})),
        "api_base_url": API,
        "oauth_base_url": OAUTH,
        "api_version": VERSION,
    }
    if mode != "access_token":
        raw["conversion_events"] = ["LEAD"]
    raw.update(overrides)
    return raw


def linkedin_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "LinkedIn-Version": VERSION, "X-Restli-Protocol-Version": "2.0.0"}


def page(elements: list[dict[str, Any]], start: int = 0, total: int | None = None) -> dict[str, Any]:
    return {
        "paging": {"start": start, "count": 100, "links": [], "total": len(elements) if total is None else total},
        "elements": elements,
    }


def rule(rule_id: int, name: str, type_: str = "LEAD", **extra: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": name,
        "account": ACCOUNT_URN,
        "type": type_,
        "conversionMethod": "CONVERSIONS_API",
        "enabled": True,
        "campaigns": [],
        **extra,
    }


def mock_token_service(m: requests_mock.Mocker, token: str = MINTED, **body: Any) -> requests_mock.adapter._Matcher:
    """The CDP token service answering the exact contract (JSON body and service key checked)."""
    payload = {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "r_ads,rw_conversions"}
    payload.update(body)

    def exact(request: Any) -> bool:
        return request.json() == {"token_id": TOKEN_ID, "account_id": str(ACCOUNT)}

    return m.post(
        TOKEN_SERVICE,
        request_headers={"Authorization": f"Bearer {SERVICE_KEY}"},
        additional_matcher=exact,
        json=payload,
    )


def mock_account_users(
    m: requests_mock.Mocker, token: str, roles: dict[int, str] | None = None, **response: Any
) -> requests_mock.adapter._Matcher:
    roles = {ACCOUNT: "ACCOUNT_MANAGER"} if roles is None else roles
    elements = [
        {"account": f"urn:li:sponsoredAccount:{a}", "role": r, "user": "urn:li:person:1"} for a, r in roles.items()
    ]
    return m.get(
        f"{API}/rest/adAccountUsers?q=authenticatedUser&start=0&count=100",
        complete_qs=True,
        request_headers=linkedin_headers(token),
        **(response or {"json": page(elements)}),
    )


def mock_rules(
    m: requests_mock.Mocker,
    token: str,
    rules: list[dict[str, Any]],
    *,
    start: int = 0,
    total: int | None = None,
    account_q: str = ACCOUNT_Q,
) -> requests_mock.adapter._Matcher:
    return m.get(
        f"{API}/rest/conversions?q=account&account={account_q}&start={start}&count=100",
        complete_qs=True,
        request_headers=linkedin_headers(token),
        json=page(rules, start, total),
    )
