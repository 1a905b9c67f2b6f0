"""The mapping's reason tables: each rejection code and note with its sentence (docs/mapping.md §4),
and the sentences built from them. One place, so the sync summary, the docs and the tests agree."""

from __future__ import annotations

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.linkedin.versions import ApiVersion
from destination_linkedin_capi.mapping.identifiers import BY_KEY, LISTED, UNUSABLE

# LinkedIn does not document future timestamps; a little clock skew is allowed.
MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
_SKEW_MINUTES = MAX_FUTURE_SKEW_MS // 60_000
_first = ApiVersion.first_accepting

REJECTION_REASONS: dict[str, str] = {
    "no_consent": "The record's consent field does not hold a granted value (Consent values), so it is not sent.",
    "unknown_event": "The record could not be matched to any configured conversion event.",
    "no_conversion_rule": "The record's event has no LinkedIn conversion rule to send it to.",
    "invalid_conversion_rule": "The record's conversion rule ID is not a number "
    f"(or {c.CONVERSION_URN_PREFIX}<number>).",
    "unknown_conversion_rule": "The record's conversion rule is not one of the ad account's enabled Conversions API "
    "rules.",
    "missing_timestamp": "The record has no conversion time.",
    "invalid_timestamp": "The conversion time is not an ISO-8601 date-time or an epoch number.",
    "too_old": "The conversion happened more than 90 days ago (less the safety margin); LinkedIn refuses such events.",
    "in_future": f"The conversion time is more than {_SKEW_MINUTES} minutes in the future.",
    "no_identifier": f"The record has nothing LinkedIn can match on: no {LISTED}.",
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
    f"({ApiVersion.first_refusing(c.ID_ORACLE_MOAT)} or later) no longer accepts it.",
    "invalid_ip_address_dropped": "An IP address that is not a valid IPv4 or IPv6 address (nor a SHA-256 hash of one) "
    "was left out.",
    "ipv6_address_dropped": "An IPv6 address was left out: LinkedIn takes IPv4 addresses only.",
    "ip_address_unsupported_dropped": "An IP address was left out: the configured API version does not accept it "
    f"(plain addresses need {_first(c.ID_PLAINTEXT_IP)} or later, hashed ones "
    f"{_first(c.ID_SHA256_IP)} or later).",
    "invalid_google_aid_dropped": "A Google advertising ID that is not a UUID (8-4-4-4-12 hex digits, not all zero) "
    "was left out.",
    "google_aid_unsupported_dropped": "A Google advertising ID was left out: the configured API version "
    f"(before {_first(c.ID_GOOGLE_AID)}) does not accept it.",
    "invalid_external_id_dropped": "An external ID that is neither text nor a whole number was left out.",
    "invalid_lead_dropped": "A lead that is not a Lead Gen form response (urn:li:leadGenFormResponse:…) was left out.",
    "partial_name_dropped": "Name, company, title or country were left out: LinkedIn needs both first and last name.",
    "unknown_country_dropped": "A country that is not an ISO 3166 country was left out.",
}


def no_identifier(notes: list[str]) -> tuple[str, str]:
    """(code, sentence) for a record left with no match key, saying why the ones it had did not count."""
    if "invalid_email_dropped" in notes:
        return (
            "invalid_email",
            "The email is neither an address (it needs an '@') nor a SHA-256 hash, and the record has no other "
            "identifier.",
        )
    unusable = [UNUSABLE[note] for note in notes if note in UNUSABLE]
    detail = f" ({'; '.join(unusable)})" if unusable else ""
    return (
        "no_identifier",
        f"The record has no {LISTED}{detail}.",
    )


def not_alone(key: str, version: str) -> str:
    """The no_identifier sentence for a record whose only match key `key` the configured `version` does not take
    alone (the lead before 202605)."""
    identifier = BY_KEY[key]
    return (
        f"The record's only identifier is the {identifier.named}, and LinkedIn takes it alone from API version "
        f"{identifier.alone_from} on (the configured version is {version}): add another identifier or set a "
        "newer LinkedIn API version."
    )


def too_old(days_ago: int, margin_minutes: int) -> str:
    """The too_old detail, after "Field '<name>' " (how old, not the time itself: record values are not echoed)."""
    return (
        f"is a time {days_ago} days ago; LinkedIn accepts conversions from the last 90 days and this connector "
        f"stops {margin_minutes} minutes before that limit"
    )


def _duration(ms: int) -> str:
    for unit, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if ms >= size:
            count = ms // size
            return f"{count:,} {unit}" + ("" if count == 1 else "s")
    return "less than a minute"


def in_future(ahead_ms: int) -> str:
    """The in_future detail, after "Field '<name>' "."""
    return f"is a time {_duration(ahead_ms)} in the future, more than the {_SKEW_MINUTES} minutes of clock skew allowed"


_NAMED_RECOGNISED = 6  # recognised time fields a missing_timestamp sentence names (docs/mapping.md §2 lists all)


def missing_timestamp(mapped: tuple[str, ...] | None, recognised: tuple[str, ...]) -> str:
    """The missing_timestamp sentence, before its hint: where the time was looked for."""
    names = ", ".join(recognised[:_NAMED_RECOGNISED]) + (", …" if len(recognised) > _NAMED_RECOGNISED else "")
    where = f"any recognised field ({names})"
    if mapped:
        where = f"field '{mapped[0]}' (Field mappings) nor in " + where
    return f"The record has no conversion time in {where}."


def hint(names: tuple[str, ...], kind: str) -> str:
    """What ends a missing_timestamp ("date") or no_identifier ("identifier") sentence: the record's fields that
    look like one (their names only, never their values), to map with Field mappings."""
    if not names:
        return ""
    listed = ", ".join(f"`{name}`" for name in names)
    target = "conversion_happened_at" if kind == "date" else "an identifier such as email"
    return f" The record has {listed}: map one to {target} with Field mappings."


MISSING_CURRENCY = "has an amount but the record has no currency and no default currency is configured"


INVALID_CONVERSION_RULE = f"is not a conversion rule ID (digits, or {c.CONVERSION_URN_PREFIX}<digits>)"


def unknown_conversion_rule(rule_id: int, account_id: int, why: str) -> str:
    """Why rows naming `rule_id` are not sent: `why` is "is disabled", …"""
    return (
        f"Conversion rule {rule_id} {why}; rows may only name enabled Conversions API rules of ad account "
        f"{account_id} (field conversion_rule_id)."
    )


def no_conversion_rule(event_name: str) -> str:
    return f"Event '{event_name}' has no LinkedIn conversion rule to send it to."


def forced_unknown_event(stream: str, target: str, configured: str) -> str:
    return f"Stream '{stream}' is set to send to '{target}', which is not a configured event ({configured})."


def unknown_event_name(field: str, shown_value: str, configured: str) -> str:
    return f"Field '{field}' names event {shown_value}, which is not a configured event ({configured})."


def no_event(event_name_field: str, stream: str, configured: str) -> str:
    return (
        f"No event for this record: it has no '{event_name_field}' value, stream '{stream}' is not in Stream events "
        f"nor named like an event, and more than one event is configured ({configured})."
    )
