"""Which record key feeds which LinkedIn field: every field with its recognised names (the identifiers' from
`identifiers.IDENTIFIERS`, then the rest, then the names of the commonest sources), and the layout of one record key
set (every candidate source, best first), worked out once per distinct key set; docs/mapping.md §2 lists the names.

Names are recognised by meaning, not spelling: a key matches a name when both are equal once case and separators
are left out (`CreatedDate`, `createdAt`, `Create Date` and `created-date` all read as `createddate`). That is
worked out per key set, never per record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from destination_linkedin_capi.mapping.identifiers import IDENTIFIERS, Field
from destination_linkedin_capi.mapping.paths import Step, is_nested, parse_path, path_text
from destination_linkedin_capi.masking import looks_like_name

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
        "Conversion value amount in the currency's major unit (49.99 USD; amounts in cents need Amount in minor units), not negative.",
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
# The names of the commonest sources (Salesforce, HubSpot, Stripe, Shopify, GA4 exports, CRM CSV headers), read
# after each field's own names. Spellings that differ only in case and separators need no entry (Salesforce
# `CreatedDate` is `created_date`, HubSpot `createdAt` is `created_at`). A dotted name is matched both as a
# flattened column (`properties_email`) and as a path into a nested object (`{"properties": {"email": …}}`).
SOURCE_ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "work_email",
        "business_email",
        "contact_email",
        "customer_email",
        "receipt_email",
        "properties.email",
        "billing_details.email",
        "customer_details.email",
        "customer.email",
    ),
    "ip_address": ("browser_ip", "client_details.browser_ip"),
    "first_name": ("properties.firstname", "customer.first_name", "billing_address.first_name"),
    "last_name": ("properties.lastname", "customer.last_name", "billing_address.last_name"),
    "company_name": ("properties.company",),
    "title": ("properties.jobtitle",),
    "country_code": (
        "properties.country",
        "billing_address.country_code",
        "billing_details.address.country",
        "geo.country",
    ),
    "conversion_happened_at": (
        "created_date",
        "createdate",
        "properties.createdate",
        "created",
        "processed_at",
        "event_timestamp",
    ),
    "conversion_value": ("total_price", "properties.amount", "ecommerce.purchase_revenue"),
    "currency_code": ("currency_iso_code", "properties.deal_currency_code"),
}
# Recognised record fields for each `field_mappings` LinkedIn field, in priority order.
RECOGNISED_FIELDS: dict[str, tuple[str, ...]] = {
    f.name: (*f.recognised, *SOURCE_ALIASES.get(f.name, ())) for f in FIELDS
}
USER_INFO_FIELDS = ("first_name", "last_name", "company_name", "title", "country_code")
TIME = "conversion_happened_at"
RULE = "conversion_rule_id"  # a row's own conversion rule (docs/mapping.md §1)
# A hashed variant feeds the same LinkedIn field as its plain one: the value itself says which it is.
TARGETS = {f.name: f.feeds for f in FIELDS if f.feeds is not None}

Source = str | tuple[Step, ...]  # a top-level key of the record, or a nested path (keys and list indices)


def canonical(name: str) -> str:
    """A name without case or separators: `CreatedDate`, `created_at`, `Create Date`, `created.date` → `createddate`."""
    return "".join(filter(str.isalnum, name.casefold()))


def _alias(name: str) -> tuple[str, str, str | None, tuple[Step, ...]]:
    """(name, its canonical form, the canonical first key of a dotted name, the steps after that key)."""
    steps = parse_path(name) if is_nested(name) else None
    if not steps or len(steps) < 2 or not isinstance(steps[0], str):
        return name, canonical(name), None, ()
    return name, canonical(name), canonical(steps[0]), steps[1:]


_ALIASES = {field: tuple(map(_alias, names)) for field, names in RECOGNISED_FIELDS.items()}


class Sources:
    """Where a record's identifiers were read from: identifier key → (record field, "mapped" or "recognised").
    One object per distinct content (`Sources.of`), compared by identity: the summary counts records by it."""

    __slots__ = ("read_from",)

    def __init__(self, read_from: tuple[tuple[str, str, str], ...]) -> None:
        self.read_from = read_from

    @staticmethod
    def of(read_from: tuple[tuple[str, str, str], ...], known: dict[tuple, Sources]) -> Sources:
        """The one object for this content, from `known` (a sync's table, emptied when large)."""
        found = known.get(read_from)
        if found is None:
            if len(known) >= 10_000:
                known.clear()
            found = known[read_from] = Sources(read_from)
        return found


# Each identifier's key and the field its source is named by (the first name for a name).
_IDENTIFIER_FIELDS = tuple((identifier.key, identifier.fields[0].name) for identifier in IDENTIFIERS)
SOURCE_FIELDS = frozenset(field for _, field in _IDENTIFIER_FIELDS)


class Layout(tuple[tuple[str, Source], ...]):
    """(field, source) pairs, best source of each field first; "email" also covers sha256_email. `firsts` holds
    the best source of each field only: a record reads those, and a field's later sources only when its best
    one is blank (rare), so the common record pays one look per field. `mapped` holds the pairs read from a
    `field_mappings` path, `paths` the mappings the layout was made with."""

    firsts: tuple[tuple[str, Source], ...]
    mapped: frozenset[tuple[str, Source]]
    paths: Mapping[str, tuple[str, ...]]
    user_rules: Any = None  # the identifier rules its records can need, worked out by the mapping on first use
    sources: Sources | None = None  # where its records' identifiers are read from, when no best source is blank
    hints: dict[str, str] | None = None  # rejection hints by kind, worked out on the first rejection

    def __new__(
        cls,
        pairs: list[tuple[str, Source]],
        mapped: frozenset[tuple[str, Source]] = frozenset(),
        paths: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Layout:
        layout = super().__new__(cls, pairs)
        firsts: dict[str, Source] = {}
        for field, source in pairs:
            firsts.setdefault(field, source)
        layout.firsts = tuple(firsts.items())
        layout.mapped = mapped
        layout.paths = paths or {}
        return layout

    def sources_of(
        self, known: dict[tuple, Sources], data: Mapping[str, Any] | None = None, later: tuple[str, ...] = ()
    ) -> Sources:
        """Where the identifiers are read from: each one's best source, except the `later` fields (of `SOURCE_FIELDS`),
        whose best source is blank in `data`: their first non-blank one."""
        firsts = dict(self.firsts)
        read_from = []
        for key, field in _IDENTIFIER_FIELDS:
            source = first_source(self, data, field) if data is not None and field in later else firsts.get(field)
            if source is not None:
                kind = "mapped" if (field, source) in self.mapped else "recognised"
                read_from.append((key, source if isinstance(source, str) else path_text(source), kind))
        return Sources.of(tuple(read_from), known)


def layout_of(keys: tuple[str, ...], paths: Mapping[str, tuple[str, ...]]) -> Layout:
    """Where each LinkedIn field is read from, for records with exactly these keys: the `field_mappings` paths
    (`paths`: field → paths, best first; a top-level key matched exactly, then case-insensitively, else a
    dotted path), then the recognised names (a key equal to one once case and separators are left out, the
    name's own spelling first; a dotted name also as a path from the key that matches its first part). A mapped
    field falls back to the recognised names for records whose mapped path is absent or blank."""
    by_fold: dict[str, list[str]] = {}
    by_canon: dict[str, list[str]] = {}
    for key in keys:
        by_fold.setdefault(key.casefold(), []).append(key)
        by_canon.setdefault(canonical(key), []).append(key)

    layout: list[tuple[str, Source]] = []
    mapped: set[tuple[str, Source]] = set()
    for field in (*RECOGNISED_FIELDS, "event_name"):
        sources: list[Source] = []
        for path in paths.get(field, ()):
            steps = parse_path(path) if is_nested(path) else None
            found = sorted(by_fold.get(path.casefold(), []), key=lambda key: key != path)  # exact case first
            sources += found or ([steps] if steps else [])
        target = TARGETS.get(field, field)
        mapped.update((target, source) for source in sources)
        for name, canon, head, rest in _ALIASES.get(field, ()):
            folded = name.casefold()
            sources += sorted(by_canon.get(canon, []), key=lambda key: (key != name, key.casefold() != folded))
            if head is not None:
                sources += [(key, *rest) for key in by_canon.get(head, [])]
        layout.extend((target, source) for source in dict.fromkeys(sources))
    return Layout(layout, frozenset(mapped), paths)


# Words of a key name that suggest a date, or something a person could be matched on (for rejection hints).
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_DATE_WORDS = frozenset(
    [
        "date",
        "dates",
        "time",
        "timestamp",
        "datetime",
        "ts",
        "created",
        "updated",
        "modified",
        "submitted",
        "occurred",
        "closed",
        "converted",
        "day",
        "when",
    ]
)
_IDENTIFIER_WORDS = frozenset(
    [
        "email",
        "emails",
        "mail",
        "mails",
        "name",
        "firstname",
        "lastname",
        "fullname",
        "ip",
        "uuid",
        "gaid",
        "lead",
        "leads",
        "contact",
        "person",
        "member",
        "user",
        "customer",
        "visitor",
        "click",
        "gclid",
        "fbclid",
    ]
)
HINTS = 3  # names a rejection sentence lists, at most


def hint_names(layout: Layout, keys: tuple[str, ...], kind: str) -> tuple[str, ...]:
    """Up to three key names that look like a date ("date") or an identifier ("identifier"), not already read
    for the fields of that kind; only names that look like names (no values turned into keys)."""
    words = _DATE_WORDS if kind == "date" else _IDENTIFIER_WORDS
    used = {source for field, source in layout if (field == TIME) == (kind == "date") and isinstance(source, str)}
    found = []
    for key in keys:
        if key in used or not looks_like_name(key):
            continue
        parts = {word.casefold() for word in _WORD.findall(key)}
        if not parts.isdisjoint(words) or (kind == "date" and "at" in parts and len(parts) > 1):
            found.append(key)
            if len(found) == HINTS:
                break
    return tuple(found)


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


def first_source(layout: Layout, data: Mapping[str, Any], field: str) -> Source | None:
    """The first source of a field that holds a value in this record (None when every one is blank)."""
    for name, source in layout:
        if name == field and not blank(data[source] if isinstance(source, str) else dig(data, source)):
            return source
    return None


def source_name(layout: Layout, data: Mapping[str, Any], field: str) -> str:
    """The record field a LinkedIn field was read from (the first non-blank source), for messages."""
    source = first_source(layout, data, field)
    if source is None:
        return field
    return source if isinstance(source, str) else path_text(source)
