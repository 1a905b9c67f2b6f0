"""The `/rest/` gateway over HTTP: tokens (401), `LinkedIn-Version` (400/426), quotas (429), keep-alive."""

from __future__ import annotations

import http.client
import json

import pytest
import requests
from linkedin_capi_sandbox import Sandbox
from linkedin_capi_sandbox.examples import (
    EXAMPLE_ACCOUNT_ID,
    EXAMPLE_BATCH_BODY,
    EXAMPLE_HEADERS,
    EXAMPLE_NOW,
    seed_example,
)
from linkedin_capi_sandbox.pytest_plugin import ManualClock

THROTTLE = {"status": 429, "message": "Resource level throttle limit for calls to this resource is reached."}


@pytest.fixture
def clock():
    return ManualClock(EXAMPLE_NOW)


@pytest.fixture
def sb(clock):
    with Sandbox(clock=clock) as sandbox:
        seed_example(sandbox)
        yield sandbox


def read_accounts(sb: Sandbox, session: requests.Session | None = None, **headers: str | None) -> requests.Response:
    sent = {"Authorization": EXAMPLE_HEADERS["Authorization"], "LinkedIn-Version": "202608", **headers}
    return (session or requests).get(
        f"{sb.url}/rest/adAccountUsers?q=authenticatedUser", headers={k: v for k, v in sent.items() if v is not None}
    )


def test_missing_token_is_401_empty_oauth2_access_token(sb):
    response = read_accounts(sb, Authorization=None)
    assert response.status_code == 401
    assert response.json() == {"message": "Empty oauth2_access_token", "serviceErrorCode": 401, "status": 401}
    assert read_accounts(sb, Authorization="Basic abc").status_code == 401


def test_unknown_token_is_401_invalid_access_token(sb):
    response = read_accounts(sb, Authorization="Bearer nope")
    assert response.json() == {
        "status": 401,
        "serviceErrorCode": 65600,
        "code": "INVALID_ACCESS_TOKEN",
        "message": "Invalid access token",
    }


def test_revoked_token_is_401_revoked_access_token(sb):
    sb.set_token_state("AQV-example-token", "revoked")
    response = read_accounts(sb)
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "serviceErrorCode": 65601,
        "code": "REVOKED_ACCESS_TOKEN",
        "message": "The token used in the request has been revoked by the user",
    }


EXPIRED = {
    "status": 401,
    "serviceErrorCode": 65602,
    "code": "EXPIRED_ACCESS_TOKEN",
    "message": "The token used in the request has expired",
}


def test_expired_token_by_state_and_by_time(sb, clock):
    sb.add_token("old", {EXAMPLE_ACCOUNT_ID: "ACCOUNT_MANAGER"}, state="expired")
    assert read_accounts(sb, Authorization="Bearer old").json() == EXPIRED
    sb.add_token("short", {EXAMPLE_ACCOUNT_ID: "ACCOUNT_MANAGER"}, expires_at=clock.now + 10)
    assert read_accounts(sb, Authorization="Bearer short").status_code == 200
    clock.now += 10
    assert read_accounts(sb, Authorization="Bearer short").json() == EXPIRED


def test_missing_version_is_400_version_missing_with_gateway_header(sb):
    response = read_accounts(sb, **{"LinkedIn-Version": None})
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "VERSION_MISSING",
        "message": "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
    }
    assert "X-Restli-Gateway-Error" in response.headers


@pytest.mark.parametrize("version", ["2026-08", "20260801", "latest", "2026"])
def test_malformed_version_is_400(sb, version):
    response = read_accounts(sb, **{"LinkedIn-Version": version})
    assert response.status_code == 400 and response.json()["code"] == "INVALID_VERSION"


def test_version_header_name_is_case_insensitive_and_restli_header_optional(sb):
    headers = {"Authorization": EXAMPLE_HEADERS["Authorization"], "linkedin-version": "202608"}
    response = requests.get(f"{sb.url}/rest/adAccountUsers?q=authenticatedUser", headers=headers)
    assert response.status_code == 200
    assert response.headers["x-restli-protocol-version"] == "2.0.0"


@pytest.mark.parametrize("version", ["202508", "202507", "202401", "202512", "202613", "202610"])
def test_sunset_never_released_and_future_versions_are_426(sb, version):
    # The clock is 2026-09-01: 202508 sunset on 2026-08-17; 202610 does not exist yet.
    response = read_accounts(sb, **{"LinkedIn-Version": version})
    assert response.status_code == 426
    assert response.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": f"Requested version {version} is not active",
    }


@pytest.mark.parametrize("version", ["202509", "202510", "202511", "202601", "202607", "202608", "202609"])
def test_live_versions_are_served(sb, version):
    assert read_accounts(sb, **{"LinkedIn-Version": version}).status_code == 200


