"""Hostile or mistyped URLs and secrets, through the real CLI (`check` and `write`) against the sandbox.

A configured URL that two URL parsers read differently (a backslash), or that holds userinfo, whitespace,
control or non-ASCII characters, is refused with a config error naming the field, before any request. A
configured secret holding a line break or another character no HTTP header may carry is refused the same way,
and so is such a token minted by the token service or LinkedIn's OAuth endpoint. No form of a refused secret
(raw, JSON- or repr-escaped, or a piece of it) and no part of a URL's userinfo reaches stdout or stderr, and
nothing ends in a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.sample_data import catalog
from integration_tests.tiny_server import TinyServer, json_answer, only
from integration_tests.writing import ACCOUNT, RULES, TOKEN, access_token_config, run_write, seed_access_token
from unit_tests.conftest import run_cli

pytestmark = pytest.mark.timeout(120)

MAPPING = ",".join(f"{event}={rule}" for event, rule in RULES.items())
TOKEN_ID = "590708082141560832"
STATE = {"type": "STATE", "id": 1, "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "leads"}}}}


def lines() -> list[bytes]:
    """One sendable lead and a state."""
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    data = {"id": "l1", "email": "jane@example.com", "event_time": when}
    return [
        json.dumps({"type": "RECORD", "record": {"stream": "leads", "data": data}}).encode(),
        json.dumps(STATE).encode(),
    ]


def check(tmp_path: Path, config: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """`python main.py check`: exit 0, one CONNECTION_STATUS, no traceback; (status, whole output)."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code, messages, stdout, stderr = run_cli(["check", "--config", str(path)])
    output = stdout + stderr
    assert code == 0, output
    assert "Traceback" not in output
    statuses = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert len(statuses) == 1, output
    return statuses[0], output


def write_fails(tmp_path: Path, config: dict[str, Any], failure_type: str = "config_error") -> tuple[str, str]:
    """`python main.py write` ends with exit 1 and one ERROR TRACE of `failure_type`; (its message, whole output)."""
    run = run_write(tmp_path, config, catalog(), lines(), timeout=60)
    assert run.code == 1, run.output
    assert "Traceback" not in run.output
    errors = [t["error"] for t in run.traces if t["type"] == "ERROR"]
    assert len(errors) == 1, run.output
    assert errors[0]["failure_type"] == failure_type, errors[0]
    assert not [s for s in run.states], "no state may be echoed when the config is refused"
    return errors[0]["message"], run.output


def forms(secret: str) -> list[str]:
    """Every form a secret could leak in: raw, JSON-escaped, repr-escaped, and each piece between control bytes."""
    pieces = [piece for piece in "".join(ch if ch.isprintable() else "\0" for ch in secret).split("\0") if piece]
    return [secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], *pieces]


def assert_no_form_of(secret: str, output: str) -> None:
    for form in forms(secret):
        assert form not in output, f"a form of the secret was printed: {form!r}"


# --- URLs -------------------------------------------------------------------------------------------------------


@pytest.fixture
def evil() -> Iterator[TinyServer]:
    """Where a URL that parsers read differently would really send the request (and the token)."""
    with TinyServer(only("GET", "/never", json_answer(200, {}))) as server:
        yield server


def bad_urls(sandbox_url: str, evil_port: int) -> dict[str, tuple[str, str]]:
    """id → (URL, a fragment the refusal must contain). The first is the one that sends the token in clear today:
    urlsplit sees 127.0.0.1 (this machine, so plain http is allowed), requests connects to localhost:<evil>."""
    host_port = sandbox_url.removeprefix("http://")
    return {
        "backslash": (f"http://localhost:{evil_port}\\@{host_port}", "backslash"),
        "fullwidth-at": (f"http://evil.example\uff20{host_port}", "non-ASCII"),
        "userinfo": (f"http://SECRETUSER-7q:SECRETPASS-8r@{host_port}", "user name or password"),
        "line-break": (f"{sandbox_url}/\nHost: evil.example", "whitespace or control"),
        "space": (f"{sandbox_url}/a b", "whitespace or control"),
        "nul": (f"{sandbox_url}\x00.evil.example", "whitespace or control"),
        "cyrillic-host": ("https://\u0430pi.linkedin.com", "non-ASCII"),
        "percent-in-host": (f"http://evil.example%40{host_port}", "host name"),
    }


