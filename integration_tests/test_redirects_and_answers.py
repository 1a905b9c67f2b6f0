"""Answers LinkedIn never gives but a proxy, a misconfigured URL or a broken gateway might, through the real CLI.

A 3xx is never followed, on LinkedIn calls nor on token-service or OAuth calls: a 307 would re-post the events
(or the service key, or the client secret) to another origin, and its 200 would count as sent. The sync ends with
a config_error naming the status; the other origin (the sandbox here) receives nothing. A 200 BATCH_CREATE answer
whose element is not an object ends in a transient_error sentence, not a crash.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from destination_linkedin_capi import constants as c
from devtools.sample_data import catalog
from integration_tests.tiny_server import TinyServer, json_answer, only, reads_from, redirect_to
from integration_tests.writing import ACCOUNT, RULES, TOKEN, WriteRun, access_token_config, run_write, seed_access_token
from unit_tests.conftest import run_cli

pytestmark = pytest.mark.timeout(120)

MAPPING = ",".join(f"{event}={rule}" for event, rule in RULES.items())
TOKEN_ID = "590708082141560832"
SERVICE_KEY = "svc-key-SECRET-r3"
CLIENT_SECRET = "client-SECRET-r4"
REFRESH_TOKEN = "refresh-SECRET-r5"
SECRETS = (TOKEN, SERVICE_KEY, CLIENT_SECRET, REFRESH_TOKEN)


def two_leads() -> list[bytes]:
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    lines = []
    for n in (1, 2):
        data = {"id": f"l{n}", "email": f"lead{n}@example.com", "event_time": when}
        lines.append(json.dumps({"type": "RECORD", "record": {"stream": "leads", "data": data}}).encode())
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "leads"}, "stream_state": {"n": 2}}}
    lines.append(json.dumps({"type": "STATE", "id": 1, "state": state}).encode())
    return lines


def failed_write(tmp_path: Path, config: dict[str, Any], failure_type: str) -> tuple[WriteRun, str]:
    run = run_write(tmp_path, config, catalog(), two_leads(), timeout=60)
    assert run.code == 1, run.output
    assert "Traceback" not in run.output
    for secret in SECRETS:
        assert secret not in run.output
    errors = [t["error"] for t in run.traces if t["type"] == "ERROR"]
    assert len(errors) == 1, run.output
    assert errors[0]["failure_type"] == failure_type, errors[0]
    assert run.states == [], "the state covering undelivered records was echoed"
    return run, errors[0]["message"]


def test_a_307_on_batch_create_is_not_followed(sandbox, tmp_path: Path):
    """LinkedIn's address answers 307 towards another origin: nothing is re-posted there, nothing counts as sent,
    and the redirect is not retried."""
    seed_access_token(sandbox)
    with TinyServer(reads_from(sandbox.url, redirect_to(sandbox.url, 307))) as front:
        _, message = failed_write(tmp_path, access_token_config(sandbox, api_base_url=front.url), "config_error")
    assert "HTTP 307" in message and "does not follow redirects" in message and "API base URL" in message, message
    assert f"POST {c.CONVERSION_EVENTS_PATH}" in message, message
    assert [(r.method, r.path) for r in front.requests if r.method != "GET"] == [("POST", c.CONVERSION_EVENTS_PATH)]
    assert sandbox.event_ids() == [] and c.CONVERSION_EVENTS_PATH not in sandbox.stats()["by_path"]


@pytest.mark.parametrize("status", [301, 302, 303, 308])
def test_other_redirects_on_batch_create_are_not_followed_either(sandbox, tmp_path: Path, status: int):
    seed_access_token(sandbox)
    with TinyServer(reads_from(sandbox.url, redirect_to(sandbox.url, status))) as front:
        _, message = failed_write(tmp_path, access_token_config(sandbox, api_base_url=front.url), "config_error")
    assert f"HTTP {status}" in message and "does not follow redirects" in message, message
    assert len([r for r in front.requests if r.method != "GET"]) == 1
    assert c.CONVERSION_EVENTS_PATH not in sandbox.stats()["by_path"]


def check(tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code, messages, stdout, stderr = run_cli(["check", "--config", str(path)])
    output = stdout + stderr
    assert code == 0 and "Traceback" not in output, output
    for secret in SECRETS:
        assert secret not in output
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    return status


def test_check_does_not_follow_a_redirect_of_linkedin(sandbox, tmp_path: Path):
    seed_access_token(sandbox)
    with TinyServer(redirect_to(sandbox.url, 307)) as front:
        status = check(tmp_path, access_token_config(sandbox, api_base_url=front.url, max_retry_seconds=2))
    assert status["status"] == "FAILED"
    assert "HTTP 307" in status["message"] and "does not follow redirects" in status["message"], status
    assert len(front.requests) == 1 and sandbox.stats()["requests"] == 0


@pytest.mark.parametrize("mode", ["token_id", "oauth2"])
def test_a_redirect_of_the_token_service_is_not_followed(sandbox, tmp_path: Path, mode: str):
    """The token request (service key, or client secret and refresh token) is not re-sent to another origin,
    in `check` and in `write`."""
    seed_access_token(sandbox)
    with TinyServer(redirect_to(sandbox.url, 307)) as front:
        if mode == "token_id":
            sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "ACCOUNT_MANAGER"}, service_key=SERVICE_KEY)
            credentials = {
                "auth_type": "token_id",
                "token_id": TOKEN_ID,
                "token_service_url": f"{front.url}/cdp/v1/token",
                "token_service_key": SERVICE_KEY,
                "conversion_mapping": MAPPING,
            }
            config = access_token_config(sandbox, credentials=credentials)
            expected = ("The token service at 127.0.0.1", "Token service URL")
        else:
            sandbox.add_oauth_client("capi-app", CLIENT_SECRET)
            sandbox.add_refresh_token("capi-app", REFRESH_TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
            credentials = {
                "auth_type": "oauth2",
                "client_id": "capi-app",
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
                "conversion_mapping": MAPPING,
            }
            config = access_token_config(sandbox, credentials=credentials, oauth_base_url=front.url)
            expected = ("LinkedIn's OAuth service at 127.0.0.1", "OAuth base URL")
        status = check(tmp_path, config)
        _, message = failed_write(tmp_path, config, "config_error")
    for sentence in (status["message"], message):
        assert "HTTP 307" in sentence and "does not follow redirects" in sentence, sentence
        assert all(part in sentence for part in expected), sentence
    assert status["status"] == "FAILED"
    assert len(front.requests) == 2  # one token request per run, not retried
    assert sandbox.stats()["requests"] == 0, "the token request was re-sent to the other origin"


def test_a_200_with_a_non_object_element_is_a_transient_error(sandbox, tmp_path: Path):
    seed_access_token(sandbox)  # the account and rules every sync reads first
    answer = json_answer(200, {"elements": [1, {"status": 201}]})
    with TinyServer(reads_from(sandbox.url, only("POST", c.CONVERSION_EVENTS_PATH, answer))) as linkedin:
        _, message = failed_write(tmp_path, access_token_config(sandbox, api_base_url=linkedin.url), "transient_error")
    assert "status 1 of its answer is not an object" in message and "batch of 2 events" in message, message
    assert len([r for r in linkedin.requests if r.method == "POST"]) == 1
