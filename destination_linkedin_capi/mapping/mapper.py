"""`RecordMapper`: the entry point of the mapping. It keeps one sync's caches — each stream's route and each
record key set's layout — and gives the input loop one mapping function per stream."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.consent import ConsentCheck
from destination_linkedin_capi.mapping.event import map_event
from destination_linkedin_capi.mapping.fields import Layout, dig, layout_of
from destination_linkedin_capi.mapping.paths import Step, is_nested, parse_path
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection
from destination_linkedin_capi.mapping.routing import Route, Router, StreamInfo
from destination_linkedin_capi.mapping.settings import RuleCheck, Settings

# The cache is bounded by size, not by entries: a key set holds its key strings alive, and sparse or wide
# sources (1,000 records of 10,000 distinct keys) would otherwise keep gigabytes. The cache holds at most
# LAYOUT_CACHE_KEYS keys in all (each entry counts its keys plus one, ~10 MB of key strings), and is emptied
# when full; a key set of more than MAX_CACHED_KEY_SET keys is laid out for its record alone, never kept
# (laying it out costs about what hashing it for the lookup does).
LAYOUT_CACHE_KEYS = 150_000
MAX_CACHED_KEY_SET = 1_000

MapRecord = Callable[[Mapping[str, Any]], ConversionEvent | Rejection]


class RecordMapper:
    """Maps the records of one sync; build it once per sync (it caches per stream and key set)."""

    def __init__(
        self,
        config: ConnectorConfig,
        rule_ids: Mapping[str, int],
        streams: Mapping[tuple[str | None, str], StreamInfo],
        *,
        now_ms: Callable[[], int] | None = None,
        rule_check: RuleCheck | None = None,
    ) -> None:
        self._settings = Settings(config, rule_ids, now_ms, rule_check)
        self._router = Router(self._settings, config.stream_events, streams)
        self._layouts: dict[tuple[str, ...], Layout] = {}
        self._cached_keys = 0  # the keys held by `_layouts`, each entry counted as its keys plus one
        # `field_mappings` entries no record has had yet: LinkedIn field → its path (for one warning per sync)
        self._unresolved = dict(config.field_mappings)
        self._nested: list[tuple[str, tuple[Step, ...]]] = [
            (field, steps)
            for field, path in self._unresolved.items()
            if is_nested(path) and (steps := parse_path(path)) is not None
        ]
        self._consent: ConsentCheck | None = None
        if config.consent_field is not None:  # only then does each record pay for the check
            self._consent = ConsentCheck(config.consent_field, config.consent_values)

    def for_stream(self, namespace: str | None, stream: str) -> MapRecord:
        """The mapping of one stream's records: a record → its conversion event, or the first problem found
        (consent, event, time, identifiers, value, event ID — in that order). Never raises for a JSON object."""
        route: Route = self._router.route(namespace, stream)
        settings, router, layouts, layout_of_keys = self._settings, self._router, self._layouts, self._layout

        def map_record(data: Mapping[str, Any]) -> ConversionEvent | Rejection:
            keys = tuple(data)
            layout = layouts.get(keys)
            if layout is None:  # an empty layout is cached too: nothing recognised
                layout = layout_of_keys(keys)
            if self._nested:
                self._resolve_nested(data)
            return map_event(settings, router, layout, route, data)

        consent = self._consent
        if consent is None:
            return map_record
        refusal = consent.refusal

        def map_record_with_consent(data: Mapping[str, Any]) -> ConversionEvent | Rejection:
            return refusal(data) or map_record(data)

        return map_record_with_consent

    def unresolved_mappings(self) -> dict[str, str]:
        """The `field_mappings` (LinkedIn field → record path) that no record mapped so far had."""
        return dict(self._unresolved)

    def _resolve_nested(self, data: Mapping[str, Any]) -> None:
        """Only while a nested mapped path has never been found: is it in this record?"""
        found = [(field, steps) for field, steps in self._nested if dig(data, steps) is not None]
        for item in found:
            self._nested.remove(item)
            self._unresolved.pop(item[0], None)

    def _layout(self, keys: tuple[str, ...]) -> Layout:
        """The layout of records with exactly these keys, remembered unless the key set is huge."""
        layout = layout_of(keys, self._settings.explicit)
        if self._unresolved:
            folded = {key.casefold() for key in keys}
            for field in [field for field, path in self._unresolved.items() if path.casefold() in folded]:
                del self._unresolved[field]
                self._nested = [item for item in self._nested if item[0] != field]
        size = len(keys) + 1
        if size > MAX_CACHED_KEY_SET:
            return layout
        if self._cached_keys + size > LAYOUT_CACHE_KEYS:
            self._layouts.clear()
            self._cached_keys = 0
        self._layouts[keys] = layout
        self._cached_keys += size
        return layout
