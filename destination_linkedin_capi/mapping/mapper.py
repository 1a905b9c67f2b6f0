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


class _Profile:
    """The streams that read the same `field_mappings` paths: the paths, and the layouts of their key sets."""

    __slots__ = ("layouts", "nested", "paths")

    def __init__(self, paths: dict[str, tuple[str, ...]], nested: list[tuple[str, str, tuple[Step, ...]]]) -> None:
        self.paths = paths
        self.layouts: dict[tuple[str, ...], Layout] = {}
        self.nested = nested  # (field, path, steps) of its nested mapped paths no record has had yet


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
        self._profiles: dict[tuple[tuple[str, tuple[str, ...]], ...], _Profile] = {}
        self._cached_keys = 0  # the keys held by the profiles' layouts, each entry counted as its keys plus one
        # `field_mappings` (LinkedIn field, path) pairs no record has had yet, for one warning per sync
        mappings = [*config.field_mappings.items()]
        mappings += [item for own in config.stream_field_mappings.values() for item in own.items()]
        self._unresolved = dict.fromkeys(mappings)
        self._consent: ConsentCheck | None = None
        if config.consent_field is not None:  # only then does each record pay for the check
            self._consent = ConsentCheck(config.consent_field, config.consent_values)

    def for_stream(self, namespace: str | None, stream: str) -> MapRecord:
        """The mapping of one stream's records: a record → its conversion event, or the first problem found
        (consent, event, time, identifiers, value, event ID — in that order). Never raises for a JSON object."""
        route: Route = self._router.route(namespace, stream)
        profile = self._profile(self._settings.paths_for(stream))
        settings, router, layouts, layout_of_keys = self._settings, self._router, profile.layouts, self._layout

        def map_record(data: Mapping[str, Any]) -> ConversionEvent | Rejection:
            keys = tuple(data)
            layout = layouts.get(keys)
            if layout is None:  # an empty layout is cached too: nothing recognised
                layout = layout_of_keys(keys, profile)
            if profile.nested:
                self._resolve_nested(profile, data)
            return map_event(settings, router, layout, route, data)

        consent = self._consent
        if consent is None:
            return map_record
        refusal = consent.refusal

        def map_record_with_consent(data: Mapping[str, Any]) -> ConversionEvent | Rejection:
            return refusal(data) or map_record(data)

        return map_record_with_consent

    def unresolved_mappings(self) -> list[tuple[str, str]]:
        """The `field_mappings` (LinkedIn field, record path) pairs that no record mapped so far had."""
        return list(self._unresolved)

    def _profile(self, paths: dict[str, tuple[str, ...]]) -> _Profile:
        """The profile of these paths, shared by every stream that reads the same ones."""
        key = tuple(sorted(paths.items()))
        profile = self._profiles.get(key)
        if profile is None:
            nested = [
                (field, path, steps)
                for field, field_paths in paths.items()
                for path in field_paths
                if (field, path) in self._unresolved and is_nested(path) and (steps := parse_path(path)) is not None
            ]
            profile = self._profiles[key] = _Profile(paths, nested)
        return profile

    def _resolved(self, field: str, path: str) -> None:
        """A mapped path was found in a record: no warning for it, and no more looking for it."""
        self._unresolved.pop((field, path), None)
        for profile in self._profiles.values():
            if profile.nested:
                profile.nested = [item for item in profile.nested if item[:2] != (field, path)]

    def _resolve_nested(self, profile: _Profile, data: Mapping[str, Any]) -> None:
        """Only while a nested mapped path has never been found: is it in this record?"""
        for field, path, _steps in [item for item in profile.nested if dig(data, item[2]) is not None]:
            self._resolved(field, path)

    def _layout(self, keys: tuple[str, ...], profile: _Profile) -> Layout:
        """The layout of records with exactly these keys, remembered unless the key set is huge."""
        layout = layout_of(keys, profile.paths)
        layout.sources = layout.sources_of(self._settings.sources)
        if self._unresolved:
            folded = {key.casefold() for key in keys}
            for field, paths in profile.paths.items():
                for path in paths:
                    if (field, path) in self._unresolved and path.casefold() in folded:
                        self._resolved(field, path)
        size = len(keys) + 1
        if size > MAX_CACHED_KEY_SET:
            return layout
        if self._cached_keys + size > LAYOUT_CACHE_KEYS:
            for each in self._profiles.values():
                each.layouts.clear()
            self._cached_keys = 0
        profile.layouts[keys] = layout
        self._cached_keys += size
        return layout
