"""docs/sandbox.md's example seed runs clean: `check` in each auth mode succeeds against a sandbox seeded with
exactly the JSON of the docs, and prints no secret and no masking artefact.

Airbyte masks every occurrence of a config secret in the output, so a seed with a short secret (a service key
"k") turns ordinary words into "chec****"; a seed with a past `expires_at` or injected faults would make the
example fail for whoever copies it.
"""

from __future__ import annotations

import json
import re

import pytest

from unit_tests.conftest import ROOT, run_cli

SECRET_FIELDS = {"token_service_key", "access_token", "client_secret", "refresh_token"}  # airbyte_secret in spec.json
DOC = (ROOT / "docs" / "sandbox.md").read_text(encoding="utf-8")


def docs_seed() -> dict:
    section = DOC.split("\n## Seeding\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```json\n(.*?)```", section, re.S)
    return json.loads(block)


def configs(seed: dict, url: str) -> dict[str, dict]:
    """One `check` config per auth mode, every credential taken from the seed."""
    (cdp,) = seed["cdp_token_ids"]
    (client,) = seed["oauth_clients"]
    (refresh,) = seed["refresh_tokens"]
    manager = next(token for token in seed["tokens"] if "state" not in token and token.get("expires_at") is None)
    purchase = next(rule for rule in seed["rules"] if rule["type"] == "PURCHASE")
    account = str(seed["accounts"][0]["account_id"])
    base = {"account_id": account, "api_base_url": url, "oauth_base_url": url}
    return {
        "token_id": {
            **base,
            "credentials": {
                "auth_type": "token_id",
                "token_id": cdp["token_id"],
                "token_service_url": f"{url}/cdp/v1/token",
                "token_service_key": cdp["service_key"],
            },
            "conversion_events": ["PURCHASE", "LEAD"],
        },
        "access_token": {
            **base,
            "credentials": {
                "auth_type": "access_token",
                "access_token": manager["token"],
                "conversion_mapping": f"PURCHASE={purchase['rule_id']}",
            },
        },
        "oauth": {
            **base,
            "credentials": {
                "auth_type": "oauth2",
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "refresh_token": refresh["refresh_token"],
            },
            "conversion_events": ["PURCHASE"],
        },
    }


def test_the_docs_seed_is_clean():
    seed = docs_seed()
    assert "faults" not in seed, "faults belong to the fault-injection section's example"
    for token in seed["tokens"]:
        assert token.get("expires_at") is None or token["expires_at"] > 4_000_000_000
    for entry in seed["cdp_token_ids"]:
        assert len(entry.get("service_key", "")) >= 12


@pytest.mark.parametrize("mode", ["token_id", "access_token", "oauth"])
def test_check_with_the_docs_seed_succeeds_and_prints_no_secret(sandbox, tmp_path, mode):
    seed = docs_seed()
    sandbox.seed(seed)
    config = configs(seed, sandbox.url)[mode]
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    code, messages, stdout, stderr = run_cli(["check", "--config", str(config_path)])
    assert code == 0, stderr
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "SUCCEEDED", status
    assert "Connected to ad account 512345678" in status["message"]
    assert "****" not in stdout, "a secret was masked inside the output"
    secrets = [value for key, value in config["credentials"].items() if key in SECRET_FIELDS]
    assert secrets
    for secret in secrets:
        assert secret not in stdout + stderr
