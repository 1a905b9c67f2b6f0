"""Event routing: which configured event a stream's records go to (docs/mapping.md §1), and how
their derived event IDs are keyed. What depends only on the stream is a `Route`, built once per
stream; the record's own event name, when it has one, is read by the mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from destination_linkedin_capi.mapping import normalize as n
from destination_linkedin_capi.mapping import reasons
from destination_linkedin_capi.mapping.fields import Layout, dig, layout_of, source_name
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
    # the top-level fields its JSON schema declares; None when it declares none (nothing to judge before records)
    properties: tuple[str, ...] | None = None


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

    def unroutable(self) -> list[tuple[str | None, str]]:
        """The configured streams none of whose records can reach an event, known before any record comes: no
        destination object, no Stream events entry, no event named like the stream, more than one event, and a
        schema that declares its fields without the event name field."""
        return [
            key
            for key, info in self._streams.items()
            if info.properties is not None
            and not self._declares_event_name(info.properties)
            and (route := self.route(*key)).forced is None
            and route.forced_unknown is None
            and route.fallback is None
        ]

    def _declares_event_name(self, properties: tuple[str, ...]) -> bool:
        """Whether a record with these top-level fields can have the event name field (its path's first step)."""
        names = {name.casefold() for name in properties}
        layout = layout_of(properties, {"event_name": (self._event_name_field,)})
        return any(
            (source if isinstance(source, str) else str(source[0])).casefold() in names
            for field, source in layout
            if field == "event_name" and (isinstance(source, str) or source)
        )

    def unknown_stream_events(self) -> list[str]:
        """The Stream events entries that name no configured stream (compared as routing does: exactly, then
        case-insensitively)."""
        names = {name for _, name in self._streams}
        folded = {name.casefold() for name in names}
        return [name for name in self._stream_events if name not in names and name.casefold() not in folded]
