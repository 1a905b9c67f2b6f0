"""Record → LinkedIn conversion event (reference §3–§4), or a Rejection a marketer can read.

This is the hot path: everything that depends only on the config is computed in `__init__`, and
which record key feeds which LinkedIn field is worked out once per distinct set of record keys.
No I/O and no Airbyte types, so the writer, dry runs and tests share one behaviour. The rules
and their reasons are documented in `docs/mapping.md`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from destination_linkedin_capi import constants as c
from destination_linkedin_capi import normalize as n
from destination_linkedin_capi.config import ConnectorConfig

# LinkedIn does not document future timestamps (reference §11.5); a little clock skew is allowed.
MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
# ORACLE_MOAT_ID: absent from LinkedIn's 2026-05 docs and reported dropped by 202609 (reference
# §3.2, §12). A refused idType fails a whole batch, so the stricter reading is taken: last 202604.
ORACLE_MOAT_LAST_VERSION = "202604"
# Distinct record key sets remembered; sparse sources could otherwise grow the cache without end.
LAYOUT_CACHE_SIZE = 4096

REJECTION_REASONS: dict[str, str] = {
    "unknown_event": "The record could not be matched to any configured conversion event.",
    "no_conversion_rule": "The record's event has no LinkedIn conversion rule to send it to.",
    "missing_timestamp": "The record has no conversion time.",
    "invalid_timestamp": "The conversion time is not an ISO-8601 date-time or an epoch number.",
    "too_old": "The conversion happened more than 90 days ago (less the safety margin); LinkedIn refuses such events.",
    "in_future": "The conversion time is more than 5 minutes in the future.",
    "no_identifier": "The record has nothing LinkedIn can match on: no email, LinkedIn click ID (li_fat_id), "
    "Acxiom or Oracle Moat ID, first and last name, external ID or lead.",
    "invalid_email": "The email is neither an address nor a SHA-256 hash, and the record has no other identifier.",
    "invalid_amount": "The conversion value is not a plain decimal number (write 1234.50: a dot for decimals).",
    "negative_amount": "The conversion value is negative.",
    "missing_currency": "The conversion value has no currency and no default currency is configured.",
    "invalid_currency": "The currency is not an ISO 4217 code such as USD or EUR.",
    "invalid_event_id": f"The event ID is not text of at most {c.MAX_EVENT_ID_LENGTH} characters.",
}

NOTE_REASONS: dict[str, str] = {
    "invalid_email_dropped": "An email that is neither an address nor a SHA-256 hash was left out.",
    "invalid_li_fat_id_dropped": "A LinkedIn click ID (li_fat_id) that is neither text nor a whole number was left out.",
    "invalid_acxiom_id_dropped": "An Acxiom ID that is neither text nor a whole number was left out.",
    "invalid_oracle_moat_id_dropped": "An Oracle Moat ID that is neither text nor a whole number was left out.",
    "oracle_moat_id_unsupported_dropped": "An Oracle Moat ID was left out: the configured API version "
    "(202605 or later) no longer accepts it.",
    "invalid_external_id_dropped": "An external ID that is neither text nor a whole number was left out.",
    "invalid_lead_dropped": "A lead that is not a Lead Gen form response (urn:li:leadGenFormResponse:…) was left out.",
    "partial_name_dropped": "Name, company, title or country were left out: LinkedIn needs both first and last name.",
    "unknown_country_dropped": "A country that is not an ISO 3166 country was left out.",
}

# Recognised top-level record fields for each `field_mappings` LinkedIn field, in priority order.
RECOGNISED_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email_address"),
    "sha256_email": ("sha256_email", "hashed_email"),
    "li_fat_id": ("li_fat_id", "linkedin_uuid", "linkedin_first_party_ads_tracking_uuid"),
    "acxiom_id": ("acxiom_id",),
    "oracle_moat_id": ("oracle_moat_id",),
    "first_name": ("first_name", "firstname", "given_name"),
    "last_name": ("last_name", "lastname", "family_name"),
    "company_name": ("company", "company_name"),
    "title": ("title", "job_title"),
    "country_code": ("country", "country_code"),
    "external_id": ("external_id", "user_id"),
    "lead_id": ("lead_id", "lead"),
    "conversion_happened_at": (
        "conversion_happened_at",
        "conversion_time",
        "occurred_at",
        "event_time",
        "timestamp",
        "created_at",
    ),
    "conversion_value": ("conversion_value", "value", "amount", "revenue"),
    "currency_code": ("currency", "currency_code"),
    "event_id": ("event_id",),
}
_RAW_IDS = (
    ("li_fat_id", c.ID_LINKEDIN_UUID),
    ("acxiom_id", c.ID_ACXIOM),
    ("oracle_moat_id", c.ID_ORACLE_MOAT),
)

# Why a present identifier did not count, for the no_identifier sentence.
_UNUSABLE = {
    "invalid_li_fat_id_dropped": "the li_fat_id is neither text nor a whole number",
    "invalid_acxiom_id_dropped": "the Acxiom ID is neither text nor a whole number",
    "invalid_oracle_moat_id_dropped": "the Oracle Moat ID is neither text nor a whole number",
    "oracle_moat_id_unsupported_dropped": "the configured API version no longer accepts Oracle Moat IDs",
    "invalid_external_id_dropped": "the external ID is neither text nor a whole number",
    "invalid_lead_dropped": "the lead is not a Lead Gen form response",
    "partial_name_dropped": "a name needs both first and last name",
}

Source = str | tuple[str, ...]  # a top-level key of the record, or a nested path
# (field, source) pairs, best source of each field first; "email" also covers sha256_email.
Layout = tuple[tuple[str, Source], ...]
_USER_INFO_FIELDS = ("first_name", "last_name", "company_name", "title", "country_code")
_TIME = "conversion_happened_at"


@dataclass(slots=True, frozen=True)
class Rejection:
    """Why a record is not sent: a code from REJECTION_REASONS and one specific sentence."""

    reason: str
    message: str


@dataclass(slots=True)
class ConversionEvent:
    """One LinkedIn element ready to send, with what the report counts about it."""

    event: str
    payload: dict
    identifiers: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class StreamInfo:
    """What the configured catalog says about a stream."""

    primary_key: tuple[tuple[str, ...], ...] = ()
    destination_object_name: str | None = None


@dataclass(slots=True, frozen=True)
class _Route:
    """A stream's event when it does not depend on the record (selection steps 1, 3 and 4)."""

    forced: str | None
    forced_unknown: str | None
    fallback: str | None
    primary_key: tuple[tuple[str, ...], ...]
    key_names: tuple[str, ...] | None  # the primary key's top-level names, when no part is nested
    id_prefixes: dict[str, bytes]  # event → the start of its derived eventIds' hashed text


