"""What the mapping of one sync takes from the config, worked out once per sync."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.config.connector import ConnectorConfig, EventConfig
from destination_linkedin_capi.linkedin.versions import ApiVersion
from destination_linkedin_capi.mapping.identifiers import IDENTIFIERS

#: A row's own conversion rule ID → None when rows may go to it, else the sentence saying why not.
RuleCheck = Callable[[int], str | None]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Settings:
    """The config-derived values of one sync's mapping (plain attributes: the hot path reads them)."""

    __slots__ = (
        "accepted_id_types",
        "amount_in_minor_units",
        "api_version",
        "configured",
        "copies",
        "default_currency",
        "event_name_field",
        "events",
        "explicit",
        "field_mappings_for",
        "hash_ip_addresses",
        "margin_minutes",
        "max_age_ms",
        "not_alone",
        "now_ms",
        "rule_check",
        "sources",
        "urns",
    )

    def __init__(
        self,
        config: ConnectorConfig,
        rule_ids: Mapping[str, int],
        now_ms: Callable[[], int] | None = None,
        rule_check: RuleCheck | None = None,
    ) -> None:
        self.events: Mapping[str, EventConfig] = config.events
        # event → its conversion rule's URN; an event without a rule is missing
        self.urns = {event: f"{c.CONVERSION_URN_PREFIX}{rule_ids[event]}" for event in self.events if event in rule_ids}
        # event → (URN, rule ID) of each further rule it is mapped to; empty in the common one-rule case
        self.copies = {
            event: tuple((f"{c.CONVERSION_URN_PREFIX}{rule}", rule) for rule in config_event.more_rule_ids)
            for event, config_event in self.events.items()
            if config_event.more_rule_ids and event in rule_ids
        }
        # a row's own conversion rule ID → None when it may be sent to, else why not (None: every ID is taken)
        self.rule_check = rule_check
        self.now_ms = now_ms or wall_clock_ms
        self.margin_minutes = int(config.event_age_margin_minutes)
        self.max_age_ms = int(c.MAX_EVENT_AGE.total_seconds() * 1000) - self.margin_minutes * 60_000
        self.default_currency: str | None = config.default_currency
        self.amount_in_minor_units = bool(config.amount_in_minor_units)
        version = ApiVersion(str(config.api_version))
        # the identifiers' idTypes the configured API version takes: the others are dropped with a note
        self.accepted_id_types = frozenset(
            id_type for identifier in IDENTIFIERS for id_type in identifier.id_types if version.accepts(id_type)
        )
        # the identifiers this version does not take as an event's only match key (the lead before 202605)
        self.not_alone = frozenset(identifier.key for identifier in IDENTIFIERS if not identifier.alone_with(version))
        self.api_version = version.version
        self.hash_ip_addresses = bool(config.hash_ip_addresses)
        # LinkedIn field → the record field (or dotted path) the config names for it
        self.explicit = dict(config.field_mappings)
        self.event_name_field = config.event_name_field.strip()
        self.explicit.setdefault("event_name", self.event_name_field)
        self.field_mappings_for = config.field_mappings_for
        self.sources: dict[tuple, Any] = {}  # the `fields.Sources` of this sync, one per distinct content
        self.configured = ", ".join(event.name for event in self.events.values())

    def paths_for(self, stream: str) -> dict[str, tuple[str, ...]]:
        """The `field_mappings` paths a stream's records are read from, LinkedIn field → paths (best first); the
        event name is read from its mapping, then from the Event name field."""
        paths = {field: (path,) for field, path in self.field_mappings_for(stream).items()}
        paths["event_name"] = tuple(dict.fromkeys((*paths.get("event_name", ()), self.event_name_field)))
        return paths
