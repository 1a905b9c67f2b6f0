"""The list forms Airbyte's UI gives the two mapping settings, read into what their text forms give (so one parser in
`connector.py` checks both), and the config-wide rules that look at the raw dict: IDs written as JSON numbers, and
top-level keys the spec does not have."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.errors import ConfigError

# A conversion rule ID in the list form: digits, or the rule's URN (its value is checked as in the text form).
_RULE_ID_TEXT = re.compile(r"\s*(urn:lla:llaPartnerConversion:)?[0-9]+\s*")
# What would split an event name in the text form; the name's own rule is the text form's (parse_conversion_mapping).
_TEXT_SEPARATORS = re.compile(r"[,=|]")
_MAPPING_EXAMPLE = '{"event": "LEAD", "rule_ids": ["22285180"]}'
_STREAM_EXAMPLE = '{"stream": "orders", "event": "PURCHASE"}'


def number_as_text(value: Any) -> Any:
    """An ID given as a JSON number (a config file, the API) is read as the digits it is."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def conversion_mapping_text(value: Any) -> str | None:
    """The conversion mapping as text (`LEAD=22285180,PURCHASE=22285181`), from that text or from the list form
    `[{"event": "LEAD", "rule_ids": ["22285180"]}]`, so one parser reads both; None when it is empty. One event's
    rule IDs are joined with '|', the text form's separator for several rules."""
    if value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value):
        return None
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise ConfigError(
            f"Conversion mapping must be a list of objects such as {_MAPPING_EXAMPLE}, or EVENT=CONVERSION_ID text."
        )
    entries = []
    for number, item in enumerate(value, start=1):
        event = item.get("event") if isinstance(item, Mapping) else None
        rule_ids = item.get("rule_ids") if isinstance(item, Mapping) else None
        if not isinstance(event, str) or not isinstance(rule_ids, list) or not rule_ids:
            raise ConfigError(
                f"Conversion mapping entry {number} must be an object with a text 'event' and a list 'rule_ids' "
                f"of at least one conversion rule ID, e.g. {_MAPPING_EXAMPLE}."
            )
        event = event.strip()
        if _TEXT_SEPARATORS.search(event):
            raise ConfigError(
                f"Conversion mapping entry {number}: event name '{event}' must start with a letter and contain only "
                "letters, digits, '_', '.' or '-'."
            )
        ids = [number_as_text(rule) for rule in rule_ids]
        if not all(isinstance(rule, str) and _RULE_ID_TEXT.fullmatch(rule) for rule in ids):
            raise ConfigError(
                f"Conversion mapping entry {number} ({event}): each rule ID must be a number "
                f"(or {c.CONVERSION_URN_PREFIX}<number>)."
            )
        entries.append(f"{event}={'|'.join(rule.strip() for rule in ids)}")
    return ",".join(entries)


def listed_stream_events(items: list[Any]) -> list[tuple[str, str, str]]:
    """(stream, event, entry) from the list form `[{"stream": "orders", "event": "PURCHASE"}]`, as the text form's
    pairs are read (a stream name may hold any character here)."""
    entries = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, Mapping) or not all(isinstance(item.get(key), str) for key in ("stream", "event")):
            raise ConfigError(
                f"Stream events entry {number} must be an object with a text 'stream' and 'event', e.g. "
                f"{_STREAM_EXAMPLE}."
            )
        stream, event = item["stream"].strip(), item["event"].strip()
        entries.append((stream, event, f"{stream}={event}"))
    return entries


def stream_events_form_error() -> ConfigError:
    """Stream events that are neither text nor a list."""
    return ConfigError(
        f"Stream events must be a list of objects such as {_STREAM_EXAMPLE}, or stream=EVENT text such as "
        "orders=PURCHASE,signups=SIGN_UP."
    )


def as_declared(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as spec.json declares it, for the spec backstop: the mappings' text forms (read and checked by
    `connector.py`) left out, and IDs given as JSON numbers as their digits."""
    declared = dict(config)
    for name in ("conversion_mapping", "stream_events"):
        if isinstance(declared.get(name), str):
            del declared[name]
    if "account_id" in declared:
        declared["account_id"] = number_as_text(declared["account_id"])
    if isinstance(declared.get("campaign_ids"), list):
        declared["campaign_ids"] = [number_as_text(item) for item in declared["campaign_ids"]]
    if isinstance(declared.get("conversion_mapping"), list):  # each item was checked by conversion_mapping_text
        declared["conversion_mapping"] = [
            {**item, "rule_ids": [number_as_text(rule) for rule in item["rule_ids"]]}
            for item in declared["conversion_mapping"]
        ]
    return declared


def unknown_keys(config: Mapping[str, Any], known: Iterable[str]) -> str | None:
    """One sentence naming the config's top-level keys that are not `known` (probably misspelt: they are ignored),
    each with the closest known key where one is close; None when there are none."""
    names = list(known)
    unknown = sorted(str(key) for key in config if key not in names)
    if not unknown:
        return None
    named = []
    for key in unknown:
        shown = key if len(key) <= 60 else key[:57] + "..."
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.8)
        named.append(f"'{shown}' (did you mean '{close[0]}'?)" if close else f"'{shown}'")
    keys = "key" if len(unknown) == 1 else "keys"
    return f"Unknown config {keys} ignored: {', '.join(named)}. Check the spelling against the spec."
