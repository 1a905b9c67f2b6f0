"""Airbyte CDK's own standard destination tests (spec lint, secrets not in output, check, config vs spec).

The connector class and name are set explicitly: CI clones into a folder that is not named
`destination-linkedin-capi`. The suite's Docker image tests need a Docker engine, which these
machines lack (only the client exists); pyproject.toml deselects them with `-m "not image_tests"`.

`check` verifies the credentials against LinkedIn even in a dry run, so the suite's `check` scenarios run
against the sandbox: it is seeded with the sample config's account, token and rules, and each scenario's
config is pointed at it (`api_base_url`); nothing else of the scenario changes.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from airbyte_cdk.test.models.scenario import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase
from linkedin_capi_sandbox import Sandbox

from destination_linkedin_capi import DestinationLinkedinCapi

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