def test_sunset_follows_the_clock(sb, clock):
    assert read_accounts(sb, **{"LinkedIn-Version": "202511"}).status_code == 200
    clock.now = 1794787200.0  # 2026-11-16, 202511's sunset day
    assert read_accounts(sb, **{"LinkedIn-Version": "202511"}).status_code == 426


def test_explicit_sunset_list_replaces_the_defaults():
    with Sandbox(clock=lambda: EXAMPLE_NOW, sunset_versions={"202607"}) as sb:
        seed_example(sb)
        assert read_accounts(sb, **{"LinkedIn-Version": "202607"}).status_code == 426
        assert read_accounts(sb, **{"LinkedIn-Version": "202508"}).status_code == 200


def test_the_601st_request_in_a_minute_is_429(sb, clock):
    with requests.Session() as session:
        statuses = [read_accounts(sb, session).status_code for _ in range(600)]
        assert statuses == [200] * 600
        response = read_accounts(sb, session)
        assert response.status_code == 429 and response.json() == THROTTLE
        assert sb.stats()["throttled"] == 1
        clock.now += 59.9
        assert read_accounts(sb, session).status_code == 429
        clock.now += 0.1  # the first requests leave the sliding window
        assert read_accounts(sb, session).status_code == 200


def test_quotas_are_per_token_and_can_be_unlimited(clock):
    with Sandbox(requests_per_minute=2, requests_per_day=None, clock=clock) as sb:
        seed_example(sb)
        sb.add_token("second", {EXAMPLE_ACCOUNT_ID: "ACCOUNT_MANAGER"})
        assert [read_accounts(sb).status_code for _ in range(3)] == [200, 200, 429]
        assert read_accounts(sb, Authorization="Bearer second").status_code == 200
        sb.set_limits(requests_per_minute=None, requests_per_day=None)
        assert [read_accounts(sb).status_code for _ in range(5)] == [200] * 5


def test_daily_quota_resets_at_the_day_boundary(clock):
    clock.now = 1788307200.0 - 2  # two seconds before midnight UTC
    with Sandbox(requests_per_minute=None, requests_per_day=3, clock=clock) as sb:
        seed_example(sb)
        assert [read_accounts(sb).status_code for _ in range(4)] == [200, 200, 200, 429]
        clock.now += 2
        assert read_accounts(sb).status_code == 200


def test_throttled_batch_stores_nothing(clock):
    with Sandbox(requests_per_minute=1, clock=clock) as sb:
        seed_example(sb)
        url = f"{sb.url}/rest/conversionEvents"
        assert requests.post(url, data=EXAMPLE_BATCH_BODY, headers=EXAMPLE_HEADERS).status_code == 200
        assert requests.post(url, data=EXAMPLE_BATCH_BODY, headers=EXAMPLE_HEADERS).status_code == 429
        assert len(sb.events()) == 2


def test_keep_alive_serves_many_requests_on_one_connection(sb):
    connection = http.client.HTTPConnection(sb.url.removeprefix("http://"))
    headers = {"Authorization": EXAMPLE_HEADERS["Authorization"], "LinkedIn-Version": "202608"}
    for _ in range(3):
        connection.request("GET", "/rest/adAccountUsers?q=authenticatedUser", headers=headers)
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["elements"]
        assert response.getheader("Connection") != "close"
    connection.close()


def test_unknown_resource_is_404(sb):
    response = requests.get(f"{sb.url}/rest/me", headers={**EXAMPLE_HEADERS})
    assert response.status_code == 404
    assert requests.get(f"{sb.url}/v2/me").status_code == 404


def test_stats_count_requests_by_status_and_path(sb):
    read_accounts(sb)
    read_accounts(sb, Authorization="Bearer nope")
    stats = sb.stats()
    assert stats["requests"] == 2
    assert stats["by_status"] == {200: 1, 401: 1}
    assert stats["by_path"] == {"/rest/adAccountUsers": 2}


def test_chunked_bodies_are_read(sb):
    chunks = iter([EXAMPLE_BATCH_BODY[:100], EXAMPLE_BATCH_BODY[100:]])
    response = requests.post(f"{sb.url}/rest/conversionEvents", data=chunks, headers=EXAMPLE_HEADERS)
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 200 and len(sb.events()) == 2


def test_malformed_content_length_is_400_and_closes(sb):
    connection = http.client.HTTPConnection(sb.url.removeprefix("http://"))
    connection.putrequest("POST", "/rest/conversionEvents")
    connection.putheader("Content-Length", "twelve")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 400 and response.getheader("Connection") == "close"
    connection.close()
