"""The rules for configured URLs and secrets, and for tokens and answers the connector is handed (fast, in process).

The CLI-level proofs (nothing leaks to stdout/stderr, no traceback) are in
integration_tests/test_bad_urls_and_secrets.py and integration_tests/test_redirects_and_answers.py.
"""

from __future__ import annotations

import pytest
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, TransportError
from destination_linkedin_capi.linkedin.auth import OAuth2Provider, TokenIdProvider
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.safety import check_url, register_secret
from unit_tests.linkedin_mocks import ACCOUNT, API, OAUTH, TOKEN_ID, TOKEN_SERVICE, Batch, FakeClock, config

FIELDS = {
    "API base URL": lambda url: config("access_token", api_base_url=url),
    "OAuth base URL": lambda url: config("oauth2", oauth_base_url=url),
    "Token service URL": lambda url: config("token_id", creds={"token_service_url": url}),
}

BAD_URLS = [
    ("http://evil.example\\@127.0.0.1", "backslash"),
    ("https://api.linkedin.com\\.evil.example", "backslash"),
    ("http://evil.example\uff20127.0.0.1", "non-ASCII"),
    ("https://\u0430pi.linkedin.com", "non-ASCII"),
    ("https://api.linkedin.com\u3002evil.example", "non-ASCII"),
    ("http://user:PASSWORD-z9@127.0.0.1:8080", "user name or password"),
    ("http://PASSWORD-z9@127.0.0.1", "user name or password"),
    ("http://:PASSWORD-z9@127.0.0.1", "user name or password"),
    ("https://api.linkedin.com/\r\nX-Injected: 1", "whitespace or control"),
    ("https://api.linkedin.com/a b", "whitespace or control"),
    ("https://api.linkedin.com\t.evil.example", "whitespace or control"),
    ("https://api.linkedin.com\x00.evil.example", "whitespace or control"),
    ("https://api.linkedin.com\x7f", "whitespace or control"),
    ("http://evil.example%40127.0.0.1", "host name"),
    ("http://[::1", "not a valid URL"),
    ("http://127.0.0.1:99999", "not a valid URL"),
    ("https://api.linkedin.com#@evil.example", "fragment"),
    ("ftp://127.0.0.1", "not an http(s) URL"),
    ("not-a-url", "not an http(s) URL"),
    ("not a url", "whitespace or control"),
    ("http://evil.example", "plain http:// to a remote host"),
]


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("url, fragment", BAD_URLS)
def test_a_bad_url_is_refused_naming_the_field_and_never_echoed(field, url, fragment):
    with pytest.raises(ConfigError) as raised:
        ConnectorConfig.parse(FIELDS[field](url))
    message = str(raised.value)
    assert message.startswith(field) and fragment in message, message
    assert "PASSWORD-z9" not in message and "evil" not in message and url not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://api.linkedin.com",
        "https://API.LinkedIn.com/",
        "https://api.linkedin.com:443/rest/",
        "http://127.0.0.1:8080",
        "http://localhost:9000/base/path",
        "http://[::1]:9000",
        "https://xn--bcher-kva.example/token",
        "  https://api.linkedin.com  ",
    ],
)
def test_plain_urls_still_pass(url):
    assert check_url(url, "API base URL") == url.strip().rstrip("/")


def test_only_the_token_service_url_may_have_a_query():
    assert check_url("https://cdp.example/token?tenant=7", "Token service URL", allow_query=True)
    with pytest.raises(ConfigError, match="API base URL holds a query or fragment"):
        check_url("https://api.linkedin.com?x=1", "API base URL")
    parsed = ConnectorConfig.parse(config("token_id", creds={"token_service_url": "https://cdp.example/t?tenant=7"}))
    assert parsed.credentials.token_service_url.endswith("?tenant=7")


SECRET_FIELDS = [
    ("access_token", "access_token", "Access token"),
    ("token_id", "token_service_key", "Token service key"),
    ("oauth2", "client_id", "Client ID"),
    ("oauth2", "client_secret", "Client secret"),
    ("oauth2", "refresh_token", "Refresh token"),
]


@pytest.mark.parametrize("mode, name, title", SECRET_FIELDS)
@pytest.mark.parametrize("bad", ["\n", "\r", "\r\n", "\x00", "\t", " ", "\x85", "\u2028", "\u00e9"])
def test_a_secret_no_http_header_can_carry_is_refused_without_its_value(mode, name, title, bad):
    secret = f"SECRETHEAD-q1{bad}SECRETTAIL-q2"
    with pytest.raises(ConfigError) as raised:
        ConnectorConfig.parse(config(mode, creds={name: secret}))
    message = str(raised.value)
    assert message.startswith(title) and f"credentials.{name}" in message and "control character" in message
    assert "SECRETHEAD" not in message and "SECRETTAIL" not in message


