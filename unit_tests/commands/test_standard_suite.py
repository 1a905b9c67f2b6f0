"""Airbyte CDK's own standard destination tests (spec lint, secrets not in output, check, config vs spec).

The connector class and name are set explicitly: CI clones into a folder that is not named
`destination-linkedin-capi`. The suite's Docker image tests need a Docker engine, which these
machines lack (only the client exists); pyproject.toml deselects them with `-m "not image_tests"`.

`check` verifies the credentials against LinkedIn even in a dry run, so the suite's `check` scenarios run
against the sandbox: it is seeded with the sample config's account, token and rules, and each scenario's
config is pointed at it (`api_base_url`); nothing else of the scenario changes.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from airbyte_cdk.test.models.scenario import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase
from linkedin_capi_sandbox import Sandbox

from destination_linkedin_capi import DestinationLinkedinCapi
from unit_tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="class")
def sample_linkedin() -> Iterator[Sandbox]:
    """The LinkedIn that integration_tests/sample_config.json describes: its token reaches account 512345678 as an
    account manager, with rules 22285180 (LEAD) and 22285181 (PURCHASE)."""
    with Sandbox() as sandbox:
        sandbox.add_token("sample-access-token-not-a-real-secret", {512345678: "ACCOUNT_MANAGER"})
        sandbox.add_rule(512345678, rule_id=22285180, name="CAPI LEAD", type="LEAD")
        sandbox.add_rule(512345678, rule_id=22285181, name="CAPI PURCHASE", type="PURCHASE")
        yield sandbox


class TestStandardDestinationSuite(DestinationTestSuiteBase):
    connector = DestinationLinkedinCapi
    connector_name = "destination-linkedin-capi"

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return ROOT

    def test_check(self, scenario: ConnectorTestScenario, sample_linkedin: Sandbox) -> None:  # type: ignore[override]
        config = scenario.get_config_dict(connector_root=ROOT, empty_if_missing=True)
        pointed = scenario.model_copy(update={"config_dict": {**config, "api_base_url": sample_linkedin.url}})
        super().test_check(pointed)


def test_an_older_config_in_the_text_forms_checks_as_the_sample_does(sample_linkedin, write_json):
    """Configs saved before the list forms keep the mapping inside Authentication and both mappings as text."""
    older = {
        "account_id": "512345678",
        "credentials": {
            "auth_type": "access_token",
            "access_token": "sample-access-token-not-a-real-secret",
            "conversion_mapping": "LEAD=22285180,PURCHASE=22285181",
        },
        "stream_events": "leads=LEAD,purchases=PURCHASE",
        "dry_run": True,
    }
    sample = json.loads((ROOT / "integration_tests" / "sample_config.json").read_text())
    messages = []
    for config in (older, sample):
        path = write_json(f"config-{len(messages)}.json", {**config, "api_base_url": sample_linkedin.url})
        code, lines, _, stderr = run_cli(["check", "--config", str(path)])
        assert code == 0, stderr
        [status] = [line["connectionStatus"] for line in lines if line["type"] == "CONNECTION_STATUS"]
        assert status["status"] == "SUCCEEDED", status["message"]
        messages.append(status["message"])
    assert messages[0] == messages[1]
    assert "LEAD → rule 22285180" in messages[0] and "PURCHASE → rule 22285181" in messages[0]
