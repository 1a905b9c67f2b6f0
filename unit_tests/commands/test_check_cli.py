"""`check` from the CLI: one CONNECTION_STATUS, exit 0, no traceback, no secret, a sentence naming the problem."""

import pytest

from unit_tests.conftest import run_cli

SECRET = "s3cr3t-token-value-9f2"


def check(write_json, config):
    code, messages, stdout, stderr = run_cli(["check", "--config", str(write_json("config.json", config))])
    statuses = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert code == 0, stderr
    assert len(statuses) == 1
    assert "Traceback" not in stdout + stderr
    assert SECRET not in stdout + stderr
    return statuses[0]


def config(**overrides):
    base = {
        "account_id": "512345678",
        "credentials": {"auth_type": "access_token", "access_token": SECRET, "conversion_mapping": "LEAD=22285180"},
        "dry_run": True,
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    "mapping, fragment",
    [
        ("LEAD=22285180,PURCHASE", "'PURCHASE'"),
        ("LEAD=22285180,PURCHASE=abc", "'PURCHASE=abc'"),
        ("LEAD=1,lead=2", "'lead=2'"),
    ],
)
def test_malformed_mapping_fails_naming_the_pair(write_json, mapping, fragment):
    cfg = config(credentials={"auth_type": "access_token", "access_token": SECRET, "conversion_mapping": mapping})
    status = check(write_json, cfg)
    assert status["status"] == "FAILED"
    assert (fragment in status["message"] and "EVENT=CONVERSION_ID" in status["message"]) or "twice" in status[
        "message"
    ]


def test_bad_account_id_fails_naming_the_field(write_json):
    status = check(write_json, config(account_id="acme-account"))
    assert status["status"] == "FAILED"
    assert "account_id" in status["message"]
    assert "acme-account" not in status["message"]