URL_CASES = ["backslash", "fullwidth-at", "userinfo", "line-break", "space", "nul", "cyrillic-host", "percent-in-host"]


def assert_refused_url(message: str, output: str, field: str, fragment: str, url: str) -> None:
    assert field in message and fragment in message, message
    for leaked in ("SECRETUSER-7q", "SECRETPASS-8r", "evil.example", url):
        assert leaked not in output, f"the URL or its userinfo was echoed: {leaked!r}"
    assert TOKEN not in output


@pytest.mark.parametrize("case", URL_CASES)
def test_check_refuses_a_bad_api_base_url(sandbox, evil: TinyServer, tmp_path: Path, case: str):
    seed_access_token(sandbox)
    url, fragment = bad_urls(sandbox.url, evil.port)[case]
    status, output = check(tmp_path, access_token_config(sandbox, api_base_url=url))
    assert status["status"] == "FAILED"
    assert_refused_url(status["message"], output, "API base URL", fragment, url)
    assert evil.requests == [], "the request (and the bearer token) went to the host the HTTP client saw"
    assert sandbox.stats()["requests"] == 0


@pytest.mark.parametrize("case", ["backslash", "fullwidth-at", "userinfo"])
def test_write_refuses_a_bad_api_base_url(sandbox, evil: TinyServer, tmp_path: Path, case: str):
    seed_access_token(sandbox)
    url, fragment = bad_urls(sandbox.url, evil.port)[case]
    message, output = write_fails(tmp_path, access_token_config(sandbox, api_base_url=url))
    assert_refused_url(message, output, "API base URL", fragment, url)
    assert evil.requests == [] and sandbox.event_ids() == []


def token_id_credentials(url: str, key: str | None = "svc-key-SECRET-k1") -> dict[str, Any]:
    credentials = {
        "auth_type": "token_id",
        "token_id": TOKEN_ID,
        "token_service_url": url,
        "conversion_mapping": MAPPING,
    }
    if key is not None:
        credentials["token_service_key"] = key
    return credentials


def oauth_credentials(client_secret: str = "client-SECRET-c1", refresh_token: str = "refresh-SECRET-r1") -> dict:
    return {
        "auth_type": "oauth2",
        "client_id": "capi-app",
        "client_secret": client_secret,
        "refresh_token": refresh_token,
        "conversion_mapping": MAPPING,
    }


@pytest.mark.parametrize("field", ["Token service URL", "OAuth base URL"])
def test_check_refuses_a_backslash_in_the_token_urls(sandbox, evil: TinyServer, tmp_path: Path, field: str):
    url, fragment = bad_urls(sandbox.url, evil.port)["backslash"]
    if field == "Token service URL":
        sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "ACCOUNT_MANAGER"}, service_key="svc-key-SECRET-k1")
        config = access_token_config(sandbox, credentials=token_id_credentials(url + "/cdp/v1/token"))
    else:
        sandbox.add_oauth_client("capi-app", "client-SECRET-c1")
        sandbox.add_refresh_token("capi-app", "refresh-SECRET-r1", {ACCOUNT: "ACCOUNT_MANAGER"})
        config = access_token_config(sandbox, credentials=oauth_credentials(), oauth_base_url=url)
    status, output = check(tmp_path, config)
    assert status["status"] == "FAILED"
    assert_refused_url(status["message"], output, field, fragment, url)
    for secret in ("svc-key-SECRET-k1", "client-SECRET-c1", "refresh-SECRET-r1"):
        assert secret not in output
    assert evil.requests == [] and sandbox.stats()["requests"] == 0


# --- configured secrets -----------------------------------------------------------------------------------------

SECRET_CASES = {
    # id → (credentials builder, the secret, the field the refusal names)
    "access-token-lf": ("access_token", "SECRETHEAD-a1\nSECRETTAIL-b2", "Access token"),
    "access-token-crlf": ("access_token", "SECRETHEAD-a1\r\nSECRETTAIL-b2", "Access token"),
    "access-token-nul": ("access_token", "SECRETHEAD-a1\x00SECRETTAIL-b2", "Access token"),
    "service-key-lf": ("token_service_key", "KEYHEAD-c3\nKEYTAIL-d4", "Token service key"),
    "client-secret-lf": ("client_secret", "CLIENTHEAD-e5\nCLIENTTAIL-f6", "Client secret"),
    "refresh-token-lf": ("refresh_token", "REFRESHHEAD-g7\nREFRESHTAIL-h8", "Refresh token"),
}


