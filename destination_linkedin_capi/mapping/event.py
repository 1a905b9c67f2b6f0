"""The mapping's rules: one record → its conversion event or the first problem found, for any record —
several candidate fields, nested paths, every rejection and every note (docs/mapping.md)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.mapping import normalize as n
from destination_linkedin_capi.mapping import reasons
from destination_linkedin_capi.mapping.fields import (
    RECOGNISED_FIELDS,
    RULE,
    SOURCE_FIELDS,
    TIME,
    USER_INFO_FIELDS,
    Layout,
    dig,
    hint_names,
    later_value,
    source_name,
)
from destination_linkedin_capi.mapping.identifiers import BY_KEY
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection, RoutedEvent
from destination_linkedin_capi.mapping.routing import Route, Router
from destination_linkedin_capi.mapping.settings import Settings

UserId = dict[str, str]
# The identifiers sent as their own text, with their idType, in the order their userIds are sent after email's.
TEXT_IDS = tuple((key, BY_KEY[key].id_types[0]) for key in ("li_fat_id", "acxiom_id", "oracle_moat_id"))
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ZERO_UUID = "00000000-0000-0000-0000-000000000000"  # what a device sends when ad tracking is limited


class _Rejected(Exception):
    """Raised inside the mapping to stop at the first problem; `field` names the LinkedIn field
    whose record field the sentence starts with (None: the message is a whole sentence)."""

    def __init__(self, reason: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field

    def rejection(self, layout: Layout, data: Mapping[str, Any]) -> Rejection:
        if self.field is None:
            if self.reason in _HINTED:
                return Rejection(self.reason, self.message + _hint(layout, data, _HINTED[self.reason]))
            return Rejection(self.reason, self.message)
        return Rejection(self.reason, f"Field '{source_name(layout, data, self.field)}' {self.message}.")


# The rejections whose sentence names the record's fields that look like what is missing.
_HINTED = {"missing_timestamp": "date", "no_identifier": "identifier"}


def _hint(layout: Layout, data: Mapping[str, Any], kind: str) -> str:
    """The hint of a layout's records (worked out once per layout): which fields of theirs look like a date or an
    identifier."""
    hints = layout.hints
    if hints is None:
        hints = layout.hints = {}
    hint = hints.get(kind)
    if hint is None:
        hint = hints[kind] = reasons.hint(hint_names(layout, tuple(data), kind), kind)
    return hint


def map_event(
    s: Settings, router: Router, layout: Layout, route: Route, data: Mapping[str, Any]
) -> ConversionEvent | Rejection:
    """One record → its conversion event, or the first problem found (event, time, identifiers,
    value, event ID — in that order)."""
    found: dict[str, Any] = {}
    later: tuple[str, ...] = ()  # the identifier fields read from a later source (for the summary)
    for field, source in layout.firsts:  # each field's best source; a later one only when it is blank
        value = data[source] if source.__class__ is not tuple else dig(data, source)  # type: ignore[index]
        if value is None or (value.__class__ is str and (not value or value.isspace())):
            value = later_value(layout, data, field)
            if value is None:
                continue
            if field in SOURCE_FIELDS:
                later += (field,)
        found[field] = value

    if route.forced is None and route.forced_unknown is None and "event_name" not in found and route.fallback:
        event = route.fallback  # the common case, without a call
    else:
        selected = router.select(route, found, layout, data)
        if isinstance(selected, Rejection):
            return selected
        event = selected
    urn = s.urns.get(event)
    row_rule = None
    if RULE in found:  # the row names its own rule (rare): it goes there, and only there
        checked = _row_rule(s, found[RULE], layout, data)
        if isinstance(checked, Rejection):
            return checked
        row_rule = checked
        urn = f"{c.CONVERSION_URN_PREFIX}{row_rule}"
    elif urn is None:
        return Rejection("no_conversion_rule", reasons.no_conversion_rule(s.events[event].name))
    try:
        happened = _happened_at(s, found, layout)
        user, identifiers, notes = _user(s, found, layout, data)
        payload: dict[str, Any] = {"conversion": urn, "conversionHappenedAt": happened}
        if "conversion_value" in found:
            payload["conversionValue"] = _value(s, found)
        if "event_id" in found:
            try:
                payload["eventId"] = n.event_id_text(found["event_id"])
            except n.Invalid as error:
                raise _Rejected(error.reason, error.detail, "event_id") from None
        else:
            payload["eventId"] = route.derived_event_id(event, data)
    except _Rejected as rejected:
        return rejected.rejection(layout, data)
    payload["user"] = user
    sources = layout.sources_of(s.sources, data, later) if later else layout.sources
    if row_rule is None and not s.copies:
        return ConversionEvent(event, payload, identifiers, notes, sources)
    if row_rule is not None:
        return RoutedEvent(event, payload, identifiers, notes, sources, row_rule)
    copies = s.copies.get(event)
    if copies is None:
        return ConversionEvent(event, payload, identifiers, notes, sources)
    return RoutedEvent(event, payload, identifiers, notes, sources, None, copies)


def _row_rule(s: Settings, value: Any, layout: Layout, data: Mapping[str, Any]) -> int | Rejection:
    """The row's own conversion rule ID, when it is a well-formed ID of a rule rows may go to."""
    rule = n.conversion_rule_id(value)
    if rule is None:
        return Rejection(
            "invalid_conversion_rule", f"Field '{source_name(layout, data, RULE)}' {reasons.INVALID_CONVERSION_RULE}."
        )
    refusal = s.rule_check(rule) if s.rule_check is not None else None
    if refusal is not None:
        return Rejection("unknown_conversion_rule", refusal)
    return rule


