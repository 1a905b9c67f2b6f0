"""`RecordMapper`: the entry point of the mapping. It keeps one sync's caches — each stream's
route and each record key set's layout and plan — and sends each record down the planned path,
falling back to the general path whenever the planned one defers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.consent import ConsentCheck
from destination_linkedin_capi.mapping.fields import Layout, Plan, dig, layout_of
from destination_linkedin_capi.mapping.general import map_general
from destination_linkedin_capi.mapping.paths import Step, is_nested, parse_path
from destination_linkedin_capi.mapping.planned import Planned, map_planned, plan_event
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection
from destination_linkedin_capi.mapping.routing import Route, Router, StreamInfo
from destination_linkedin_capi.mapping.settings import Settings

# The cache is bounded by size, not by entries: a key set holds its key strings alive, and sparse or wide
# sources (1,000 records of 10,000 distinct keys) would otherwise keep gigabytes. The cache holds at most
# LAYOUT_CACHE_KEYS keys in all (each entry counts its keys plus one, ~10 MB of key strings), and is emptied
# when full; a key set of more than MAX_CACHED_KEY_SET keys is laid out for its record alone, never kept
# (laying it out costs about what hashing it for the lookup does).
LAYOUT_CACHE_KEYS = 150_000
MAX_CACHED_KEY_SET = 1_000

Shape = tuple[Layout, Plan | None]


class RecordMapper:
    """Maps the records of one sync; build it once per sync (it caches per stream and key set)."""

    def __init__(
        self,
        config: ConnectorConfig,
        rule_ids: Mapping[str, int],
        streams: Mapping[tuple[str | None, str], StreamInfo],
        *,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self._settings = Settings(config, rule_ids, now_ms)
        self._router = Router(self._settings, config.stream_events, streams)
        self._routes = self._router.routes
        self._layouts: dict[tuple[str, ...], Shape] = {}
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
            self._map_any = self.map
            self.map = self._map_with_consent  # type: ignore[method-assign]

    def _map_with_consent(
        self, stream: str, namespace: str | None, data: Mapping[str, Any]
    ) -> ConversionEvent | Rejection:
        """`map`, after the consent rule: a record without granted consent is rejected before anything else."""
        assert self._consent is not None
        return self._consent.refusal(data) or self._map_any(stream, namespace, data)

    def map(self, stream: str, namespace: str | None, data: Mapping[str, Any]) -> ConversionEvent | Rejection:
        """One record → its conversion event, or the first problem found (event, time, identifiers,
        value, event ID — in that order). Never raises for a JSON object."""
        keys = tuple(data)
        shape = self._layouts.get(keys)
        if shape is None:  # an empty layout is cached too: nothing recognised
            shape = self._shape(keys)
        if self._nested:
            self._resolve_nested(data)
        route = self._routes.get((namespace, stream)) or self._router.route(namespace, stream)
        plan = shape[1]
        if plan is not None:
            planned = plan_event(self._settings, plan, route, data)
            if planned is not None:
                return ConversionEvent(*planned)
        return map_general(self._settings, self._router, shape[0], route, data)

    def for_stream(
        self, namespace: str | None, stream: str
    ) -> Callable[[Mapping[str, Any]], Planned | ConversionEvent | Rejection]:
        """What `map` does for one stream's records, as a function of the record for the input loop:
        the planned path's result comes back unboxed, as an `(event, payload, identifiers, notes)`
        tuple; the general path's as a ConversionEvent or Rejection."""
        route = self._route(namespace, stream)
        settings, router, layouts, shape_of = self._settings, self._router, self._layouts, self._shape

        def map_record(data: Mapping[str, Any]) -> Planned | ConversionEvent | Rejection:
            keys = tuple(data)
            shape = layouts.get(keys) or shape_of(keys)
            plan = shape[1]
            if plan is not None:
                planned = plan_event(settings, plan, route, data)
                if planned is not None:
                    return planned
            if self._nested:  # a pending nested mapped path means no plan: only the general path looks
                self._resolve_nested(data)
            return map_general(settings, router, shape[0], route, data)

        consent = self._consent
        if consent is None:
            return map_record
        refusal, map_consented = consent.refusal, map_record

        def map_record_with_consent(data: Mapping[str, Any]) -> Planned | ConversionEvent | Rejection:
            return refusal(data) or map_consented(data)

        return map_record_with_consent

    def map_general(self, stream: str, namespace: str | None, data: Mapping[str, Any]) -> ConversionEvent | Rejection:
        """What `map` gives, always by the general path (for tests and comparisons)."""
        layout = self._shape_of(tuple(data))[0]
        return map_general(self._settings, self._router, layout, self._route(namespace, stream), data)

    def map_planned(self, stream: str, namespace: str | None, data: Mapping[str, Any]) -> ConversionEvent | None:
        """What the planned path alone gives: None when the record's key set has no plan or the
        planned path defers to the general one (for tests and comparisons)."""
        plan = self._shape_of(tuple(data))[1]
        if plan is None:
            return None
        return map_planned(self._settings, plan, self._route(namespace, stream), data)

    def needs_exact_input(self, namespace: str | None, stream: str) -> bool:
        """Whether a stream's records must be read with integers beyond 64 bits exact before they are mapped, not
        only when the planned path leaves them to the general one: its eventIds may be derived from the whole
        record (no top-level primary key), or a consent value is compared as read."""
        return not self._route(namespace, stream).key_names or self._consent is not None

    def unresolved_mappings(self) -> dict[str, str]:
        """The `field_mappings` (LinkedIn field → record path) that no record mapped so far had."""
        return dict(self._unresolved)

    def _resolve_nested(self, data: Mapping[str, Any]) -> None:
        """Only while a nested mapped path has never been found: is it in this record?"""
        found = [(field, steps) for field, steps in self._nested if dig(data, steps) is not None]
        for item in found:
            self._nested.remove(item)
            self._unresolved.pop(item[0], None)

    def _route(self, namespace: str | None, stream: str) -> Route:
        return self._routes.get((namespace, stream)) or self._router.route(namespace, stream)

    def _shape_of(self, keys: tuple[str, ...]) -> Shape:
        return self._layouts.get(keys) or self._shape(keys)

    def _shape(self, keys: tuple[str, ...]) -> Shape:
        """The layout and plan of records with exactly these keys, remembered unless the key set is huge."""
        layout = layout_of(keys, self._settings.explicit)
        if self._unresolved:
            folded = {key.casefold() for key in keys}
            for field in [field for field, path in self._unresolved.items() if path.casefold() in folded]:
                del self._unresolved[field]
                self._nested = [item for item in self._nested if item[0] != field]
        shape = (layout, Plan.of(layout))
        size = len(keys) + 1
        if size > MAX_CACHED_KEY_SET:
            return shape
        if self._cached_keys + size > LAYOUT_CACHE_KEYS:
            self._layouts.clear()
            self._cached_keys = 0
        self._layouts[keys] = shape
        self._cached_keys += size
        return shape
