"""The Airbyte error that ends a sync: an error's sentence and failure type (failures.py) as a traced exception."""

from __future__ import annotations

from airbyte_cdk.utils.traced_exception import AirbyteTracedException, FailureType

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConnectorError
from destination_linkedin_capi.failures import failure_type, sentence


def traced(error: BaseException, config: ConnectorConfig) -> AirbyteTracedException:
    """A connector error gets its plain sentence and failure type; anything else is a system error with its trace."""
    if not isinstance(error, ConnectorError):
        return AirbyteTracedException.from_exception(error)
    return AirbyteTracedException(message=sentence(error, config), failure_type=FailureType(failure_type(error)))
