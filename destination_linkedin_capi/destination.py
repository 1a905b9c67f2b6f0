"""The Airbyte `Destination`: spec / check / write glue. No LinkedIn JSON and no HTTP here."""

from __future__ import annotations

import argparse
import io
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    ConfiguredAirbyteCatalog,
    Status,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import get_secrets, update_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException, FailureType

from destination_linkedin_capi.check import run_check
from destination_linkedin_capi.errors import ConfigError

logger = logging.getLogger("airbyte")


def _config_failure(error: Exception) -> AirbyteConnectionStatus:
    return AirbyteConnectionStatus(status=Status.FAILED, message=str(error))


class DestinationLinkedinCapi(Destination):
    def run_cmd(self, parsed_args: argparse.Namespace) -> Iterable[AirbyteMessage]:
        """As the CDK's, but config problems are reported by our own validation (field names, no values)."""
        spec = self.spec(logger)
        if parsed_args.command == "spec":
            yield AirbyteMessage(type=Type.SPEC, spec=spec)
            return
        try:
            config = self.read_config(config_path=parsed_args.config)
        except Exception as error:
            reason = (
                f"The config file {parsed_args.config} could not be read as a JSON object ({type(error).__name__})."
            )
            if parsed_args.command == "check":
                yield AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=_config_failure(ConfigError(reason)))
                return
            raise AirbyteTracedException(message=reason, failure_type=FailureType.config_error) from None
        update_secrets(get_secrets(spec.connectionSpecification, config))
        if parsed_args.command == "check":
            yield self._run_check(config=config)
        else:
            yield from self._run_write(
                config=config,
                configured_catalog_path=parsed_args.catalog,
                input_stream=io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8"),
            )

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Never raises and never echoes a secret: every failure is one plain FAILED sentence (see check.py)."""
        return run_check(config, logger)

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[AirbyteMessage],
    ) -> Iterable[AirbyteMessage]:
        raise AirbyteTracedException(
            message="Writing is not available in this build of destination-linkedin-capi yet; nothing was sent.",
            internal_message="write is not implemented",
            failure_type=FailureType.config_error,
        )
