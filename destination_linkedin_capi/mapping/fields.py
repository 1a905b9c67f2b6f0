"""Which record key feeds which LinkedIn field: the recognised names, the layout of one record key
set (every candidate source, best first) and its straight-line `Plan` when each field has at most
one top-level source. Worked out once per distinct key set; docs/mapping.md §2 lists the names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.mapping.paths import Step, is_nested, parse_path, path_text

# Recognised top-level record fields for each `field_mappings` LinkedIn field, in priority order.
RECOGNISED_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email_address"),
    "sha256_email": ("sha256_email", "hashed_email"),
    "li_fat_id": ("li_fat_id", "linkedin_uuid", "linkedin_first_party_ads_tracking_uuid"),
    "acxiom_id": ("acxiom_id",),
    "oracle_moat_id": ("oracle_moat_id",),
    "ip_address": ("ip_address", "ip", "client_ip", "client_ip_address", "ip_addr"),
    "sha256_ip_address": ("sha256_ip_address", "hashed_ip_address", "hashed_ip"),
    "google_aid": ("google_aid", "gaid", "google_advertising_id", "android_advertising_id"),
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
# The raw (unhashed) userIds: LinkedIn field → idType.
RAW_IDS = (
    ("li_fat_id", c.ID_LINKEDIN_UUID),
    ("acxiom_id", c.ID_ACXIOM),
    ("oracle_moat_id", c.ID_ORACLE_MOAT),
)
USER_INFO_FIELDS = ("first_name", "last_name", "company_name", "title", "country_code")
# An event's identifiers (match keys), in the order the general path lists them; the planned path
# keeps them as bits (`ID_BIT`) and reads the tuple from `IDENTIFIERS[mask]`.
IDENTIFIER_ORDER = (
    "email",
    "li_fat_id",
    "acxiom_id",
    "oracle_moat_id",
    "ip_address",
    "google_aid",
    "name",
    "external_id",
    "lead",
)
ID_BIT = {name: 1 << bit for bit, name in enumerate(IDENTIFIER_ORDER)}
IDENTIFIERS = tuple(
    tuple(name for bit, name in enumerate(IDENTIFIER_ORDER) if mask >> bit & 1)
    for mask in range(1 << len(IDENTIFIER_ORDER))
)
TIME = "conversion_happened_at"
# A hashed variant feeds the same LinkedIn field as its plain one: the value itself says which it is.
TARGETS = {"sha256_email": "email", "sha256_ip_address": "ip_address"}

Source = str | tuple[Step, ...]  # a top-level key of the record, or a nested path (keys and list indices)
# (field, source) pairs, best source of each field first; "email" also covers sha256_email.
Layout = tuple[tuple[str, Source], ...]


class Plan:
    """The record key of every LinkedIn field, for a layout where each field has at most one
    top-level source (the usual case): the planned path reads those keys directly."""

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
        "google_aid",
        "ip_address",
        "last_name",
        "lead_id",
        "raw_ids",
        "time",
        "title",
        "user_info",
    )

    def __init__(self, sources: dict[str, str]) -> None:
        self.event_name = sources.get("event_name")
        self.time = sources.get(TIME)
        self.email = sources.get("email")
        # (identifier bit, idType, record key) of each raw userId
        self.raw_ids = tuple((ID_BIT[field], id_type, sources[field]) for field, id_type in RAW_IDS if field in sources)
        self.ip_address = sources.get("ip_address")
        self.google_aid = sources.get("google_aid")
        self.first_name = sources.get("first_name")
        self.last_name = sources.get("last_name")
        self.company_name = sources.get("company_name")
        self.title = sources.get("title")
        self.country_code = sources.get("country_code")
        self.user_info = tuple(sources[field] for field in USER_INFO_FIELDS if field in sources)
        self.external_id = sources.get("external_id")
        self.lead_id = sources.get("lead_id")
        self.conversion_value = sources.get("conversion_value")
        self.currency_code = sources.get("currency_code")
        self.event_id = sources.get("event_id")

    @classmethod
    def of(cls, layout: Layout) -> Plan | None:
        """None when a field has several candidate sources or a nested path (the general path handles those)."""
        sources: dict[str, str] = {}
        for field, source in layout:
            if field in sources or not isinstance(source, str):
                return None
            sources[field] = source
        return cls(sources)


def layout_of(keys: tuple[str, ...], explicit: Mapping[str, str]) -> Layout:
    """Where each LinkedIn field is read from, for records with exactly these keys: the configured
    `field_mappings` path (top-level key, else a dotted path), else the recognised names; a key
    matched exactly first, then case-insensitively."""
    by_fold: dict[str, list[str]] = {}
    for key in keys:
        by_fold.setdefault(key.casefold(), []).append(key)

    def top_level(name: str) -> list[str]:
        return sorted(by_fold.get(name.casefold(), []), key=lambda key: key != name)  # exact case first

    layout: list[tuple[str, Source]] = []
    for field in (*RECOGNISED_FIELDS, "event_name"):
        path = explicit.get(field)
        sources: list[Source]
        if path is None:
            sources = [key for alias in RECOGNISED_FIELDS[field] for key in top_level(alias)]
        else:
            steps = parse_path(path) if is_nested(path) else None
            sources = list(top_level(path)) or ([steps] if steps else [])
        target = TARGETS.get(field, field)
        layout.extend((target, source) for source in sources)
    return tuple(layout)


def dig(data: Any, path: tuple[Step, ...]) -> Any:
    """The value at a nested path; each key matched exactly, else case-insensitively; an index steps into a list."""
    for key in path:
        if key.__class__ is int:
            data = data[key] if isinstance(data, list) and key < len(data) else None  # type: ignore[index]
            continue
        if not isinstance(data, Mapping):
            return None
        if key in data:
            data = data[key]
            continue
        folded = key.casefold()  # type: ignore[union-attr]
        data = next((value for name, value in data.items() if name.casefold() == folded), None)
    return data


def blank(value: Any) -> bool:
    """None, empty or whitespace-only text: treated as absent."""
    return value is None or (value.__class__ is str and (not value or value.isspace()))


def source_name(layout: Layout, data: Mapping[str, Any], field: str) -> str:
    """The record field a LinkedIn field was read from (the first non-blank source), for messages."""
    for name, source in layout:
        if name == field and not blank(data[source] if isinstance(source, str) else dig(data, source)):
            return source if isinstance(source, str) else path_text(source)
    return field
