"""Airbyte CDK's own standard destination tests (spec lint, secrets not in output, check, config vs spec).

The connector class and name are set explicitly: CI clones into a folder that is not named
`destination-linkedin-capi`. The suite's Docker image tests need a Docker engine, which these
machines lack (only the client exists); pyproject.toml deselects them with `-m "not image_tests"`.
"""

from pathlib import Path

from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase

from destination_linkedin_capi import DestinationLinkedinCapi


class TestStandardDestinationSuite(DestinationTestSuiteBase):
    connector = DestinationLinkedinCapi
    connector_name = "destination-linkedin-capi"

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return Path(__file__).resolve().parent.parent
