"""Event routing: which configured event a stream's records go to (docs/mapping.md §1), and how
their derived event IDs are keyed. What depends only on the stream is a `Route`, built once per
stream; the record's own event name, when it has one, is read by the mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from destination_linkedin_capi.mapping import normalize as n
from destination_linkedin_capi.mapping import reasons
from destination_linkedin_capi.mapping.fields import Layout, dig, source_name
from destination_linkedin_capi.mapping.results import Rejection
from destination_linkedin_capi.mapping.settings import Settings
from destination_linkedin_capi.masking import event_name


@dataclass(frozen=True)
class StreamInfo:
    """What the configured catalog says about a stream."""

    primary_key: tuple[tuple[str, ...], ...] = ()
    destination_object_name: str | None = None
    sync_id: int | None = None  # the platform's sync, naming the rejected records' folder
    full_refresh: bool = False  # read whole at each sync (`sync_mode: full_refresh`)


@dataclass(slots=True, frozen=True)
class Route:
    """A stream's event when it does not depend on the record (selection steps 1, 3 and 4)."""

    namespace: str | None
    stream: str
    forced: str | None  # the catalog's destination object, a configured event
    forced_unknown: str | None  # the catalog's destination object, not a configured event
    fallback: str | None  # Stream events, the stream's name, or the only configured event
    primary_key: tuple[tuple[str, ...], ...]
    key_names: tuple[str, ...] | None  # the primary key's top-level names, when no part is nested
    id_prefixes: dict[str, bytes] = field(default_factory=dict)  # event → start of its derived eventIds' text

    def derived_event_id(self, event: str, data: Mapping[str, Any]) -> str:
        """From the primary-key values when all are present, else from the whole record."""
        names = self.key_names
        if names is None:
            values = [data.get(path[0]) if len(path) == 1 else dig(data, path) for path in self.primary_key]
        else:
            values = list(map(data.get, names))
        prefix = self.id_prefixes.get(event) or self.id_prefix(event)
        return n.derived_event_id(prefix, values if values and None not in values else data)

    def id_prefix(self, event: str) -> bytes:
        """The start of the text this stream's derived eventIds of `event` hash (`normalize.event_id_prefix`)."""
        prefix = self.id_prefixes.get(event)
        if prefix is None:
            prefix = self.id_prefixes[event] = n.event_id_prefix(self.namespace, self.stream, event)
        return prefix


class Router:
    """Builds and keeps each stream's `Route`, and picks a record's event."""

    def __init__(
        self,
        settings: Settings,
        stream_events: Mapping[str, str],
        streams: Mapping[tuple[str | None, str], StreamInfo],
    ) -> None:
        self._events = settings.events
        self._streams = streams
        self._stream_events = stream_events
        self._stream_events_folded = {name.casefold(): event for name, event in reversed(stream_events.items())}
        self._event_name_field = settings.explicit["event_name"]
        self._configured = settings.configured
        self._routes: dict[tuple[str | None, str], Route] = {}

    def route(self, namespace: str | None, stream: str) -> Route:
        """The stream's route, built on first use."""
        route = self._routes.get((namespace, stream))
        if route is not None:
            return route
        info = self._streams.get((namespace, stream)) or StreamInfo()
        forced = forced_unknown = None
        target = (info.destination_object_name or "").strip()
        if target:
            if target.casefold() in self._events:
                forced = target.casefold()
            else:
                forced_unknown = target
        fallback = self._stream_events.get(stream) or self._stream_events_folded.get(stream.casefold())
        if fallback is None and stream.casefold() in self._events:
            fallback = stream.casefold()
        if fallback is None and len(self._events) == 1:
            fallback = next(iter(self._events))
        key_paths = tuple(tuple(path) for path in info.primary_key if path)
        key_names = tuple(path[0] for path in key_paths) if all(len(path) == 1 for path in key_paths) else None
        route = Route(namespace, stream, forced, forced_unknown, fallback, key_paths, key_names)
        self._routes[(namespace, stream)] = route
        return route

    def select(
        self, route: Route, found: Mapping[str, Any], layout: Layout, data: Mapping[str, Any]
    ) -> str | Rejection:
        """The record's event: the catalog's destination object, else its event name field, else the
        stream's fallback — or an unknown_event rejection saying which step failed."""
        if route.forced is not None:
            return route.forced
        if route.forced_unknown is not None:
            return Rejection(
                "unknown_event", reasons.forced_unknown_event(route.stream, route.forced_unknown, self._configured)
            )
        value = found.get("event_name")
        if value is not None:
            key = value.strip().casefold() if isinstance(value, str) else None
            if key is not None and key in self._events:
                return key
            field_name = source_name(layout, data, "event_name")
            return Rejection(
                "unknown_event", reasons.unknown_event_name(field_name, event_name(value), self._configured)
            )
        if route.fallback is not None:
            return route.fallback
        return Rejection("unknown_event", reasons.no_event(self._event_name_field, route.stream, self._configured))