def config_with_secret(sandbox, kind: str, secret: str) -> dict[str, Any]:
    """A config that would reach the sandbox with `secret` in the place `kind` names (the sandbox seeded for it)."""
    if kind == "access_token":
        sandbox.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
        credentials = {"auth_type": "access_token", "access_token": secret, "conversion_mapping": MAPPING}
    elif kind == "token_service_key":
        sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "ACCOUNT_MANAGER"}, service_key="svc-key-SECRET-k1")
        credentials = token_id_credentials(f"{sandbox.url}/cdp/v1/token", key=secret)
    else:
        sandbox.add_oauth_client("capi-app", "client-SECRET-c1")
        sandbox.add_refresh_token("capi-app", "refresh-SECRET-r1", {ACCOUNT: "ACCOUNT_MANAGER"})
        credentials = oauth_credentials(**{kind: secret})
    for event, rule in RULES.items():
        sandbox.add_rule(ACCOUNT, rule_id=rule, type=event, name=f"CAPI {event}")
    return access_token_config(sandbox, credentials=credentials)


@pytest.mark.parametrize("case", list(SECRET_CASES))
def test_check_refuses_a_secret_with_a_control_character(sandbox, tmp_path: Path, case: str):
    kind, secret, field = SECRET_CASES[case]
    status, output = check(tmp_path, config_with_secret(sandbox, kind, secret))
    assert status["status"] == "FAILED"
    assert field in status["message"] and "control character" in status["message"], status["message"]
    assert_no_form_of(secret, output)
    assert sandbox.stats()["requests"] == 0, "the secret was sent"


@pytest.mark.parametrize("case", ["access-token-lf", "service-key-lf", "refresh-token-lf"])
def test_write_refuses_a_secret_with_a_control_character(sandbox, tmp_path: Path, case: str):
    kind, secret, field = SECRET_CASES[case]
    message, output = write_fails(tmp_path, config_with_secret(sandbox, kind, secret))
    assert field in message and "control character" in message, message
    assert_no_form_of(secret, output)
    assert sandbox.stats()["requests"] == 0 and sandbox.event_ids() == []


# --- minted tokens ----------------------------------------------------------------------------------------------

MINTED = "MINTHEAD-i9\nMINTTAIL-j0"
MINTED_SENTENCE = "returned an access token that is not a valid HTTP header value"


@pytest.fixture(params=["token_id", "oauth2"])
def bad_issuer(request, sandbox) -> Iterator[tuple[dict[str, Any], TinyServer, str]]:
    """A token service (or OAuth endpoint) that answers 200 with a token holding a line break."""
    mode = request.param
    path = "/cdp/v1/token" if mode == "token_id" else "/oauth/v2/accessToken"
    body = {"access_token": MINTED, "expires_in": 3600, "scope": "r_ads,rw_conversions"}
    with TinyServer(only("POST", path, json_answer(200, body))) as issuer:
        if mode == "token_id":
            config = access_token_config(sandbox, credentials=token_id_credentials(issuer.url + path))
            service = "The token service"
        else:
            config = access_token_config(sandbox, credentials=oauth_credentials(), oauth_base_url=issuer.url)
            service = "LinkedIn's OAuth service"
        yield config, issuer, service


def test_check_refuses_a_minted_token_with_a_line_break(sandbox, tmp_path: Path, bad_issuer):
    config, issuer, service = bad_issuer
    status, output = check(tmp_path, config)
    assert status["status"] == "FAILED"
    assert service in status["message"] and MINTED_SENTENCE in status["message"], status["message"]
    assert_no_form_of(MINTED, output)
    assert len(issuer.requests) == 1 and sandbox.stats()["requests"] == 0


def test_write_refuses_a_minted_token_with_a_line_break(sandbox, tmp_path: Path, bad_issuer):
    config, issuer, service = bad_issuer
    seed_access_token(sandbox)
    message, output = write_fails(tmp_path, config)
    assert service in message and MINTED_SENTENCE in message, message
    assert_no_form_of(MINTED, output)
    assert len(issuer.requests) == 1 and sandbox.stats()["requests"] == 0
