"""Data-activation `discover`: one DESTINATION_CATALOG operation per configured conversion event.

The Python CDK has no destination discover (its `Destination` implements spec, check and write only), so the message is
built as plain JSON in the protocol's shape (`DestinationCatalog{operations: [DestinationOperation]}`;
wire names `object_name`, `sync_mode`, `json_schema`, `matching_keys`).
"""

from __future__ import annotations

from typing import Any

from destination_linkedin_capi.config import ConnectorConfig
from destination_linkedin_capi.constants import ORACLE_MOAT_LAST_VERSION

_STRING = {"type": ["string", "null"]}

# The record fields the mapping recognises (docs/mapping.md), with what LinkedIn does with them.
FIELDS: dict[str, dict[str, Any]] = {
    "email": {
        **_STRING,
        "description": "Email address; normalised and SHA-256 hashed before sending (a 64-hex SHA-256 is passed through).",
    },
    "li_fat_id": {
        **_STRING,
        "description": "LinkedIn first-party ads tracking UUID (the li_fat_id click/cookie value).",
    },
    "first_name": {**_STRING, "description": "First name; sent only together with last_name."},
    "last_name": {**_STRING, "description": "Last name; sent only together with first_name."},
    "company_name": {**_STRING, "description": "Company name (with first and last name)."},
    "title": {**_STRING, "description": "Job title (with first and last name)."},
    "country_code": {
        **_STRING,
        "description": "Country: ISO 3166 alpha-2, alpha-3 or English name (with first and last name).",
    },
    "acxiom_id": {**_STRING, "description": "Acxiom (LiveRamp) identifier."},
    "oracle_moat_id": {**_STRING, "description": "Oracle Moat identifier."},
    "external_id": {**_STRING, "description": "Your own ID for the person (LinkedIn uses one)."},
    "lead_id": {**_STRING, "description": "LinkedIn Lead Gen form response ID or urn:li:leadGenFormResponse URN."},
    "conversion_happened_at": {
        "type": ["string", "integer", "number"],
        "description": "When the conversion happened: ISO-8601 date/time or epoch seconds/milliseconds; within the last 90 days.",
    },
    "conversion_value": {
        "type": ["string", "number", "null"],
        "description": "Conversion value amount (decimal, not negative).",
    },
    "currency_code": {**_STRING, "description": "ISO 4217 currency of the value, e.g. USD."},
    "event_id": {
        **_STRING,
        "description": "Event ID (≤ 64 characters) used to deduplicate with the Insight Tag; derived from the row when absent.",
    },
}
REQUIRED = ["conversion_happened_at"]
# Any one of these identifies the member; first and last name only as a pair.
MATCHING_KEYS = [
    ["email"],
    ["li_fat_id"],
    ["acxiom_id"],
    ["oracle_moat_id"],
    ["external_id"],
    ["lead_id"],
    ["first_name", "last_name"],
]


def _offered(config: ConnectorConfig) -> set[str]:
    """The fields the mapping sends with this config: no Oracle Moat IDs after `ORACLE_MOAT_LAST_VERSION`."""
    if config.api_version <= ORACLE_MOAT_LAST_VERSION:
        return set(FIELDS)
    return set(FIELDS) - {"oracle_moat_id"}


def destination_catalog(config: ConnectorConfig) -> dict[str, Any]:
    """The DESTINATION_CATALOG message (as a JSON-ready dict) for the configured events; it offers only fields
    that reach LinkedIn, so a column mapped in Airbyte's UI is never silently left out."""
    offered = _offered(config)
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "required": REQUIRED,
        "properties": {name: spec for name, spec in FIELDS.items() if name in offered},
    }
    matching_keys = [key for key in MATCHING_KEYS if offered.issuperset(key)]
    operations = [
        {"object_name": event.name, "sync_mode": "append", "json_schema": schema, "matching_keys": matching_keys}
        for event in config.events.values()
    ]
    return {"type": "DESTINATION_CATALOG", "destination_catalog": {"operations": operations}}