class _Plan:
    """The record key of every LinkedIn field, for a layout where each field has at most one
    top-level source (the usual case): `_map_planned` reads those keys directly."""

    __slots__ = (
        "company_name",
        "conversion_value",
        "country_code",
        "currency_code",
        "email",
        "event_id",
        "event_name",
        "external_id",
        "first_name",
        "last_name",
        "lead_id",
        "raw_ids",
        "time",
        "title",
        "user_info",
    )

    def __init__(self, sources: dict[str, str]) -> None:
        self.event_name = sources.get("event_name")
        self.time = sources.get(_TIME)
        self.email = sources.get("email")
        self.raw_ids = tuple((field, id_type, sources[field]) for field, id_type in _RAW_IDS if field in sources)
        self.first_name = sources.get("first_name")
        self.last_name = sources.get("last_name")
        self.company_name = sources.get("company_name")
        self.title = sources.get("title")
        self.country_code = sources.get("country_code")
        self.user_info = tuple(sources[field] for field in _USER_INFO_FIELDS if field in sources)
        self.external_id = sources.get("external_id")
        self.lead_id = sources.get("lead_id")
        self.conversion_value = sources.get("conversion_value")
        self.currency_code = sources.get("currency_code")
        self.event_id = sources.get("event_id")

    @classmethod
    def of(cls, layout: Layout) -> _Plan | None:
        """None when a field has several candidate sources or a nested path (the generic path handles those)."""
        sources: dict[str, str] = {}
        for field, source in layout:
            if field in sources or not isinstance(source, str):
                return None
            sources[field] = source
        return cls(sources)


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    """The value at a nested path; each key matched exactly, else case-insensitively."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        if key in data:
            data = data[key]
            continue
        folded = key.casefold()
        data = next((value for name, value in data.items() if name.casefold() == folded), None)
    return data


def _blank(value: Any) -> bool:
    return value is None or (value.__class__ is str and (not value or value.isspace()))


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
        self._events = config.events
        self._urns = {
            event: f"{c.CONVERSION_URN_PREFIX}{rule_ids[event]}" for event in self._events if event in rule_ids
        }
        self._streams = streams
        self._stream_events = config.stream_events
        self._stream_events_folded = {name.casefold(): event for name, event in reversed(config.stream_events.items())}
        self._now_ms = now_ms or _wall_clock_ms
        self._margin_minutes = int(config.event_age_margin_minutes)
        self._max_age_ms = int(c.MAX_EVENT_AGE.total_seconds() * 1000) - self._margin_minutes * 60_000
        self._default_currency: str | None = config.default_currency
        self._oracle_supported = str(config.api_version) <= ORACLE_MOAT_LAST_VERSION
        self._explicit = dict(config.field_mappings)
        self._explicit.setdefault("event_name", config.event_name_field.strip())
        self._configured = ", ".join(event.name for event in self._events.values())
        self._routes: dict[tuple[str | None, str], _Route] = {}
        self._layouts: dict[tuple[str, ...], tuple[Layout, _Plan | None]] = {}

    def map(self, stream: str, namespace: str | None, data: Mapping[str, Any]) -> ConversionEvent | Rejection:
        """One record → its conversion event, or the first problem found (event, time, identifiers,
        value, event ID — in that order). Never raises for a JSON object."""
        keys = tuple(data)
        shape = self._layouts.get(keys)
        if shape is None:  # an empty layout is cached too: nothing recognised
            shape = self._layout(keys)
        route = self._routes.get((namespace, stream)) or self._route(namespace, stream)
        plan = shape[1]
        if plan is not None:
            event = self._map_planned(plan, route, stream, namespace, data)
            if event is not None:
                return event
        return self._map_generic(shape[0], route, stream, namespace, data)

    def _map_generic(
        self, layout: Layout, route: _Route, stream: str, namespace: str | None, data: Mapping[str, Any]
    ) -> ConversionEvent | Rejection:
        """The full rules for any record: several candidate fields, nested paths, every rejection and note."""
        found: dict[str, Any] = {}
        for field, source in layout:
            if field not in found:
                value = data[source] if isinstance(source, str) else _dig(data, source)
                if value is None or (value.__class__ is str and (not value or value.isspace())):
                    continue
                found[field] = value

        if route.forced is None and route.forced_unknown is None and "event_name" not in found and route.fallback:
            event = route.fallback  # the common case, without a call
        else:
            selected = self._select_event(stream, route, found, layout, data)
            if isinstance(selected, Rejection):
                return selected
            event = selected
        urn = self._urns.get(event)
        if urn is None:
            name = self._events[event].name
            return Rejection("no_conversion_rule", f"Event '{name}' has no LinkedIn conversion rule to send it to.")
        try:
            happened = self._happened_at(found)
            user, identifiers, notes = self._user(found, layout, data)
            payload: dict[str, Any] = {"conversion": urn, "conversionHappenedAt": happened}
            if "conversion_value" in found:
                payload["conversionValue"] = self._value(found)
            if "event_id" in found:
                try:
                    payload["eventId"] = n.event_id_text(found["event_id"])
                except n.Invalid as error:
                    raise _Rejected(error.reason, error.detail, "event_id") from None
            else:
                payload["eventId"] = self._derived_event_id(namespace, stream, event, route, data)
        except _Rejected as rejected:
            return rejected.rejection(layout, data)
        payload["user"] = user
        return ConversionEvent(event, payload, identifiers, notes)

    def _map_planned(
        self, plan: _Plan, route: _Route, stream: str, namespace: str | None, data: Mapping[str, Any]
    ) -> ConversionEvent | None:
        """The same rules, straight-line, for records whose every field has one top-level source: the
        event when everything is usable, else None and `_map_generic` decides (rejections, most notes).
        Reads the record by the plan's keys instead of building `found`, which costs ~40% of a record."""
        event = route.fallback
        if route.forced is not None:
            event = route.forced
        elif route.forced_unknown is not None:
            return None
        elif plan.event_name is not None:
            value = data[plan.event_name]
            if not _blank(value) and (
                value.__class__ is not str or (event := value.strip().casefold()) not in self._events
            ):
                return None
        if event is None:
            return None
        urn = self._urns.get(event)
        if urn is None or plan.time is None:
            return None
        try:
            happened = n.timestamp_ms(data[plan.time])
        except n.Invalid:
            return None
        now = self._now_ms()
        if happened < now - self._max_age_ms or happened > now + MAX_FUTURE_SKEW_MS:
            return None

        user_ids: list[dict[str, str]] = []
        identifiers: list[str] = []
        notes: tuple[str, ...] = ()
        if plan.email is not None:
            value = data[plan.email]
            if not (value is None or (value.__class__ is str and (not value or value.isspace()))):
                hashed = n.email_sha256(value)
                if hashed is None:
                    return None
                user_ids.append({"idType": c.ID_SHA256_EMAIL, "idValue": hashed})
                identifiers.append("email")
        for field, id_type, source in plan.raw_ids:
            value = data[source]
            if value is None or (value.__class__ is str and (not value or value.isspace())):
                continue
            text = n.identifier_text(value)
            if text is None or (id_type == c.ID_ORACLE_MOAT and not self._oracle_supported):
                return None
            user_ids.append({"idType": id_type, "idValue": text})
            identifiers.append(field)
        user: dict[str, Any] = {"userIds": user_ids}
        if plan.user_info:
            first = n.clean_text(data[plan.first_name]) if plan.first_name is not None else None
            last = n.clean_text(data[plan.last_name]) if plan.last_name is not None else None
            if first is None or last is None:
                if not all(_blank(data[key]) for key in plan.user_info):
                    notes = ("partial_name_dropped",)
            else:
                info = {"firstName": first, "lastName": last}
                if plan.company_name is not None and (company := n.clean_text(data[plan.company_name])) is not None:
                    info["companyName"] = company
                if plan.title is not None and (title := n.clean_text(data[plan.title])) is not None:
                    info["title"] = title
                if plan.country_code is not None and not _blank(value := data[plan.country_code]):
                    country = n.country_alpha2(value)
                    if country is None:
                        notes = ("unknown_country_dropped",)
                    else:
                        info["countryCode"] = country
                user["userInfo"] = info
                identifiers.append("name")
        if plan.external_id is not None and not _blank(value := data[plan.external_id]):
            external = n.identifier_text(value)
            if external is None:
                return None
            user["externalIds"] = [external]
            identifiers.append("external_id")
        if plan.lead_id is not None and not _blank(value := data[plan.lead_id]):
            lead = n.lead_urn(value)
            if lead is None:
                return None
            user["lead"] = lead
            identifiers.append("lead")
        if not identifiers:
            return None

        payload: dict[str, Any] = {"conversion": urn, "conversionHappenedAt": happened}
        if plan.conversion_value is not None and not _blank(value := data[plan.conversion_value]):
            try:
                amount = n.amount_text(value)
                if plan.currency_code is not None and not _blank(code := data[plan.currency_code]):
                    currency = n.currency_code(code)
                elif self._default_currency is not None:
                    currency = self._default_currency
                else:
                    return None
            except n.Invalid:
                return None
            payload["conversionValue"] = {"currencyCode": currency, "amount": amount}
        if plan.event_id is not None and not _blank(value := data[plan.event_id]):
            try:
                payload["eventId"] = n.event_id_text(value)
            except n.Invalid:
                return None
        else:
            payload["eventId"] = self._derived_event_id(namespace, stream, event, route, data)
        payload["user"] = user
        return ConversionEvent(event, payload, tuple(identifiers), notes)

    # -- event selection -------------------------------------------------------------------------

    def _route(self, namespace: str | None, stream: str) -> _Route:
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
        route = _Route(forced, forced_unknown, fallback, key_paths, key_names, {})
        self._routes[(namespace, stream)] = route
        return route

    def _select_event(
        self, stream: str, route: _Route, found: dict[str, Any], layout: Layout, data: Mapping[str, Any]
    ) -> str | Rejection:
        if route.forced is not None:
            return route.forced
        if route.forced_unknown is not None:
            return Rejection(
                "unknown_event",
                f"Stream '{stream}' is set to send to '{route.forced_unknown}', which is not a configured event "
                f"({self._configured}).",
            )
        value = found.get("event_name")
        if value is not None:
            key = value.strip().casefold() if isinstance(value, str) else None
            if key is not None and key in self._events:
                return key
            return Rejection(
                "unknown_event",
                f"Field '{_source_name(layout, data, 'event_name')}' names event {n.shown(value)}, which is not a "
                f"configured event ({self._configured}).",
            )
        if route.fallback is not None:
            return route.fallback
        return Rejection(
            "unknown_event",
            f"No event for this record: it has no '{self._explicit['event_name']}' value, stream '{stream}' is not "
            f"in Stream events nor named like an event, and more than one event is configured ({self._configured}).",
        )

    # -- fields ----------------------------------------------------------------------------------

    def _layout(self, keys: tuple[str, ...]) -> tuple[Layout, _Plan | None]:
        """Where each LinkedIn field is read from, for records with exactly these keys (and the
        straight-line plan when every field has at most one top-level source)."""
        by_fold: dict[str, list[str]] = {}
        for key in keys:
            by_fold.setdefault(key.casefold(), []).append(key)

        def top_level(name: str) -> list[str]:
            return sorted(by_fold.get(name.casefold(), []), key=lambda key: key != name)  # exact case first

        layout: list[tuple[str, Source]] = []
        for field in (*RECOGNISED_FIELDS, "event_name"):
            path = self._explicit.get(field)
            sources: list[Source]
            if path is None:
                sources = [key for alias in RECOGNISED_FIELDS[field] for key in top_level(alias)]
            else:
                sources = list(top_level(path)) or ([tuple(path.split("."))] if "." in path else [])
            target = "email" if field == "sha256_email" else field
            layout.extend((target, source) for source in sources)
        if len(self._layouts) >= LAYOUT_CACHE_SIZE:
            self._layouts.clear()
        result = self._layouts[keys] = (tuple(layout), _Plan.of(layout))
        return result

    def _happened_at(self, found: dict[str, Any]) -> int:
        value = found.get("conversion_happened_at")
        if value is None:
            path = self._explicit.get("conversion_happened_at")
            where = f"field '{path}'" if path else "any of the fields " + ", ".join(RECOGNISED_FIELDS[_TIME])
            raise _Rejected("missing_timestamp", f"The record has no conversion time in {where}.")
        try:
            happened = n.timestamp_ms(value)
        except n.Invalid as error:
            raise _Rejected(error.reason, error.detail, _TIME) from None
        now = self._now_ms()
        if happened < now - self._max_age_ms:
            raise _Rejected(
                "too_old",
                f"is {n.format_ms(happened)}, {(now - happened) // 86_400_000} days ago; LinkedIn accepts conversions "
                f"from the last 90 days and this connector stops {self._margin_minutes} minutes before that limit",
                _TIME,
            )
        if happened > now + MAX_FUTURE_SKEW_MS:
            raise _Rejected(
                "in_future", f"is {n.format_ms(happened)}, more than 5 minutes after now ({n.format_ms(now)})", _TIME
            )
        return happened

    def _user(
        self, found: dict[str, Any], layout: Layout, data: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
        """The `user` object (userIds always present), its match keys and the non-fatal drops."""
        user_ids: list[dict[str, str]] = []
        identifiers: list[str] = []
        notes: list[str] = []
        if "email" in found:
            hashed = n.email_sha256(found["email"])
            if hashed is None:  # a later email field may still hold a usable value
                emails = (data[s] if isinstance(s, str) else _dig(data, s) for f, s in layout if f == "email")
                hashed = next((h for h in map(n.email_sha256, emails) if h is not None), None)
            if hashed is None:
                notes.append("invalid_email_dropped")
            else:
                user_ids.append({"idType": c.ID_SHA256_EMAIL, "idValue": hashed})
                identifiers.append("email")
        for field, id_type in _RAW_IDS:
            if field in found:
                text = n.identifier_text(found[field])
                if text is None:
                    notes.append(f"invalid_{field}_dropped")
                elif id_type == c.ID_ORACLE_MOAT and not self._oracle_supported:
                    notes.append("oracle_moat_id_unsupported_dropped")
                else:
                    user_ids.append({"idType": id_type, "idValue": text})
                    identifiers.append(field)
        user: dict[str, Any] = {"userIds": user_ids}
        if not found.keys().isdisjoint(_USER_INFO_FIELDS):
            info = _user_info(found, notes)
            if info is not None:
                user["userInfo"] = info
                identifiers.append("name")
        if "external_id" in found:
            value = found["external_id"]
            if isinstance(value, list) and value:
                value = value[0]  # LinkedIn uses only the first external ID (reference §3.1)
            external = n.identifier_text(value)
            if external is None:
                notes.append("invalid_external_id_dropped")
            else:
                user["externalIds"] = [external]
                identifiers.append("external_id")
        if "lead_id" in found:
            lead = n.lead_urn(found["lead_id"])
            if lead is None:
                notes.append("invalid_lead_dropped")
            else:
                user["lead"] = lead
                identifiers.append("lead")
        if not identifiers:
            raise _no_identifier(notes)
        return user, tuple(identifiers), tuple(notes)

    def _value(self, found: dict[str, Any]) -> dict[str, str]:
        """conversionValue, currency first as in reference §4 (only called when an amount is present)."""
        try:
            amount = n.amount_text(found["conversion_value"])
        except n.Invalid as error:
            raise _Rejected(error.reason, error.detail, "conversion_value") from None
        if "currency_code" in found:
            try:
                currency = n.currency_code(found["currency_code"])
            except n.Invalid as error:
                raise _Rejected(error.reason, error.detail, "currency_code") from None
        elif self._default_currency is not None:
            currency = self._default_currency
        else:
            raise _Rejected(
                "missing_currency",
                "has an amount but the record has no currency and no default currency is configured",
                "conversion_value",
            )
        return {"currencyCode": currency, "amount": amount}

    def _derived_event_id(
        self, namespace: str | None, stream: str, event: str, route: _Route, data: Mapping[str, Any]
    ) -> str:
        """From the primary-key values when all are present, else from the whole record."""
        key: Any = data
        if route.key_names is not None:
            if route.key_names:
                values = [data.get(name) for name in route.key_names]
                if None not in values:
                    key = values
        else:
            values = [data.get(path[0]) if len(path) == 1 else _dig(data, path) for path in route.primary_key]
            if None not in values:
                key = values
        prefix = route.id_prefixes.get(event)
        if prefix is None:
            prefix = route.id_prefixes[event] = n.event_id_prefix(namespace, stream, event)
        return n.derived_event_id(prefix, key)


class _Rejected(Exception):
    """Raised inside `map` to stop at the first problem; `field` names the LinkedIn field whose
    record field the sentence starts with (None: the message is a whole sentence)."""

    def __init__(self, reason: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field

    def rejection(self, layout: Layout, data: Mapping[str, Any]) -> Rejection:
        if self.field is None:
            return Rejection(self.reason, self.message)
        return Rejection(self.reason, f"Field '{_source_name(layout, data, self.field)}' {self.message}.")


def _source_name(layout: Layout, data: Mapping[str, Any], field: str) -> str:
    """The record field a LinkedIn field was read from (the first non-blank source), for messages."""
    for name, source in layout:
        if name == field and not _blank(data[source] if isinstance(source, str) else _dig(data, source)):
            return source if isinstance(source, str) else ".".join(source)
    return field


def _user_info(found: dict[str, Any], notes: list[str]) -> dict[str, str] | None:
    """userInfo only with both names (LinkedIn answers 422 otherwise, reference §3.1)."""
    first = n.clean_text(found.get("first_name"))
    last = n.clean_text(found.get("last_name"))
    if first is None or last is None:
        notes.append("partial_name_dropped")
        return None
    info = {"firstName": first, "lastName": last}
    company = n.clean_text(found.get("company_name"))
    if company is not None:
        info["companyName"] = company
    title = n.clean_text(found.get("title"))
    if title is not None:
        info["title"] = title
    if "country_code" in found:
        country = n.country_alpha2(found["country_code"])
        if country is None:
            notes.append("unknown_country_dropped")
        else:
            info["countryCode"] = country
    return info


def _no_identifier(notes: list[str]) -> _Rejected:
    if "invalid_email_dropped" in notes:
        return _Rejected(
            "invalid_email",
            "The email is neither an address (it needs an '@') nor a SHA-256 hash, and the record has no other "
            "identifier.",
        )
    unusable = [_UNUSABLE[note] for note in notes if note in _UNUSABLE]
    detail = f" ({'; '.join(unusable)})" if unusable else ""
    return _Rejected(
        "no_identifier",
        "The record has no email, LinkedIn click ID, Acxiom or Oracle Moat ID, first and last name, external ID or "
        f"lead{detail}.",
    )
