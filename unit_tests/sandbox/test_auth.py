"""Token minting over HTTP: LinkedIn's OAuth refresh (reference §6) and the CDP token service contract."""

from __future__ import annotations

import pytest
import requests
from linkedin_capi_sandbox import Sandbox
from linkedin_capi_sandbox.pytest_plugin import ManualClock

from devtools.sample_data import ACCOUNT

NOW = 1788258060.0


@pytest.fixture
def clock():
    return ManualClock(NOW)


@pytest.fixture
def sb(clock):
    with Sandbox(clock=clock) as sandbox:
        sandbox.add_oauth_client("app", "s3cret")
        sandbox.add_refresh_token("app", "refresh-1", {ACCOUNT: "ACCOUNT_MANAGER"}, refresh_token_expires_at=NOW + 1000)
        sandbox.add_cdp_token_id(
            "590708082141560832", {ACCOUNT: "CAMPAIGN_MANAGER"}, service_key="cdp-key", access_token_ttl=120
        )
        sandbox.add_cdp_token_id("111", {ACCOUNT: "ACCOUNT_MANAGER"})
        yield sandbox


def refresh(sb: Sandbox, **overrides: str) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": "refresh-1", "client_id": "app", "client_secret": "s3cret"}
    return requests.post(f"{sb.url}/oauth/v2/accessToken", data={**form, **overrides})


def can_read(sb: Sandbox, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "LinkedIn-Version": "202608"}
    return requests.get(f"{sb.url}/rest/adAccounts/{ACCOUNT}", headers=headers).status_code


def exchange(sb: Sandbox, body: object, key: str | None = "cdp-key") -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(f"{sb.url}/cdp/v1/token", json=body, headers=headers)


def test_refresh_mints_a_working_60_day_token(sb, clock):
    response = refresh(sb)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "refresh_token_expires_in", "scope"}
    assert body["expires_in"] == 5_184_000 and body["refresh_token"] == "refresh-1"
    assert body["refresh_token_expires_in"] == 1000 and body["scope"] == "r_ads,rw_conversions"
    assert can_read(sb, body["access_token"]) == 200
    clock.now += 400
    second = refresh(sb).json()
    assert second["access_token"] != body["access_token"]
    assert second["refresh_token_expires_in"] == 600  # refreshing does not extend the refresh token
    clock.now += 5_184_000
    assert can_read(sb, body["access_token"]) == 401


@pytest.mark.parametrize("override", [{"client_id": "other"}, {"client_secret": "wrong"}])
def test_bad_client_is_401_invalid_client(sb, override):
    response = refresh(sb, **override)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_unknown_expired_or_revoked_refresh_token_is_invalid_grant(sb, clock):
    expected = {
        "error": "invalid_grant",
        "error_description": "The provided authorization grant or refresh token is invalid, expired or revoked",
    }
    unknown = refresh(sb, refresh_token="nope")
    assert unknown.status_code == 400 and unknown.json() == expected
    sb.add_refresh_token("app", "revoked-1", {ACCOUNT: "ACCOUNT_MANAGER"}, state="revoked")
    assert refresh(sb, refresh_token="revoked-1").json() == expected
    clock.now += 1000
    assert refresh(sb).json() == expected


def test_refresh_token_of_another_client_is_invalid_grant(sb):
    sb.add_oauth_client("other", "pw")
    assert refresh(sb, client_id="other", client_secret="pw").json()["error"] == "invalid_grant"


def test_refresh_request_shape_errors(sb):
    assert refresh(sb, grant_type="authorization_code").json()["error"] == "unsupported_grant_type"
    assert refresh(sb, refresh_token="").json()["error"] == "invalid_request"
    as_json = requests.post(f"{sb.url}/oauth/v2/accessToken", json={"grant_type": "refresh_token"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


def test_cdp_exchange_mints_a_fresh_token_each_time(sb, clock):
    body = {"token_id": "590708082141560832", "account_id": str(ACCOUNT)}
    first = exchange(sb, body)
    assert first.status_code == 200
    payload = first.json()
    assert set(payload) == {"access_token", "token_type", "expires_in", "scope"}
    assert (
        payload["token_type"] == "Bearer"
        and payload["expires_in"] == 120
        and payload["scope"] == "r_ads,rw_conversions"
    )
    second = exchange(sb, body).json()
    assert second["access_token"] != payload["access_token"]
    assert can_read(sb, payload["access_token"]) == 200
    roles = requests.get(
        f"{sb.url}/rest/adAccountUsers?q=authenticatedUser",
        headers={"Authorization": f"Bearer {payload['access_token']}", "LinkedIn-Version": "202608"},
    ).json()["elements"]
    assert [u["role"] for u in roles] == ["CAMPAIGN_MANAGER"]
    clock.now += 120
    assert can_read(sb, payload["access_token"]) == 401


def test_cdp_service_key_is_checked_when_registered(sb):
    body = {"token_id": "590708082141560832", "account_id": str(ACCOUNT)}
    for key in (None, "wrong"):
        response = exchange(sb, body, key=key)
        assert response.status_code == 401 and response.json()["error"] == "invalid_service_key"
        assert set(response.json()) == {"error", "message"}
    assert exchange(sb, {"token_id": "111", "account_id": str(ACCOUNT)}, key=None).status_code == 200


def test_cdp_unknown_token_id_is_404(sb):
    response = exchange(sb, {"token_id": "999", "account_id": str(ACCOUNT)})
    assert response.status_code == 404 and response.json()["error"] == "unknown_token_id"


def test_cdp_account_not_covered_is_403(sb):
    response = exchange(sb, {"token_id": "590708082141560832", "account_id": "1"})
    assert response.status_code == 403 and response.json()["error"] == "account_not_authorized"


@pytest.mark.parametrize(
    "body",
    [
        {"token_id": 590708082141560832, "account_id": str(ACCOUNT)},
        {"token_id": "590708082141560832"},
        {"token_id": "abc", "account_id": str(ACCOUNT)},
        ["590708082141560832", str(ACCOUNT)],
    ],
)
def test_cdp_malformed_body_is_400(sb, body):
    response = exchange(sb, body)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_cdp_non_json_body_is_400(sb):
    response = requests.post(f"{sb.url}/cdp/v1/token", data=b"token_id=1", headers={"Authorization": "Bearer cdp-key"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_rotating_refresh_token_is_replaced_by_each_refresh(sb, clock):
    sb.add_refresh_token("app", "rot-1", {ACCOUNT: "ACCOUNT_MANAGER"}, refresh_token_expires_at=NOW + 1000, rotate=True)
    first = refresh(sb, refresh_token="rot-1").json()
    successor = first["refresh_token"]
    assert successor != "rot-1" and can_read(sb, first["access_token"]) == 200
    assert refresh(sb, refresh_token="rot-1").json()["error"] == "invalid_grant"  # the used one is dead
    clock.now += 100
    second = refresh(sb, refresh_token=successor).json()
    assert second["refresh_token"] not in (successor, "rot-1")
    assert second["refresh_token_expires_in"] == 900  # same grant: the first authorisation's expiry