def _happened_at(s: Settings, found: dict[str, Any], layout: Layout) -> int:
    value = found.get(TIME)
    if value is None:
        raise _Rejected("missing_timestamp", reasons.missing_timestamp(layout.paths.get(TIME), RECOGNISED_FIELDS[TIME]))
    try:
        happened = n.timestamp_ms(value)
    except n.Invalid as error:
        raise _Rejected(error.reason, error.detail, TIME) from None
    now = s.now_ms()
    if happened < now - s.max_age_ms:
        days_ago = (now - happened) // 86_400_000
        raise _Rejected("too_old", reasons.too_old(days_ago, s.margin_minutes), TIME)
    if happened > now + reasons.MAX_FUTURE_SKEW_MS:
        raise _Rejected("in_future", reasons.in_future(happened - now), TIME)
    return happened


def _user(
    s: Settings, found: dict[str, Any], layout: Layout, data: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
    """The `user` object (userIds always present), its match keys and the non-fatal drops: one pass over the
    identifiers in LinkedIn's order (`identifiers.IDENTIFIERS`), each with its own rule."""
    user_ids: list[UserId] = []
    identifiers: list[str] = []
    notes: list[str] = []
    if "email" in found:
        hashed = n.email_sha256(found["email"]) or _later_email_sha256(layout, data)
        if hashed is None:
            notes.append("invalid_email_dropped")
        else:
            user_ids.append({"idType": c.ID_SHA256_EMAIL, "idValue": hashed})
            identifiers.append("email")
    rules = layout.user_rules or _user_rules(layout)
    for key, id_type in rules.text_ids:
        if key in found:
            text = n.identifier_text(found[key])
            if text is None:
                notes.append(f"invalid_{key}_dropped")
            elif id_type not in s.accepted_id_types:
                notes.append(f"{key}_unsupported_dropped")
            else:
                user_ids.append({"idType": id_type, "idValue": text})
                identifiers.append(key)
    for key, user_id_of in rules.device_ids:
        if key in found:
            entry = user_id_of(s, found[key])
            if entry.__class__ is str:
                notes.append(entry)  # type: ignore[arg-type]
            else:
                user_ids.append(entry)  # type: ignore[arg-type]
                identifiers.append(key)
    user: dict[str, Any] = {"userIds": user_ids}
    if rules.user_info and not found.keys().isdisjoint(USER_INFO_FIELDS):
        info = _user_info(found, notes)
        if info is not None:
            user["userInfo"] = info
            identifiers.append("name")
    if "external_id" in found:
        value = found["external_id"]
        if isinstance(value, list) and value:
            value = value[0]  # LinkedIn uses only the first external ID (docs/mapping.md §3)
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
        raise _Rejected(*reasons.no_identifier(notes))
    if len(identifiers) == 1 and identifiers[0] in s.not_alone:
        raise _Rejected("no_identifier", reasons.not_alone(identifiers[0], s.api_version))
    return user, tuple(identifiers), tuple(notes)


class _UserRules:
    """The identifier rules a layout's records can need, worked out once per layout: a rule none of whose fields
    the layout reads is never looked at (its records may still leave a field blank: each rule checks `found`)."""

    __slots__ = ("device_ids", "text_ids", "user_info")

    def __init__(self, fields: set[str]) -> None:
        self.text_ids = tuple(entry for entry in TEXT_IDS if entry[0] in fields)
        self.device_ids = tuple(entry for entry in DEVICE_IDS if entry[0] in fields)
        self.user_info = not fields.isdisjoint(USER_INFO_FIELDS)


def _user_rules(layout: Layout) -> _UserRules:
    """The layout's `_UserRules`, kept on it."""
    layout.user_rules = rules = _UserRules({field for field, _ in layout})
    return rules


def _later_email_sha256(layout: Layout, data: Mapping[str, Any]) -> str | None:
    """The first usable email's hash when the best source holds no address: a later email field may."""
    emails = (data[src] if isinstance(src, str) else dig(data, src) for f, src in layout if f == "email")
    return next((h for h in map(n.email_sha256, emails) if h is not None), None)


def ip_user_id(s: Settings, value: Any) -> UserId | str:
    """An IPv4 address (plain, or SHA-256 when `hash_ip_addresses` is on), or an already hashed one; else a note."""
    if value.__class__ is not str:
        return "invalid_ip_address_dropped"
    text = value.strip()
    if len(text) == 64 and n.is_sha256_hex(text):
        if c.ID_SHA256_IP not in s.accepted_id_types:
            return "ip_address_unsupported_dropped"
        return {"idType": c.ID_SHA256_IP, "idValue": text.lower()}
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return "invalid_ip_address_dropped"
    if address.version == 6:
        mapped = address.ipv4_mapped
        if mapped is None:
            return "ipv6_address_dropped"
        address = mapped
    id_type = c.ID_SHA256_IP if s.hash_ip_addresses else c.ID_PLAINTEXT_IP
    if id_type not in s.accepted_id_types:
        return "ip_address_unsupported_dropped"
    if s.hash_ip_addresses:
        return {"idType": id_type, "idValue": hashlib.sha256(str(address).encode()).hexdigest()}
    return {"idType": id_type, "idValue": str(address)}


def google_aid_user_id(s: Settings, value: Any) -> UserId | str:
    """A Google advertising ID in UUID form, sent in lower case; else a note."""
    if value.__class__ is not str:
        return "invalid_google_aid_dropped"
    text = value.strip().lower()
    if not _UUID.fullmatch(text) or text == _ZERO_UUID:
        return "invalid_google_aid_dropped"
    if c.ID_GOOGLE_AID not in s.accepted_id_types:
        return "google_aid_unsupported_dropped"
    return {"idType": c.ID_GOOGLE_AID, "idValue": text}


def _user_info(found: dict[str, Any], notes: list[str]) -> dict[str, str] | None:
    """userInfo only with both names: LinkedIn's "Conversions API Schema" requires firstName and
    lastName together (docs/mapping.md §3)."""
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


def _value(s: Settings, found: dict[str, Any]) -> dict[str, str]:
    """conversionValue, currency first as in LinkedIn's "Conversions API" examples (only called when an
    amount is present). An amount in minor units (cents) is turned into major units with its currency's places."""
    try:
        amount = n.amount_text(found["conversion_value"])
    except n.Invalid as error:
        raise _Rejected(error.reason, error.detail, "conversion_value") from None
    if "currency_code" in found:
        try:
            currency = n.currency_code(found["currency_code"])
        except n.Invalid as error:
            raise _Rejected(error.reason, error.detail, "currency_code") from None
    elif s.default_currency is not None:
        currency = s.default_currency
    else:
        raise _Rejected("missing_currency", reasons.MISSING_CURRENCY, "conversion_value")
    if s.amount_in_minor_units:
        try:
            amount = n.major_units(amount, currency, found["conversion_value"])
        except n.Invalid as error:
            raise _Rejected(error.reason, error.detail, _MINOR_UNITS_FIELD[error.reason]) from None
    return {"currencyCode": currency, "amount": amount}


#: The field a rejection of `major_units` names: the amount that is no whole number, or the record's currency
#: (the default currency is checked when the config is read).
_MINOR_UNITS_FIELD = {"invalid_amount": "conversion_value", "invalid_currency": "currency_code"}


# The identifiers of a device or a connection, with the rule of each, in the order their userIds are sent.
DEVICE_IDS = (("ip_address", ip_user_id), ("google_aid", google_aid_user_id))