def test_surrounding_whitespace_of_a_secret_is_still_forgiven():
    parsed = ConnectorConfig.parse(config("access_token", creds={"access_token": "  tok-SECRET-x1\n"}))
    assert parsed.credentials.access_token.strip() == "tok-SECRET-x1"
    assert ConnectorConfig.parse(config("token_id", creds={"token_service_key": "  "}))  # blank key: no key
    with pytest.raises(ConfigError, match="Access token is empty"):
        ConnectorConfig.parse(config("access_token", creds={"access_token": " \n "}))


def test_register_secret_masks_escaped_forms_and_pieces():
    secret = "MASKHEAD-w1\nMASKTAIL-w2\u00e9"
    register_secret(secret)
    for text in (
        secret,
        "'Bearer MASKHEAD-w1\\nMASKTAIL-w2\\xe9'",
        '"MASKHEAD-w1\\nMASKTAIL-w2\\u00e9"',
        "MASKTAIL-w2\u00e9 alone",
    ):
        masked = filter_secrets(f"error: {text}")
        assert "MASKHEAD" not in masked and "MASKTAIL" not in masked, masked
    register_secret("ab\ncd")  # pieces shorter than 8 characters are not masked on their own: "ab" is everywhere
    assert filter_secrets("about cdrom") == "about cdrom"


@pytest.mark.parametrize(
    "minted", ["tok-SECRET-m1\n", "tok-SECRET-m1\r\nX-Injected: 1", " tok-SECRET-m1", "tok SECRET"]
)
def test_a_minted_token_no_header_can_carry_is_refused(m, minted):
    clock = FakeClock()
    m.post(TOKEN_SERVICE, json={"access_token": minted, "expires_in": 3600})
    provider = TokenIdProvider(TOKEN_ID, TOKEN_SERVICE, None, ACCOUNT, clock=clock, sleep=clock.sleep)
    with pytest.raises(ConfigError) as raised:
        provider.token()
    assert "The token service at cdp.example.test returned an access token that is not a valid HTTP header value" in (
        str(raised.value)
    )
    assert "SECRET" not in str(raised.value)
    assert "SECRET" not in filter_secrets(f"{minted!r} {minted!a}")


def test_a_minted_oauth_token_no_header_can_carry_is_refused(m):
    clock = FakeClock()
    m.post(f"{OAUTH}{c.OAUTH_TOKEN_PATH}", json={"access_token": "tok-SECRET-m2\n", "expires_in": 3600})
    provider = OAuth2Provider("client", "secret-SECRET-1", "refresh-SECRET-1", OAUTH, clock=clock, sleep=clock.sleep)
    with pytest.raises(
        ConfigError, match=r"LinkedIn's OAuth service at oauth\.linkedin\.test returned an access token"
    ):
        provider.token()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_of_the_token_service_is_an_error_not_followed(m, status):
    clock = FakeClock()
    m.post(TOKEN_SERVICE, status_code=status, headers={"Location": "https://elsewhere.test/token"})
    elsewhere = m.post("https://elsewhere.test/token", json={"access_token": "tok-SECRET-m3"})
    provider = TokenIdProvider(TOKEN_ID, TOKEN_SERVICE, "svc-SECRET-k", ACCOUNT, clock=clock, sleep=clock.sleep)
    with pytest.raises(ConfigError, match=f"answered HTTP {status}, a redirect; the connector does not follow"):
        provider.token()
    assert m.call_count == 1 and not elsewhere.called and clock.sleeps == []


class _Tokens:
    description = "the access token"
    scopes = None
    refresh_token_expires_at = None

    def __init__(self, value: str) -> None:
        self.value = value

    def token(self) -> str:
        return self.value

    def refresh(self, rejected: str) -> bool:
        return False


def test_client_never_follows_a_redirect(m):
    m.post(f"{API}{c.CONVERSION_EVENTS_PATH}", status_code=307, headers={"Location": "https://elsewhere.test/x"})
    elsewhere = m.post("https://elsewhere.test/x", json={"elements": [{"status": 201}]})
    client = LinkedInClient(API, "202607", _Tokens("tok-SECRET-c1"), sleep=lambda s: None)
    with pytest.raises(ConfigError, match=r"HTTP 307, a redirect.*Check API base URL"):
        client.send_events(Batch([{"eventId": "e1"}]))
    assert m.call_count == 1 and not elsewhere.called


def test_client_turns_an_invalid_header_into_a_sentence_without_the_token(m):
    client = LinkedInClient(API, "202607", _Tokens("tok-SECRET-c2\nX: y"), sleep=lambda s: None)
    with pytest.raises(ConfigError) as raised:
        client.send_events(Batch([{"eventId": "e1"}]))
    assert "not a valid HTTP header value" in str(raised.value) and "SECRET" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.parametrize("element", [1, "ok", None, [201], True])
def test_a_non_object_element_in_a_200_answer_is_a_transport_error(m, element):
    m.post(f"{API}{c.CONVERSION_EVENTS_PATH}", json={"elements": [{"status": 201}, element]})
    client = LinkedInClient(API, "202607", _Tokens("tok-SECRET-c3"), sleep=lambda s: None)
    with pytest.raises(TransportError, match="status 2 of its answer is not an object"):
        client.send_events(Batch([{"eventId": "e1"}, {"eventId": "e2"}]))
