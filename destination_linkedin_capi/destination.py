"""The Airbyte `Destination`: spec / check / write glue. No LinkedIn JSON and no HTTP here."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from airbyte_cdk.destinations import Destination
from airbyte_cdk.logger import PRINT_BUFFER
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    ConfiguredAirbyteCatalog,
    Status,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import get_secrets, update_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException, FailureType

from destination_linkedin_capi.airbyte.catalog import catalog_streams, read_catalog
from destination_linkedin_capi.airbyte.input import message_lines
from destination_linkedin_capi.commands.check import run_check
from destination_linkedin_capi.commands.discover import destination_catalog, existing_rules
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, SyncCancelled
from destination_linkedin_capi.safety import register_secret
from destination_linkedin_capi.write.session import WriteSession

logger = logging.getLogger("airbyte")


def emit_to_stdout(message: dict[str, Any]) -> None:
    """Write one message line through the CDK's print buffer, so it stays in order with the log lines. A STATE
    holding an integer beyond 64 bits, which orjson cannot write, is written digit for digit by Python's encoder."""
    try:
        text = orjson.dumps(message).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    PRINT_BUFFER.write(text + "\n")
    PRINT_BUFFER.flush()


def _config_failure(error: Exception) -> AirbyteConnectionStatus:
    return AirbyteConnectionStatus(status=Status.FAILED, message=str(error))


class DestinationLinkedinCapi(Destination):
    def run(self, args: list[str]) -> None:
        """As the CDK's, but an expected failure (config or transient) ends with its sentence, not a traceback."""
        try:
            super().run(args)
        except AirbyteTracedException as error:
            if error.failure_type == FailureType.system_error:
                raise
            message = error.as_sanitized_airbyte_message()
            assert message.trace is not None and message.trace.error is not None
            message.trace.error.stack_trace = None
            emit_to_stdout(AirbyteMessageSerializer.dump(message))
            cancelled = error.__cause__
            sys.exit(128 + cancelled.signum if isinstance(cancelled, SyncCancelled) else 1)

    def parse_args(self, args: list[str]) -> argparse.Namespace:
        """The CDK's commands (spec, check, write) plus data activation's `discover --config`, all in `--help`."""
        parser = argparse.ArgumentParser(
            prog="destination-linkedin-capi", description="Airbyte destination for the LinkedIn Conversions API."
        )
        commands = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")
        commands.add_parser("spec", help="print the configuration specification (JSON schema)")
        for name, help_text in (
            ("check", "check that the config can reach the ad account and its conversion rules"),
            ("discover", "print the destination catalog of data activation (the objects records can map to)"),
            ("write", "send the records read on stdin to LinkedIn, echoing each STATE once its records are settled"),
        ):
            command = commands.add_parser(name, help=help_text)
            command.add_argument("--config", type=str, required=True, help="path to the JSON configuration file")
            if name == "write":
                command.add_argument(
                    "--catalog", type=str, required=True, help="path to the configured catalog JSON file"
                )
        return parser.parse_args(args)

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
        secrets = get_secrets(spec.connectionSpecification, config)
        update_secrets(list(secrets))  # the CDK keeps the list it is given and appends to it
        for secret in secrets:  # also their escaped forms and pieces, which an error text could quote
            if isinstance(secret, str):
                register_secret(secret)
        if parsed_args.command == "check":
            yield self._run_check(config=config)
        elif parsed_args.command == "discover":
            try:
                parsed = ConnectorConfig.parse(config)
            except ConfigError as error:
                raise AirbyteTracedException(message=str(error), failure_type=FailureType.config_error) from None
            emit_to_stdout(destination_catalog(parsed, existing_rules(parsed, config, emit_to_stdout)))
        else:
            self.write_lines(config, parsed_args.catalog, sys.stdin.buffer, emit_to_stdout)

    def write_lines(
        self,
        config: Mapping[str, Any],
        catalog_path: str,
        lines: Iterable[bytes],
        emit: Callable[[dict[str, Any]], None],
    ) -> None:
        """The CLI write path: raw JSON lines in, raw STATE dicts out (so the platform's state `id` survives)."""
        try:
            parsed = ConnectorConfig.parse(config)
            streams = read_catalog(catalog_path)
        except ConfigError as error:
            raise AirbyteTracedException(message=str(error), failure_type=FailureType.config_error) from None
        session = WriteSession(parsed, streams, emit, raw_config=config)
        with session.cancellation.handling_signals():  # SIGTERM/SIGINT: see cancel.py
            session.run(lines)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Never raises and never echoes a secret: every failure is one plain FAILED sentence (see check.py)."""
        return run_check(config, logger, emit=emit_to_stdout)

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[AirbyteMessage],
    ) -> Iterable[AirbyteMessage]:
        """The CDK's in-process interface (the CLI uses `write_lines`): CDK messages in, STATE messages out."""
        try:
            parsed = ConnectorConfig.parse(config)
            streams = catalog_streams(configured_catalog)
        except ConfigError as error:
            raise AirbyteTracedException(message=str(error), failure_type=FailureType.config_error) from None
        out: deque[dict[str, Any]] = deque()
        # The CDK's models (protocol 0.17) have no `destinationStats.rejectedRecordCount` and would drop it.
        session = WriteSession(parsed, streams, out.append, raw_config=config, rejected_count=False)
        session.run(message_lines(AirbyteMessageSerializer.dump(message) for message in input_messages))
        while out:
            yield AirbyteMessageSerializer.load(out.popleft())
