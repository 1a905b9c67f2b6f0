"""Data-activation `discover`: one DESTINATION_CATALOG operation per configured conversion event, plus, in the
token-ID and OAuth modes, one per enabled Conversions API rule of the ad account that no configured event goes
to — named `<rule name> (rule <id>)`, so a stream mapped to it in Airbyte's UI is sent to that rule
(`airbyte.catalog.rule_events` turns such catalog objects into events for `write`).

The Python CDK has no destination discover (its `Destination` implements spec, check and write only), so the message is
built as plain JSON in the protocol's shape (`DestinationCatalog{operations: [DestinationOperation]}`;
wire names `object_name`, `sync_mode`, `json_schema`, `matching_keys`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from destination_linkedin_capi.airbyte.catalog import rule_object_name
from destination_linkedin_capi.airbyte.config_updates import ConfigUpdates
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, ConnectorError
from destination_linkedin_capi.linkedin.connect import COMMAND_RETRY_SECONDS, connect
from destination_linkedin_capi.linkedin.rules import Rule, list_rules, plan
from destination_linkedin_capi.linkedin.versions import ApiVersion
from destination_linkedin_capi.mapping.fields import FIELDS as ALL_FIELDS
from destination_linkedin_capi.mapping.identifiers import IDENTIFIERS

logger = logging.getLogger("airbyte")
#: `discover` gives up on an unresponsive LinkedIn or token service after this long (as `check` does).
DISCOVER_RETRY_SECONDS = COMMAND_RETRY_SECONDS

# The record fields the mapping recognises (docs/mapping.md), with what LinkedIn does with them.
FIELDS: dict[str, dict[str, Any]] = {
    f.name: {"type": list(f.json_type), "description": f.description} for f in ALL_FIELDS if f.description is not None
}
REQUIRED = ["conversion_happened_at"]


def matching_keys(version: ApiVersion) -> list[list[str]]:
    """The ways to identify a member, any one enough (first and last name only as a pair), with `version`: an
    identifier it does not take alone (the lead before 202605) is no matching key of its own."""
    return [identifier.matching_key for identifier in IDENTIFIERS if identifier.alone_with(version)]


def _offered(config: ConnectorConfig) -> set[str]:
    """The fields the mapping sends with this config's API version (docs/linkedin-facts.md §4)."""
    version = ApiVersion(config.api_version)
    offered = set(FIELDS)
    for identifier in IDENTIFIERS:
        if not identifier.sent_with(version):
            offered.difference_update(f.name for f in identifier.fields)
    return offered


def existing_rules(
    config: ConnectorConfig,
    raw_config: Mapping[str, Any] | None = None,
    emit: Callable[[dict[str, Any]], None] | None = None,
    *,
    session: requests.Session | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Rule]:
    """Token-ID/OAuth: the account's enabled Conversions API rules that no configured event resolves to. Empty,
    with a warning, when LinkedIn cannot be asked: the configured events are still valid operations. `emit`
    gets the CONTROL message of a refresh token rotated on the way (config_updates.py). Like `check`, it gives up
    within DISCOVER_RETRY_SECONDS, however the token service or LinkedIn fails (linkedin/connect.py)."""
    if not config.can_manage_rules:
        return []
    client = connect(config, deadline_seconds=DISCOVER_RETRY_SECONDS, session=session, clock=clock, sleep=sleep)
    tokens = client.tokens
    try:
        rules = list_rules(client, config.account_urn)
        taken = {resolution.rule_id for resolution in plan(config, rules)}
    except (ConnectorError, ConfigError) as error:
        logger.warning(
            "discover lists the configured events only: the existing conversion rules could not be read (%s)", error
        )
        return []
    finally:
        if emit is not None and raw_config is not None:
            ConfigUpdates(raw_config, tokens, emit).flush()
    return sorted((rule for rule in rules if rule.usable and rule.id not in taken), key=lambda rule: rule.id)


def destination_catalog(config: ConnectorConfig, rules: Sequence[Rule] = ()) -> dict[str, Any]:
    """The DESTINATION_CATALOG message (as a JSON-ready dict) for the configured events and the given existing
    rules; it offers only fields that reach LinkedIn, so a column mapped in Airbyte's UI is never silently left out."""
    offered = _offered(config)
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "required": REQUIRED,
        "properties": {name: spec for name, spec in FIELDS.items() if name in offered},
    }
    keys = matching_keys(ApiVersion(config.api_version))
    keys = [key for key in keys if offered.issuperset(key)]
    names = [event.name for event in config.events.values()] + [rule_object_name(rule) for rule in rules]
    operations = [
        {"object_name": name, "sync_mode": "append", "json_schema": schema, "matching_keys": keys} for name in names
    ]
    return {"type": "DESTINATION_CATALOG", "destination_catalog": {"operations": operations}}
