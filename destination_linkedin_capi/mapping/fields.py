"""Which record key feeds which LinkedIn field: every field with its recognised names (the identifiers' from
`identifiers.IDENTIFIERS`, then the rest), and the layout of one record key set (every candidate source, best
first), worked out once per distinct key set; docs/mapping.md §2 lists the names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destination_linkedin_capi.mapping.identifiers import IDENTIFIERS, Field
from destination_linkedin_capi.mapping.paths import Step, is_nested, parse_path, path_text

# The fields that are not identifiers: a name's company, title and country, and the event's own fields.
OTHER_FIELDS = (
    Field("company_name", ("company", "company_name"), "Company name (with first and last name)."),
    Field("title", ("title", "job_title"), "Job title (with first and last name)."),
    Field(
        "country_code",
        ("country", "country_code"),
        "Country: ISO 3166 alpha-2, alpha-3 or English name (with first and last name).",
    ),
    Field(
        "conversion_happened_at",
        ("conversion_happened_at", "conversion_time", "occurred_at", "event_time", "timestamp", "created_at"),
        "When the conversion happened: ISO-8601 date/time or epoch seconds/milliseconds; within the last 90 days.",
        json_type=("string", "integer", "number"),
    ),
    Field(
        "conversion_value",
        ("conversion_value", "value", "amount", "revenue"),
        "Conversion value amount (decimal, not negative).",
        json_type=("string", "number", "null"),
    ),
    Field("currency_code", ("currency", "currency_code"), "ISO 4217 currency of the value, e.g. USD."),
    Field(
        "event_id",
        ("event_id",),
        "Event ID (≤ 64 characters) used to deduplicate with the Insight Tag; derived from the row when absent.",
    ),
    Field(
        "conversion_rule_id",
        ("conversion_rule_id",),
        "The conversion rule this row goes to instead of its event's: one of the ad account's enabled Conversions "
        "API rules (its ID, or urn:lla:llaPartnerConversion:<ID>).",
        json_type=("string", "integer", "null"),
    ),
)
FIELDS: tuple[Field, ...] = (*(f for identifier in IDENTIFIERS for f in identifier.fields), *OTHER_FIELDS)
# Recognised top-level record fields for each `field_mappings` LinkedIn field, in priority order.
RECOGNISED_FIELDS: dict[str, tuple[str, ...]] = {f.name: f.recognised for f in FIELDS}
USER_INFO_FIELDS = ("first_name", "last_name", "company_name", "title", "country_code")
TIME = "conversion_happened_at"
RULE = "conversion_rule_id"  # a row's own conversion rule (docs/mapping.md §1)
# A hashed variant feeds the same LinkedIn field as its plain one: the value itself says which it is.
TARGETS = {f.name: f.feeds for f in FIELDS if f.feeds is not None}

Source = str | tuple[Step, ...]  # a top-level key of the record, or a nested path (keys and list indices)


class Layout(tuple[tuple[str, Source], ...]):
    """(field, source) pairs, best source of each field first; "email" also covers sha256_email. `firsts` holds
    the best source of each field only: a record reads those, and a field's later sources only when its best
    one is blank (rare), so the common record pays one look per field."""

    firsts: tuple[tuple[str, Source], ...]
    user_rules: Any = None  # the identifier rules its records can need, worked out by the mapping on first use

    def __new__(cls, pairs: list[tuple[str, Source]]) -> Layout:
        layout = super().__new__(cls, pairs)
        firsts: dict[str, Source] = {}
        for field, source in pairs:
            firsts.setdefault(field, source)
        layout.firsts = tuple(firsts.items())
        return layout


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
    return Layout(layout)


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


def later_value(layout: Layout, data: Mapping[str, Any], field: str) -> Any:
    """The first non-blank value of a field whose best source is blank (None when every source is)."""
    values = (
        data[source] if isinstance(source, str) else dig(data, source) for name, source in layout if name == field
    )
    return next((value for value in values if not blank(value)), None)


def source_name(layout: Layout, data: Mapping[str, Any], field: str) -> str:
    """The record field a LinkedIn field was read from (the first non-blank source), for messages."""
    for name, source in layout:
        if name == field and not blank(data[source] if isinstance(source, str) else dig(data, source)):
            return source if isinstance(source, str) else path_text(source)
    return field
