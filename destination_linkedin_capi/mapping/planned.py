"""The planned mapping path: the general path's rules, straight-line, for records whose every field
has one top-level source (a `Plan`, worked out once per record key set). It gives the event when
everything in the record is usable, else None and the general path decides (every rejection, most
notes), so the two always agree byte for byte (unit_tests/mapping/test_fast_path.py)."""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from collections.abc import Mapping
from typing import Any

import orjson

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.mapping import normalize as n
from destination_linkedin_capi.mapping.fields import ID_BIT, IDENTIFIERS, Plan, blank
from destination_linkedin_capi.mapping.identifiers import google_aid_user_id, ip_user_id
from destination_linkedin_capi.mapping.reasons import MAX_FUTURE_SKEW_MS
from destination_linkedin_capi.mapping.results import ConversionEvent
from destination_linkedin_capi.mapping.routing import Route
from destination_linkedin_capi.mapping.settings import Settings, wall_clock_ms

_ID_ORACLE_MOAT = c.ID_ORACLE_MOAT
_ID_SHA256_EMAIL = c.ID_SHA256_EMAIL
_dumps = orjson.dumps
_sha256 = n.sha256
_time_ns = time.time_ns
_fromisoformat = dt.datetime.fromisoformat
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
#: orjson reads integers below -2**63 or above 2**64 - 1 as floats: no float inside this bound is one of them.
_BIG_INT_FLOAT = 2.0**63
_nfc = unicodedata.normalize
_is_sha256_hex = n.is_sha256_hex
_identifier_text = n.identifier_text

_EMAIL_BIT = ID_BIT["email"]
_NAME_BIT = ID_BIT["name"]
_EXTERNAL_BIT = ID_BIT["external_id"]
_LEAD_BIT = ID_BIT["lead"]
_IP_BIT = ID_BIT["ip_address"]
_GAID_BIT = ID_BIT["google_aid"]

# Country values repeat ("DE", "Germany"): their ISO code, remembered (a few hundred distinct values in practice).
_COUNTRIES: dict[str, str | None] = {}
_COUNTRY_CACHE_SIZE = 4096
_country_of = _COUNTRIES.get

# (event, payload, identifiers, notes): what the planned path gives, unboxed (the input loop reads it).
Planned = tuple[str, dict[str, Any], tuple[str, ...], tuple[str, ...]]


def _country(value: str) -> str | None:
    """`country_alpha2`, remembered; "" for blank text (no country, no note)."""
    code = _COUNTRIES.get(value, False)
    if code is False:
        code = "" if not value or value.isspace() else n.country_alpha2(value)
        if len(_COUNTRIES) >= _COUNTRY_CACHE_SIZE:
            _COUNTRIES.clear()
        _COUNTRIES[value] = code
    return code  # type: ignore[return-value]


def map_planned(s: Settings, plan: Plan, route: Route, data: Mapping[str, Any]) -> ConversionEvent | None:
    """The conversion event of a record whose plan is known, or None: the general path decides."""
    planned = plan_event(s, plan, route, data)
    return None if planned is None else ConversionEvent(*planned)


