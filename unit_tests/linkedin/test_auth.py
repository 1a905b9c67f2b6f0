"""Token providers: the CDP token-service contract, OAuth refresh, caching, renewal on 401, propagation wait."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import requests
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import AuthenticationError, ConfigError, TransportError
from destination_linkedin_capi.linkedin import auth
from destination_linkedin_capi.linkedin.auth import OAuth2Provider, StaticTokenProvider, TokenIdProvider
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.connect import connect
from destination_linkedin_capi.linkedin.retry import RetryPolicy
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
    VERSION,
    FakeClock,
    config,
    linkedin_headers,
    mock_token_service,
)

OAUTH_URL = f"{OAUTH}/oauth/v2/accessToken"


@pytest.fixture
def clock():
    return FakeClock()


def token_id_provider(clock, key=SERVICE_KEY, max_retry_seconds=30.0):
    return TokenIdProvider(
        TOKEN_ID,
        TOKEN_SERVICE,
        key,
        ACCOUNT,
        policy=RetryPolicy(max_seconds=max_retry_seconds),
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 1.0,  # the top of each full-jitter range: 2, 4, 8 s
    )


def oauth_provider(clock, max_retry_seconds=30.0):
    return OAuth2Provider(
        "client-id-1",
        CLIENT_SECRET,
        REFRESH_TOKEN,
        OAUTH,
        policy=RetryPolicy(max_seconds=max_retry_seconds),
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 1.0,
    )


# -- static -------------------------------------------------------------------------------------------


def test_static_token_is_a_secret_and_a_401_is_final():
    provider = StaticTokenProvider(f"  {ACCESS_TOKEN} ")
    assert provider.token() == ACCESS_TOKEN
    assert provider.refresh(ACCESS_TOKEN) is False
    assert ACCESS_TOKEN not in filter_secrets(f"token={ACCESS_TOKEN}")


# -- token ID: the CDP token-service contract ---------------------------------------------------------------


def test_token_id_exchange_speaks_the_contract_and_caches(m, clock):
    service = mock_token_service(m, refresh_token_expires_at=NOW + 86400 * 10)
    provider = token_id_provider(clock)

    assert provider.token() == MINTED
    assert provider.token() == MINTED
    assert service.call_count == 1  # cached
    sent = service.last_request
    assert sent.method == "POST"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {"token_id": TOKEN_ID, "account_id": str(ACCOUNT)}
    assert provider.scopes == {"r_ads", "rw_conversions"}
    assert provider.refresh_token_expires_at == NOW + 86400 * 10
    assert MINTED not in filter_secrets(MINTED) and SERVICE_KEY not in filter_secrets(SERVICE_KEY)


def test_token_id_without_a_key_sends_no_authorization_header(m, clock):
    service = m.post(TOKEN_SERVICE, json={"access_token": MINTED, "expires_in": 3600})
    assert token_id_provider(clock, key="  ").token() == MINTED
    assert "Authorization" not in service.last_request.headers


def test_token_is_renewed_shortly_before_expiry_not_earlier(m, clock):
    service = m.post(
        TOKEN_SERVICE,
        [{"json": {"access_token": "first-SECRET", "expires_in": 3600}}, {"json": {"access_token": "second-SECRET"}}],
    )
    provider = token_id_provider(clock)
    assert provider.token() == "first-SECRET"
    clock.now += 3600 - 301  # more than the 300 s margin left
    assert provider.token() == "first-SECRET"
    clock.now += 2  # inside the margin
    assert provider.token() == "second-SECRET"
    assert service.call_count == 2


@pytest.mark.parametrize(
    "status, error, fragments",
    [
        (401, "invalid_service_key", ["refused the Token service key", "invalid_service_key"]),
        (404, "unknown_token_id", ["does not know this Token ID", "unknown_token_id"]),
        (403, "account_not_authorized", [f"not authorised for ad account {ACCOUNT}", "account_not_authorized"]),
        (400, "invalid_request", ["malformed (invalid_request)", "Token service URL"]),
        (405, None, ["cdp.example.test", "HTTP 405", "Token service URL"]),
        (401, "a message with spaces is not a code", ["HTTP 401)"]),
    ],
)
def test_token_service_refusals_are_specific_sentences_without_secrets(m, clock, status, error, fragments):
    m.post(TOKEN_SERVICE, status_code=status, json={"error": error, "message": "nope"} if error else None)
    with pytest.raises(ConfigError) as raised:
        token_id_provider(clock).token()
    text = str(raised.value)
    for fragment in fragments:
        assert fragment in text
    assert SERVICE_KEY not in text and TOKEN_ID not in text
    assert "with spaces" not in text


def test_missing_service_key_is_named_as_missing(m, clock):
    m.post(TOKEN_SERVICE, status_code=401, json={"error": "invalid_service_key"})
    with pytest.raises(ConfigError, match="requires a Token service key"):
        token_id_provider(clock, key=None).token()


def test_token_service_answer_without_a_token_is_a_config_error(m, clock):
    m.post(TOKEN_SERVICE, text="<html>login</html>")
    with pytest.raises(ConfigError, match="answered without an access token"):
        token_id_provider(clock).token()


def test_token_service_5xx_is_retried_with_backoff(m, clock):
    service = m.post(TOKEN_SERVICE, [{"status_code": 503}, {"status_code": 502}, {"json": {"access_token": MINTED}}])
    assert token_id_provider(clock).token() == MINTED
    assert service.call_count == 3
    assert clock.sleeps == [2.0, 4.0]


def test_token_service_retry_after_is_honoured(m, clock):
    m.post(TOKEN_SERVICE, [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": {"access_token": MINTED}}])
    assert token_id_provider(clock).token() == MINTED
    assert clock.sleeps == [7.0]


@pytest.mark.parametrize(
    "response, problem", [({"status_code": 503}, "HTTP 503"), ({"exc": requests.ConnectionError}, "no answer")]
)
def test_token_service_down_gives_up_within_the_time_limit(m, clock, response, problem):
    service = m.post(TOKEN_SERVICE, **response)
    with pytest.raises(TransportError) as raised:
        token_id_provider(clock, max_retry_seconds=10).token()
    assert clock.sleeps == [2.0, 4.0]  # 2 + 4 = 6; one more (8 s) would pass 10 s
    assert service.call_count == 3
    text = str(raised.value)
    assert "token service at cdp.example.test is not answering" in text and problem in text
    assert "it may be down" in text


# -- OAuth -----------------------------------------------------------------------------------------------


def test_oauth_refresh_posts_the_form_and_reports_expiries(m, clock):
    endpoint = m.post(
        OAUTH_URL,
        json={
            "access_token": MINTED,
            "expires_in": 5_184_000,
            "refresh_token": REFRESH_TOKEN,
            "refresh_token_expires_in": 86400 * 20,
            "scope": "r_ads rw_conversions",
        },
    )
    provider = oauth_provider(clock)
    assert provider.token() == MINTED
    assert provider.token() == MINTED
    assert endpoint.call_count == 1
    sent = endpoint.last_request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.text) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH_TOKEN],
        "client_id": ["client-id-1"],
        "client_secret": [CLIENT_SECRET],
    }
    assert provider.refresh_token_expires_at == NOW + 86400 * 20
    assert provider.scopes == {"r_ads", "rw_conversions"}
    assert CLIENT_SECRET not in filter_secrets(CLIENT_SECRET) and REFRESH_TOKEN not in filter_secrets(REFRESH_TOKEN)


def test_oauth_adopts_and_hides_a_rotated_refresh_token(m, clock):
    endpoint = m.post(
        OAUTH_URL,
        [
            {"json": {"access_token": "a-SECRET", "expires_in": 60, "refresh_token": "rotated-SECRET"}},
            {"json": {"access_token": "b-SECRET", "expires_in": 60}},
        ],
    )
    provider = oauth_provider(clock)
    assert provider.rotated_refresh_token is None
    provider.token()
    assert provider.rotated_refresh_token == "rotated-SECRET"  # for the CONTROL message (config_updates.py)
    clock.now += 60
    provider.token()
    assert parse_qs(endpoint.last_request.text)["refresh_token"] == ["rotated-SECRET"]
    assert "rotated-SECRET" not in filter_secrets("rotated-SECRET")
    assert provider.rotated_refresh_token == "rotated-SECRET"


def test_oauth_echoing_the_same_refresh_token_is_no_rotation(m, clock):
    m.post(OAUTH_URL, json={"access_token": "a-SECRET", "expires_in": 60, "refresh_token": REFRESH_TOKEN})
    provider = oauth_provider(clock)
    provider.token()
    assert provider.rotated_refresh_token is None


def test_invalid_grant_says_reauthorise_and_never_echoes_the_refresh_token(m, clock):
    m.post(OAUTH_URL, status_code=400, json={"error": "invalid_grant", "error_description": f"bad {REFRESH_TOKEN}"})
    with pytest.raises(ConfigError) as raised:
        oauth_provider(clock).token()
    text = str(raised.value)
    assert "invalid_grant" in text and "Re-authorise" in text and "365 days" in text
    assert REFRESH_TOKEN not in text and "bad" not in text


def test_invalid_client_names_the_client_credentials(m, clock):
    m.post(OAUTH_URL, status_code=401, json={"error": "invalid_client"})
    with pytest.raises(ConfigError, match=r"client ID or client secret \(invalid_client\)"):
        oauth_provider(clock).token()


def test_oauth_service_down(m, clock):
    m.post(OAUTH_URL, status_code=500)
    with pytest.raises(TransportError, match=r"LinkedIn's OAuth service at oauth\.linkedin\.test is not answering"):
        oauth_provider(clock, max_retry_seconds=0).token()


# -- renewal on 401 and LinkedIn's propagation delay ------------------------------------------------------------


@pytest.mark.parametrize("age", [0.0, auth.PROPAGATION_WINDOW_SECONDS + 1])
def test_refresh_renews_and_waits_for_the_new_token_to_propagate(m, clock, age):
    service = m.post(TOKEN_SERVICE, [{"json": {"access_token": "t1-SECRET"}}, {"json": {"access_token": "t2-SECRET"}}])
    provider = token_id_provider(clock)
    assert provider.token() == "t1-SECRET"
    clock.now += age

    assert provider.refresh("t1-SECRET") is True
    assert clock.sleeps == [auth.PROPAGATION_WAIT_SECONDS]
    assert provider.token() == "t2-SECRET" and service.call_count == 2


def test_a_fresh_token_the_issuer_stands_by_gets_one_wait_then_is_given_up(m, clock):
    service = m.post(TOKEN_SERVICE, json={"access_token": "same-SECRET"})
    provider = token_id_provider(clock)
    provider.token()

    assert provider.refresh("same-SECRET") is True  # may just not have propagated yet
    assert clock.sleeps == [auth.PROPAGATION_WAIT_SECONDS]
    assert provider.refresh("same-SECRET") is False  # still rejected after the wait
    assert service.call_count == 3 and len(clock.sleeps) == 1


def test_an_old_token_the_issuer_stands_by_is_given_up_at_once(m, clock):
    m.post(TOKEN_SERVICE, json={"access_token": "same-SECRET"})
    provider = token_id_provider(clock)
    provider.token()
    clock.now += auth.PROPAGATION_WINDOW_SECONDS
    assert provider.refresh("same-SECRET") is False
    assert clock.sleeps == []


def test_refresh_of_an_already_replaced_token_needs_no_new_one(m, clock):
    service = mock_token_service(m)
    provider = token_id_provider(clock)
    provider.token()
    assert provider.refresh("some-older-token") is True
    assert service.call_count == 1 and clock.sleeps == []


def test_client_retries_with_a_renewed_token_after_the_propagation_wait(m, clock):
    """LinkedIn's 65601 right after minting: renew, wait, repeat (Segment's fix, docs/linkedin-facts.md §8)."""
    m.post(OAUTH_URL, [{"json": {"access_token": "t1-SECRET"}}, {"json": {"access_token": "t2-SECRET"}}])
    revoked = {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "revoked"}
    rejected = m.get(
        f"{API}/rest/adAccountUsers", request_headers=linkedin_headers("t1-SECRET"), status_code=401, json=revoked
    )
    accepted = m.get(f"{API}/rest/adAccountUsers", request_headers=linkedin_headers("t2-SECRET"), json={})
    client = LinkedInClient(API, VERSION, oauth_provider(clock), sleep=clock.sleep)
    client.request("GET", "/rest/adAccountUsers")
    assert (rejected.call_count, accepted.call_count) == (1, 1)
    assert clock.sleeps == [auth.PROPAGATION_WAIT_SECONDS]


def test_client_gives_up_when_the_renewed_token_is_rejected_too(m, clock):
    minting = m.post(OAUTH_URL, [{"json": {"access_token": "t1-SECRET"}}, {"json": {"access_token": "t2-SECRET"}}])
    m.get(f"{API}/rest/adAccountUsers", status_code=401, json={"status": 401, "code": "REVOKED_ACCESS_TOKEN"})
    client = LinkedInClient(API, VERSION, oauth_provider(clock), sleep=clock.sleep)
    with pytest.raises(AuthenticationError) as raised:
        client.request("GET", "/rest/adAccountUsers")
    assert raised.value.code == "REVOKED_ACCESS_TOKEN"
    assert minting.call_count == 2


def test_expired_token_mid_sync_is_renewed_and_the_request_repeated(m, clock):
    m.post(OAUTH_URL, [{"json": {"access_token": "old-SECRET"}}, {"json": {"access_token": "new-SECRET"}}])
    provider = oauth_provider(clock)
    client = LinkedInClient(API, VERSION, provider, sleep=clock.sleep)
    provider.token()
    clock.now += 3600
    m.get(f"{API}/rest/x", request_headers=linkedin_headers("old-SECRET"), status_code=401, json={"status": 401})
    ok = m.get(f"{API}/rest/x", request_headers=linkedin_headers("new-SECRET"), json={})
    client.request("GET", "/rest/x")
    assert ok.call_count == 1


# -- factory ----------------------------------------------------------------------------------------------


def test_factory_builds_the_configured_mode(m, clock):
    parsed = ConnectorConfig.parse(config("access_token"))
    assert isinstance(connect(parsed).tokens, StaticTokenProvider)

    parsed = ConnectorConfig.parse(config("token_id", max_retry_seconds=0))
    provider = connect(parsed, clock=clock, sleep=clock.sleep).tokens
    assert isinstance(provider, TokenIdProvider)
    service = mock_token_service(m)
    assert provider.token() == MINTED and service.call_count == 1

    parsed = ConnectorConfig.parse(config("oauth2", max_retry_seconds=0))
    provider = connect(parsed, clock=clock, sleep=clock.sleep).tokens
    assert isinstance(provider, OAuth2Provider)
    m.post(OAUTH_URL, status_code=503)
    with pytest.raises(TransportError):
        provider.token()
    assert clock.sleeps == []  # max_retry_seconds 0 from the config: no retry
