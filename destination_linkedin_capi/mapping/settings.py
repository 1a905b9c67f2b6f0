"""What the mapping of one sync takes from the config, worked out once: read by every path."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.config import ConnectorConfig, EventConfig


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Settings:
    """The config-derived values of one sync's mapping (plain attributes: the hot path reads them)."""

    __slots__ = (
        "configured",
        "default_currency",
        "events",
        "explicit",
        "margin_minutes",
        "max_age_ms",
        "now_ms",
        "oracle_supported",
        "urns",
    )

    def __init__(
        self, config: ConnectorConfig, rule_ids: Mapping[str, int], now_ms: Callable[[], int] | None = None
    ) -> None:
        self.events: Mapping[str, EventConfig] = config.events
        # event → its conversion rule's URN; an event without a rule is missing
        self.urns = {event: f"{c.CONVERSION_URN_PREFIX}{rule_ids[event]}" for event in self.events if event in rule_ids}
        self.now_ms = now_ms or wall_clock_ms
        self.margin_minutes = int(config.event_age_margin_minutes)
        self.max_age_ms = int(c.MAX_EVENT_AGE.total_seconds() * 1000) - self.margin_minutes * 60_000
        self.default_currency: str | None = config.default_currency
        self.oracle_supported = str(config.api_version) <= c.ORACLE_MOAT_LAST_VERSION
        # LinkedIn field → the record field (or dotted path) the config names for it
        self.explicit = dict(config.field_mappings)
        self.explicit.setdefault("event_name", config.event_name_field.strip())
        self.configured = ", ".join(event.name for event in self.events.values())