def plan_event(s: Settings, plan: Plan, route: Route, data: Mapping[str, Any]) -> Planned | None:
    """`map_planned`'s event as a plain tuple, or None: the general path decides.

    One function of ~130 lines on purpose: it runs once per record, and reading the record by the
    plan's keys in one frame, without building the general path's `found` dict or calling helpers
    per field, is most of the planned path's gain. Its order follows the general path's.
    """
    event = route.fallback
    if route.forced is not None:
        event = route.forced
    elif route.forced_unknown is not None:
        return None
    elif plan.event_name is not None:
        value = data[plan.event_name]
        if not blank(value) and (value.__class__ is not str or (event := value.strip().casefold()) not in s.events):
            return None
    if event is None:
        return None
    urn = s.urns.get(event)
    if urn is None or plan.time is None:
        return None
    value = data[plan.time]
    moment = None
    if value.__class__ is str and not (text := value.strip()).isdigit():
        try:
            moment = _fromisoformat(text)
        except (ValueError, OverflowError):
            moment = None  # timestamp_ms decides
    if moment is None:
        try:
            happened = n.timestamp_ms(value)
        except n.Invalid:
            return None
    else:  # (moment - epoch) // 1 ms, from the normalised timedelta's parts (docs/performance.md)
        delta = moment - (_NAIVE_EPOCH if moment.tzinfo is None else _UTC_EPOCH)
        happened = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    now = _time_ns() // 1_000_000 if s.now_ms is wall_clock_ms else s.now_ms()
    if happened < now - s.max_age_ms or happened > now + MAX_FUTURE_SKEW_MS:
        return None

    user_ids: list[dict[str, str]] = []
    mask = 0
    notes: tuple[str, ...] = ()
    if plan.email is not None and (value := data[plan.email]) is not None:
        if value.__class__ is not str:
            return None
        # `email_sha256` in line: the trimmed, lowercased address hashed, or a 64-hex hash passed through
        text = value.strip().lower()  # empty exactly when the value is blank
        if text:
            if len(text) == 64 and _is_sha256_hex(text):
                hashed = text
            else:
                at = text.rfind("@")
                if at <= 0 or at == len(text) - 1 or " " in text or not text.isprintable():
                    return None
                hashed = _sha256(text.encode()).hexdigest()
            user_ids.append({"idType": _ID_SHA256_EMAIL, "idValue": hashed})
            mask = _EMAIL_BIT
    for bit, id_type, source in plan.raw_ids:
        value = data[source]
        if value.__class__ is str:
            text = value.strip()  # `identifier_text` of text; empty exactly when blank
            if not text:
                continue
        elif value is None:
            continue
        elif (text := _identifier_text(value)) is None:
            return None
        if id_type == _ID_ORACLE_MOAT and not s.oracle_supported:
            return None
        user_ids.append({"idType": id_type, "idValue": text})
        mask |= bit
    if plan.ip_address is not None and not blank(value := data[plan.ip_address]):
        entry = ip_user_id(s, value)
        if entry.__class__ is str:
            return None
        user_ids.append(entry)  # type: ignore[arg-type]
        mask |= _IP_BIT
    if plan.google_aid is not None and not blank(value := data[plan.google_aid]):
        entry = google_aid_user_id(s, value)
        if entry.__class__ is str:
            return None
        user_ids.append(entry)  # type: ignore[arg-type]
        mask |= _GAID_BIT
    user: dict[str, Any] = {"userIds": user_ids}
    if plan.user_info:
        # `clean_text` in line for the four texts: trimmed, in NFC unless ASCII; blank text is none
        first = last = None
        if (
            plan.first_name is not None
            and (value := data[plan.first_name]).__class__ is str
            and (first := value.strip() or None) is not None
            and not first.isascii()
        ):
            first = _nfc("NFC", first)
        if (
            plan.last_name is not None
            and (value := data[plan.last_name]).__class__ is str
            and (last := value.strip() or None) is not None
            and not last.isascii()
        ):
            last = _nfc("NFC", last)
        if first is None or last is None:
            if not all(blank(data[key]) for key in plan.user_info):
                notes = ("partial_name_dropped",)
        else:
            info = {"firstName": first, "lastName": last}
            if (
                plan.company_name is not None
                and (value := data[plan.company_name]).__class__ is str
                and (company := value.strip())
            ):
                info["companyName"] = company if company.isascii() else _nfc("NFC", company)
            if plan.title is not None and (value := data[plan.title]).__class__ is str and (title := value.strip()):
                info["title"] = title if title.isascii() else _nfc("NFC", title)
            if plan.country_code is not None and (value := data[plan.country_code]) is not None:
                country = _country_of(value, False) if value.__class__ is str else None
                if country is False:
                    country = _country(value)
                if country:
                    info["countryCode"] = country
                elif country is None:
                    notes = ("unknown_country_dropped",)
            user["userInfo"] = info
            mask |= _NAME_BIT
    if plan.external_id is not None and not blank(value := data[plan.external_id]):
        external = _identifier_text(value)
        if external is None:
            return None
        user["externalIds"] = [external]
        mask |= _EXTERNAL_BIT
    if plan.lead_id is not None and not blank(value := data[plan.lead_id]):
        lead = n.lead_urn(value)
        if lead is None:
            return None
        user["lead"] = lead
        mask |= _LEAD_BIT
    if not mask:
        return None

    if plan.event_id is not None and not blank(value := data[plan.event_id]):
        try:
            event_id = n.event_id_text(value)
        except n.Invalid:
            return None
    else:
        event_id = _derived_event_id(route, event, data)
        if event_id is None:
            return None
    if (
        plan.conversion_value is not None
        and (value := data[plan.conversion_value]) is not None
        and (value.__class__ is not str or (value and not value.isspace()))  # not blank
    ):
        if value.__class__ is float and not -_BIG_INT_FLOAT < value < _BIG_INT_FLOAT:
            return None  # as for key values above: it may be an integer beyond 64 bits, read as a float
        try:
            amount = n.amount_text(value)
            if (
                plan.currency_code is not None
                and (code := data[plan.currency_code]) is not None
                and (code.__class__ is not str or (code and not code.isspace()))  # not blank
            ):
                currency = n.currency_code(code)
            elif s.default_currency is not None:
                currency = s.default_currency
            else:
                return None
        except n.Invalid:
            return None
        payload = {
            "conversion": urn,
            "conversionHappenedAt": happened,
            "conversionValue": {"currencyCode": currency, "amount": amount},
            "eventId": event_id,
            "user": user,
        }
    else:
        payload = {"conversion": urn, "conversionHappenedAt": happened, "eventId": event_id, "user": user}
    return event, payload, IDENTIFIERS[mask], notes


def _derived_event_id(route: Route, event: str, data: Mapping[str, Any]) -> str | None:
    """`Route.derived_event_id`, with the canonical text of `[namespace, stream, event, [value]]` of the usual
    one-column primary key hashed from the stream's encoded prefix and the value's JSON. None, for the general
    path to decide, when a top-level key value is missing or neither text nor an integer: it may be a float that
    orjson read from an integer beyond 64 bits, and the input loop reads such records again exactly only for the
    general path (`WriteSession._exact_first`). A stream without a top-level key has its records read exactly
    beforehand."""
    names = route.key_names
    if not names:
        return route.derived_event_id(event, data)
    if len(names) == 1:
        value = data.get(names[0])
        kind = value.__class__
        if kind is not str and kind is not int:
            return None
        prefix = route.key_prefixes.get(event)
        if prefix is None:
            prefix = route.key_prefixes[event] = route.id_prefix(event) + b"["
        try:  # the canonical text of a list of one text or integer is orjson's, whatever its options
            return _sha256(prefix + _dumps(value) + b"]]").hexdigest()[:32]
        except TypeError:  # an integer beyond 64 bits (read exactly): orjson cannot write it
            return route.derived_event_id(event, data)
    for name in names:
        kind = data.get(name).__class__
        if kind is not str and kind is not int:
            return None
    return route.derived_event_id(event, data)
