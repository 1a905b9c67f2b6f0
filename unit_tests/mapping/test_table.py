"""Table-driven mapping tests: one record in, the exact LinkedIn element (key order included) or
the exact rejection code out. Each row covers one rule of docs/mapping.md.

The clock is fixed at NOW = 2026-11-20T12:00:00Z = 1795176000000 ms; the 90-day limit is then
2026-08-22T12:00:00Z, and with the default 60-minute margin the oldest accepted time is 13:00Z.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.reasons import NOTE_REASONS, REJECTION_REASONS
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection, RoutedEvent
from destination_linkedin_capi.mapping.routing import StreamInfo
from destination_linkedin_capi.masking import looks_like_name

NOW = 1795176000000
T10 = 1795168800000  # 2026-11-20T10:00:00Z
JANE = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"  # docs/linkedin-facts.md §5: jane.doe@example.com
BASE = {"email": "jane.doe@example.com", "created_at": "2026-11-20T10:00:00Z", "event_id": "e1"}
UUID = "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def email_id(digest: str = JANE) -> dict:
    return {"idType": "SHA256_EMAIL", "idValue": digest}


def element(
    rule: int = 1,
    at: int = T10,
    value: tuple[str, str] | None = None,
    event_id: str = "e1",
    user_ids: tuple[dict, ...] = (email_id(),),
    user_info: dict | None = None,
    external: str | None = None,
    lead: str | None = None,
) -> dict:
    """An element in the key order of LinkedIn's worked batch example."""
    payload: dict[str, Any] = {"conversion": f"urn:lla:llaPartnerConversion:{rule}", "conversionHappenedAt": at}
    if value is not None:
        payload["conversionValue"] = {"currencyCode": value[0], "amount": value[1]}
    payload["eventId"] = event_id
    user: dict[str, Any] = {"userIds": list(user_ids)}
    if user_info is not None:
        user["userInfo"] = user_info
    if external is not None:
        user["externalIds"] = [external]
    if lead is not None:
        user["lead"] = lead
    payload["user"] = user
    return payload


@dataclass
class Case:
    id: str
    record: dict
    expected: dict | str  # the element, or a rejection code
    stream: str = "lead"
    config: dict = field(default_factory=dict)
    streams: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    base: bool = True  # start from BASE (email + time + event_id) and apply `record` on top
    rule_ids: dict | None = None
    identifiers: tuple[str, ...] | None = None


def rec(**fields: Any) -> dict:
    return fields


MINOR = {"amount_in_minor_units": True}


CASES = [
    # --- which event: destination_object_name, event-name field, stream_events / stream name, single event
    Case("stream-name-matches-event", rec(), element()),
    Case("stream-name-case-insensitive", rec(), element(), stream="Lead"),
    Case("stream-events-mapping", rec(), element(rule=2), stream="orders", config={"stream_events": "orders=PURCHASE"}),
    Case("event-name-field-beats-stream-name", rec(event_name="purchase"), element(rule=2)),
    Case("event-name-field-trimmed-any-case", rec(event_name="  PurChase "), element(rule=2), stream="misc"),
    Case("event-name-field-key-any-case", rec(EVENT_NAME="purchase"), element(rule=2), stream="misc"),
    Case("event-name-unknown-value", rec(event_name="page_view"), "unknown_event"),
    Case("event-name-not-text", rec(event_name=7), "unknown_event"),
    Case("event-name-null-falls-back-to-stream", rec(event_name=None), element()),
    Case("event-name-blank-falls-back-to-stream", rec(event_name="  "), element()),
    Case("no-route-with-two-events", rec(), "unknown_event", stream="misc"),
    Case(
        "single-configured-event-is-the-fallback",
        rec(),
        element(rule=7),
        stream="misc",
        config={"credentials": {"auth_type": "access_token", "access_token": "t", "conversion_mapping": "SIGN_UP=7"}},
        rule_ids={"sign_up": 7},
    ),
    Case(
        "destination-object-name-beats-record-field",
        rec(event_name="lead"),
        element(rule=2),
        streams={(None, "lead"): StreamInfo(destination_object_name="Purchase")},
    ),
    Case(
        "destination-object-name-unknown",
        rec(),
        "unknown_event",
        streams={(None, "lead"): StreamInfo(destination_object_name="SIGNUP")},
    ),
    Case(
        "custom-event-name-field",
        rec(type="purchase"),
        element(rule=2),
        stream="misc",
        config={"event_name_field": "type"},
    ),
    Case(
        "event-name-from-nested-field-mapping",
        rec(meta={"kind": "PURCHASE"}),
        element(rule=2),
        stream="misc",
        config={"field_mappings": [{"linkedin_field": "event_name", "record_field": "meta.kind"}]},
    ),
    Case("event-without-rule", rec(event_name="purchase"), "no_conversion_rule", rule_ids={"lead": 1}),
    # --- a row's own rule (conversion_rule_id): one of the account's enabled CAPI rules (ROW_RULES here)
    Case("row-rule-number", rec(conversion_rule_id=22285190), element(rule=22285190)),
    Case(
        "row-rule-urn-text", rec(Conversion_Rule_Id=" urn:lla:llaPartnerConversion:22285190 "), element(rule=22285190)
    ),
    Case(
        "row-rule-for-an-event-without-rule",
        rec(event_name="purchase", conversion_rule_id="22285190"),
        element(rule=22285190),
        rule_ids={"lead": 1},
    ),
    Case("row-rule-null-is-the-events-rule", rec(conversion_rule_id=None), element()),
    Case("row-rule-blank-is-the-events-rule", rec(conversion_rule_id=" "), element()),
    Case("row-rule-not-digits", rec(conversion_rule_id="rule-7"), "invalid_conversion_rule"),
    Case("row-rule-zero", rec(conversion_rule_id=0), "invalid_conversion_rule"),
    Case("row-rule-boolean", rec(conversion_rule_id=True), "invalid_conversion_rule"),
    Case("row-rule-other-urn", rec(conversion_rule_id="urn:li:sponsoredAccount:5"), "invalid_conversion_rule"),
    Case("row-rule-unknown", rec(conversion_rule_id=22285199), "unknown_conversion_rule"),
    Case(
        "row-rule-from-field-mapping",
        rec(meta={"rule": "22285190"}),
        element(rule=22285190),
        config={"field_mappings": [{"linkedin_field": "conversion_rule_id", "record_field": "meta.rule"}]},
    ),
    Case(
        "row-rule-checked-before-time",
        rec(conversion_rule_id="x", created_at="nope"),
        "invalid_conversion_rule",
    ),
    # --- email: strip, lowercase, SHA-256; 64-hex passes through lowercased
    Case("email-spaces-and-capitals", rec(email="  Jane.Doe@Example.COM \t"), element()),
    Case("email-prehashed-uppercase-hex", rec(email=JANE.upper()), element()),
    Case("email-prehashed-in-sha256-field", rec(email=None, sha256_email=JANE), element()),
    Case("email-plain-in-hashed-field", rec(email=None, hashed_email="Jane.Doe@example.com"), element()),
    Case("email-address-alias-any-case", rec(email=None, Email_Address="jane.doe@example.com"), element()),
    Case("email-unicode", rec(email="Jürgen@Bücher.DE"), element(user_ids=(email_id(sha("jürgen@bücher.de")),))),
    Case(
        "email-invalid-but-hashed-field-valid",
        rec(email="n/a", hashed_email=JANE),
        element(),
    ),
    Case(
        "email-invalid-dropped-when-other-id",
        rec(email="not-an-email", li_fat_id="AQE-1"),
        element(user_ids=({"idType": UUID, "idValue": "AQE-1"},)),
        notes=("invalid_email_dropped",),
    ),
    Case("email-invalid-alone", rec(email="not-an-email"), "invalid_email"),
    Case("email-inner-space-alone", rec(email="jane doe@example.com"), "invalid_email"),
    Case("email-number-alone", rec(email=42), "invalid_email"),
    Case("email-63-hex-is-not-a-hash", rec(email=JANE[:63]), "invalid_email"),
    # --- other identifiers
    Case(
        "li-fat-id-only",
        rec(email=None, li_fat_id=" AQEExample-li-fat-id "),
        element(user_ids=({"idType": UUID, "idValue": "AQEExample-li-fat-id"},)),
        identifiers=("li_fat_id",),
    ),
    Case(
        "linkedin-uuid-alias",
        rec(email=None, LinkedIn_UUID="AQE-2"),
        element(user_ids=({"idType": UUID, "idValue": "AQE-2"},)),
    ),
    Case(
        "all-user-ids-in-order",
        rec(oracle_moat_id="om-1", acxiom_id="ax-1", li_fat_id="AQE-3"),
        element(
            user_ids=(
                email_id(),
                {"idType": UUID, "idValue": "AQE-3"},
                {"idType": "ACXIOM_ID", "idValue": "ax-1"},
                {"idType": "ORACLE_MOAT_ID", "idValue": "om-1"},
            )
        ),
        identifiers=("email", "li_fat_id", "acxiom_id", "oracle_moat_id"),
        config={"api_version": "202604"},
    ),
    Case(
        "oracle-moat-dropped-from-202605",
        rec(oracle_moat_id="om-1"),
        element(),
        config={"api_version": "202605"},
        notes=("oracle_moat_id_unsupported_dropped",),
    ),
    Case(
        "oracle-moat-only-from-202605",
        rec(email=None, oracle_moat_id="om-1"),
        "no_identifier",
        config={"api_version": "202605"},
    ),
    Case(
        "li-fat-id-object-dropped",
        rec(li_fat_id={"id": 1}),
        element(),
        notes=("invalid_li_fat_id_dropped",),
    ),
    Case(
        "external-id-only",
        rec(email=None, external_id="crm-0042"),
        element(user_ids=(), external="crm-0042"),
        identifiers=("external_id",),
    ),
    Case("user-id-integer", rec(email=None, user_id=42), element(user_ids=(), external="42")),
    Case(
        "external-id-list-first-only", rec(email=None, external_id=["a-1", "b-2"]), element(user_ids=(), external="a-1")
    ),
    Case(
        "lead-bare-id",
        rec(email=None, lead_id="abc-123"),
        element(user_ids=(), lead="urn:li:leadGenFormResponse:abc-123"),
        identifiers=("lead",),
    ),
    Case(
        "lead-urn-kept",
        rec(email=None, lead="urn:li:leadGenFormResponse:abc-123"),
        element(user_ids=(), lead="urn:li:leadGenFormResponse:abc-123"),
    ),
    Case("lead-other-urn-alone", rec(email=None, lead="urn:li:sponsoredAccount:5"), "no_identifier"),
    Case(
        "lead-other-urn-dropped",
        rec(lead="urn:li:sponsoredAccount:5"),
        element(),
        notes=("invalid_lead_dropped",),
    ),
    Case(
        "other-ids-of-wrong-type-dropped",
        rec(acxiom_id=1.5, oracle_moat_id=True, external_id={"id": 1}),
        element(),
        notes=("invalid_acxiom_id_dropped", "invalid_oracle_moat_id_dropped", "invalid_external_id_dropped"),
    ),
    Case("nothing-to-match", rec(email=None), "no_identifier"),
    Case("blank-email-is-no-identifier", rec(email="   "), "no_identifier"),
    # --- userInfo: both names or nothing
    Case(
        "names-only",
        rec(email=None, first_name="Sam", last_name="Lee"),
        element(user_ids=(), user_info={"firstName": "Sam", "lastName": "Lee"}),
        identifiers=("name",),
    ),
    Case(
        "unicode-names-trimmed-nfc",
        rec(first_name="  Zoë ", last_name="Nu\u0301n\u0303ez", company="Bücher & Söhne"),
        element(user_info={"firstName": "Zoë", "lastName": "Núñez", "companyName": "Bücher & Söhne"}),
    ),
    Case(
        "full-user-info-country-name",
        rec(firstname="Jane", lastname="Doe", company_name="Acme GmbH", job_title="CFO", country="Germany"),
        element(
            user_info={
                "firstName": "Jane",
                "lastName": "Doe",
                "companyName": "Acme GmbH",
                "title": "CFO",
                "countryCode": "DE",
            }
        ),
        identifiers=("email", "name"),
    ),
    Case(
        "country-alpha3",
        rec(given_name="A", family_name="B", country_code="usa"),
        element(user_info={"firstName": "A", "lastName": "B", "countryCode": "US"}),
    ),
    Case(
        "country-alpha2-lowercase",
        rec(first_name="A", last_name="B", country=" de "),
        element(user_info={"firstName": "A", "lastName": "B", "countryCode": "DE"}),
    ),
    Case(
        "country-uk-alias",
        rec(first_name="A", last_name="B", country="UK"),
        element(user_info={"firstName": "A", "lastName": "B", "countryCode": "GB"}),
    ),
    Case(
        "country-unknown-dropped",
        rec(first_name="A", last_name="B", country="Atlantis"),
        element(user_info={"firstName": "A", "lastName": "B"}),
        notes=("unknown_country_dropped",),
    ),
    Case("first-name-only-alone", rec(email=None, first_name="Sam"), "no_identifier"),
    Case(
        "first-name-only-dropped",
        rec(first_name="Sam", last_name="  "),
        element(),
        notes=("partial_name_dropped",),
    ),
    Case("company-without-names-dropped", rec(company="Acme"), element(), notes=("partial_name_dropped",)),
    # --- conversionHappenedAt → epoch ms UTC
    Case("iso-offset", rec(created_at="2026-11-20T11:00:00+01:00"), element()),
    Case("iso-fraction-truncated-to-ms", rec(created_at="2026-11-20T10:00:00.123999Z"), element(at=T10 + 123)),
    Case("dst-summer-time-cest", rec(created_at="2026-10-25T02:30:00+02:00"), element(at=1792888200000)),
    Case("dst-winter-time-cet", rec(created_at="2026-10-25T02:30:00+01:00"), element(at=1792891800000)),
    Case("dst-us-edt", rec(created_at="2026-11-01T01:30:00-04:00"), element(at=1793511000000)),
    Case("dst-us-est", rec(created_at="2026-11-01T01:30:00-05:00"), element(at=1793514600000)),
    Case("naive-python-style-is-utc", rec(created_at="2026-11-20 10:00:00"), element()),
    Case("date-only-is-midnight-utc", rec(created_at="2026-11-20"), element(at=1795132800000)),
    Case("epoch-seconds-10-digits", rec(created_at=1795168800), element()),
    Case("epoch-ms-13-digits", rec(created_at=1795168800123), element(at=T10 + 123)),
    Case("epoch-us-16-digits", rec(created_at=1795168800123456), element(at=T10 + 123)),
    Case("epoch-ns-19-digits", rec(created_at=1795168800123456789), element(at=T10 + 123)),
    Case("epoch-seconds-digit-string", rec(created_at=" 1795168800 "), element()),
    Case("epoch-seconds-float", rec(created_at=1795168800.25), element(at=T10 + 250)),
    Case("time-alias-priority", rec(created_at=None, timestamp="2026-11-20T09:00:00Z", conversion_time=T10), element()),
    Case("time-missing", rec(created_at=None), "missing_timestamp"),
    Case("time-not-a-date", rec(created_at="yesterday"), "invalid_timestamp"),
    Case("time-boolean", rec(created_at=True), "invalid_timestamp"),
    Case("time-too-large", rec(created_at=10**25), "invalid_timestamp"),
    Case("time-91-days-old", rec(created_at="2026-08-21T12:00:00Z"), "too_old"),
    Case("time-inside-default-margin", rec(created_at="2026-08-22T12:30:00Z"), "too_old"),
    Case(
        "time-inside-zero-margin",
        rec(created_at="2026-08-22T12:30:00Z"),
        element(at=1787401800000),
        config={"event_age_margin_minutes": 0},
    ),
    Case("time-4-minutes-ahead", rec(created_at="2026-11-20T12:04:00Z"), element(at=NOW + 240000)),
    Case("time-6-minutes-ahead", rec(created_at="2026-11-20T12:06:00Z"), "in_future"),
    Case("epoch-zero-too-old", rec(created_at=0), "too_old"),
    # --- conversionValue: decimal string, ISO 4217
    Case("amount-zero", rec(value=0, currency="EUR"), element(value=("EUR", "0"))),
    Case("amount-0.10-string-keeps-zero", rec(value="0.10", currency="EUR"), element(value=("EUR", "0.10"))),
    Case("amount-0.1-float", rec(value=0.1, currency="EUR"), element(value=("EUR", "0.1"))),
    Case("amount-1e3-float", rec(amount=1e3, currency="USD"), element(value=("USD", "1000.0"))),
    Case("amount-1e3-string", rec(amount="1e3", currency="USD"), element(value=("USD", "1000"))),
    Case("amount-1e-7-float", rec(amount=1e-7, currency="USD"), element(value=("USD", "0.0000001"))),
    Case("amount-decimal-comma-ambiguous", rec(value="12,5", currency="EUR"), "invalid_amount"),
    Case("amount-thousands-and-dot", rec(value="1,234.50", currency="EUR"), element(value=("EUR", "1234.50"))),
    Case("amount-lone-thousands-group-ambiguous", rec(value="1,234", currency="EUR"), "invalid_amount"),
    Case("amount-two-thousands-groups", rec(value="1,234,567", currency="EUR"), element(value=("EUR", "1234567"))),
    Case("amount-european-format-ambiguous", rec(value="1.234,50", currency="EUR"), "invalid_amount"),
    Case(
        "amount-huge-integer-exact",
        rec(value=123456789012345678901234567890, currency="JPY"),
        element(value=("JPY", "123456789012345678901234567890")),
    ),
    Case("amount-beyond-30-digits", rec(value=10**30, currency="JPY"), "invalid_amount"),
    Case("amount-negative", rec(value=-5, currency="EUR"), "negative_amount"),
    Case("amount-negative-thousands", rec(value="-1,234.50", currency="EUR"), "negative_amount"),
    Case("amount-negative-zero", rec(value="-0.00", currency="EUR"), element(value=("EUR", "0.00"))),
    Case("amount-padded-string", rec(revenue=" 49.90 ", currency_code="eur"), element(value=("EUR", "49.90"))),
    Case("amount-text", rec(value="free", currency="EUR"), "invalid_amount"),
    Case("amount-nan-text", rec(value="NaN", currency="EUR"), "invalid_amount"),
    Case("amount-boolean", rec(value=True, currency="EUR"), "invalid_amount"),
    Case("amount-currency-symbol", rec(value="$12", currency="USD"), "invalid_amount"),
    Case("amount-without-currency", rec(value=10), "missing_currency"),
    Case("amount-default-currency", rec(value=10), element(value=("USD", "10")), config={"default_currency": "usd"}),
    Case(
        "record-currency-beats-default",
        rec(value=10, currency="EUR"),
        element(value=("EUR", "10")),
        config={"default_currency": "USD"},
    ),
    Case("currency-not-iso", rec(value=10, currency="EURO"), "invalid_currency"),
    Case("currency-without-amount", rec(currency="EUR"), element()),
    Case("conversion-value-field-name", rec(conversion_value=49.9, currency="EUR"), element(value=("EUR", "49.9"))),
    # --- amounts in minor units (cents): each currency's ISO 4217 decimal places, exactly
    Case(
        "minor-units-stripe-usd",
        rec(amount=4999, currency="usd"),
        element(value=("USD", "49.99")),
        config={"amount_in_minor_units": True},
    ),
    Case("minor-units-jpy", rec(amount=500, currency="JPY"), element(value=("JPY", "500")), config=MINOR),
    Case("minor-units-kwd", rec(amount=1234, currency="KWD"), element(value=("KWD", "1.234")), config=MINOR),
    Case("minor-units-small", rec(amount="5", currency="EUR"), element(value=("EUR", "0.05")), config=MINOR),
    Case("minor-units-zero", rec(amount=0, currency="EUR"), element(value=("EUR", "0.00")), config=MINOR),
    Case("minor-units-float-whole", rec(amount=4999.0, currency="USD"), element(value=("USD", "49.99")), config=MINOR),
    Case(
        "minor-units-30-digits-exact",
        rec(amount=123456789012345678901234567891, currency="USD"),
        element(value=("USD", "1234567890123456789012345678.91")),
        config=MINOR,
    ),
    Case(
        "minor-units-default-currency",
        rec(amount=250),
        element(value=("EUR", "2.50")),
        config={**MINOR, "default_currency": "EUR"},
    ),
    Case("minor-units-fraction", rec(amount="49.5", currency="USD"), "invalid_amount", config=MINOR),
    Case("minor-units-no-minor-unit", rec(amount=10, currency="XAU"), "invalid_currency", config=MINOR),
    Case("minor-units-off-by-default", rec(amount=4999, currency="usd"), element(value=("USD", "4999"))),
    # --- eventId
    Case("event-id-kept", rec(event_id=" order-8c482 "), element(event_id="order-8c482")),
    Case("event-id-integer", rec(event_id=8482), element(event_id="8482")),
    Case("event-id-64-chars", rec(event_id="x" * 64), element(event_id="x" * 64)),
    Case("event-id-65-chars", rec(event_id="x" * 65), "invalid_event_id"),
    Case("event-id-object", rec(event_id={"id": 1}), "invalid_event_id"),
    Case(
        "event-id-from-primary-key",
        rec(event_id=None, id=42),
        element(rule=2, event_id=sha('[null,"orders","purchase",[42]]')[:32]),
        stream="orders",
        config={"stream_events": "orders=PURCHASE"},
        streams={(None, "orders"): StreamInfo(primary_key=(("id",),))},
    ),
    Case(
        "event-id-from-nested-composite-key-and-namespace",
        rec(event_id=None, shop="eu", order={"no": 7}),
        element(event_id=sha('["crm","lead","lead",["eu",7]]')[:32]),
        streams={("crm", "lead"): StreamInfo(primary_key=(("shop",), ("order", "no")))},
    ),
    Case(
        "event-id-from-whole-record-sorted-keys",
        {"z": 1, "email": "jane.doe@example.com", "created_at": T10},
        element(event_id=sha(f'[null,"lead","lead",{{"created_at":{T10},"email":"jane.doe@example.com","z":1}}]')[:32]),
        base=False,
    ),
    Case(
        "event-id-missing-key-value-uses-whole-record",
        {"email": "jane.doe@example.com", "created_at": T10, "id": None},
        element(
            event_id=sha(f'[null,"lead","lead",{{"created_at":{T10},"email":"jane.doe@example.com","id":null}}]')[:32]
        ),
        base=False,
        streams={(None, "lead"): StreamInfo(primary_key=(("id",),))},
    ),
    # --- explicit field mappings win
    Case(
        "mapping-nested-email",
        {"contact": {"mail": "Jane.Doe@example.com"}, "ts": T10, "event_id": "e1"},
        element(),
        base=False,
        config={
            "field_mappings": [
                {"linkedin_field": "email", "record_field": "contact.mail"},
                {"linkedin_field": "conversion_happened_at", "record_field": "ts"},
            ]
        },
    ),
    Case(
        "mapping-beats-recognised-field",
        rec(email="other@example.com", work_email="jane.doe@example.com"),
        element(),
        config={"field_mappings": [{"linkedin_field": "email", "record_field": "work_email"}]},
    ),
    Case(
        "mapping-flattened-dotted-key",
        {"user.email": "jane.doe@example.com", "created_at": T10, "event_id": "e1"},
        element(),
        base=False,
        config={"field_mappings": [{"linkedin_field": "email", "record_field": "user.email"}]},
    ),
    Case(
        "mapping-lead-and-value",
        rec(email=None, form={"response": "urn:li:leadGenFormResponse:f-9"}, deal=1500, cur="eur"),
        element(value=("EUR", "1500"), user_ids=(), lead="urn:li:leadGenFormResponse:f-9"),
        config={
            "field_mappings": [
                {"linkedin_field": "lead_id", "record_field": "form.response"},
                {"linkedin_field": "conversion_value", "record_field": "deal"},
                {"linkedin_field": "currency_code", "record_field": "cur"},
            ]
        },
    ),
    Case(
        "mapping-missing-path-falls-back-to-the-recognised-names",
        rec(),
        element(),
        config={"field_mappings": [{"linkedin_field": "conversion_happened_at", "record_field": "meta.ts"}]},
    ),
    Case(
        "mapping-missing-path-and-no-recognised-name",
        rec(created_at=None),
        "missing_timestamp",
        config={"field_mappings": [{"linkedin_field": "conversion_happened_at", "record_field": "meta.ts"}]},
    ),
    # --- consent (consent_field / consent_values): checked before anything else
    Case("consent-true-sent", rec(consent=True), element(), config={"consent_field": "consent"}),
    Case("consent-text-any-case-sent", rec(consent=" Granted "), element(), config={"consent_field": "consent"}),
    Case("consent-one-sent", rec(consent=1), element(), config={"consent_field": "consent"}),
    Case("consent-false-rejected", rec(consent=False), "no_consent", config={"consent_field": "consent"}),
    Case("consent-missing-rejected", rec(), "no_consent", config={"consent_field": "consent"}),
    Case("consent-object-rejected", rec(consent={"ad": True}), "no_consent", config={"consent_field": "consent"}),
    Case(
        "consent-before-every-other-check",
        rec(consent="denied", email=None, created_at="nope"),
        "no_consent",
        config={"consent_field": "consent"},
    ),
    Case(
        "consent-nested-path-sent",
        rec(consent={"ad_storage": "GRANTED"}),
        element(),
        config={"consent_field": "consent.ad_storage"},
    ),
    Case(
        "consent-list-position-sent",
        rec(consents=[{"granted": True}, {"granted": False}]),
        element(),
        config={"consent_field": "consents[0].granted"},
    ),
    Case(
        "consent-other-list-position-rejected",
        rec(consents=[{"granted": True}, {"granted": False}]),
        "no_consent",
        config={"consent_field": "consents[1].granted"},
    ),
    Case(
        "consent-custom-values",
        rec(consent="yes"),
        "no_consent",
        config={"consent_field": "consent", "consent_values": ["opt_in"]},
    ),
    Case("consent-ignored-when-unset", rec(consent=False), element()),
    # --- the order of checks: the first problem is the one reported
    Case("first-problem-wins-time-before-identifier", rec(email=None, created_at="nope"), "invalid_timestamp"),
    Case("first-problem-wins-identifier-before-value", rec(email=None, value="x"), "no_identifier"),
    Case("first-problem-wins-value-before-event-id", rec(value="x", event_id="y" * 65), "invalid_amount"),
]


def build_mapper(case: Case) -> RecordMapper:
    raw: dict[str, Any] = {
        "account_id": "512345678",
        "credentials": {"auth_type": "access_token", "access_token": "t", "conversion_mapping": "LEAD=1,PURCHASE=2"},
    }
    raw.update(case.config)
    rule_ids = case.rule_ids if case.rule_ids is not None else {"lead": 1, "purchase": 2}
    return RecordMapper(
        ConnectorConfig.parse(raw), rule_ids, case.streams, now_ms=lambda: NOW, rule_check=row_rule_check
    )


ROW_RULES = {22285190}


def row_rule_check(rule_id: int) -> str | None:
    """The account's enabled CAPI rules, as `AccountRules.refusal` answers for them."""
    return None if rule_id in ROW_RULES else f"Conversion rule {rule_id} is not a rule of this ad account."


def test_the_table_is_large_and_ids_are_unique():
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


def test_the_table_covers_every_rejection_code_and_note():
    from unit_tests.mapping.test_identifiers import IDENTIFIER_CASES  # the 2026 identifiers' own table

    assert {case.expected for case in CASES if isinstance(case.expected, str)} == set(REJECTION_REASONS)
    assert {note for case in CASES + IDENTIFIER_CASES for note in case.notes} == set(NOTE_REASONS)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_mapping(case: Case):
    record = {**BASE, **case.record} if case.base else case.record
    namespace = next(iter(case.streams))[0] if case.streams else None
    result = build_mapper(case).for_stream(namespace, case.stream)(record)
    if isinstance(case.expected, str):
        assert isinstance(result, Rejection), result
        assert result.reason == case.expected
        assert result.message.endswith(".")
        return
    assert isinstance(result, ConversionEvent), result
    # Compared as JSON text so that key order counts too.
    assert json.dumps(result.payload, ensure_ascii=False) == json.dumps(case.expected, ensure_ascii=False)
    assert result.notes == case.notes
    if case.identifiers is not None:
        assert result.identifiers == case.identifiers


MESSAGES = [
    Case(
        "too-old",
        rec(created_at="2026-08-21T12:00:00Z"),
        "Field 'created_at' is a time 91 days ago; LinkedIn accepts conversions from the last 90 days "
        "and this connector stops 60 minutes before that limit.",
    ),
    Case(
        "in-future",
        rec(event_time=NOW + 3_600_000, created_at=None),
        "Field 'event_time' is a time 1 hour in the future, more than the 5 minutes of clock skew allowed.",
    ),
    Case(
        "unknown-event-value",
        rec(Event_Name="page_view"),
        "Field 'Event_Name' names event 'page_view', which is not a configured event (LEAD, PURCHASE).",
    ),
    Case(
        "unknown-event-value-with-spaces-dots-and-hyphens",
        rec(event_name="Form Submit v2.1-b"),
        "Field 'event_name' names event 'Form Submit v2.1-b', which is not a configured event (LEAD, PURCHASE).",
    ),
    Case(
        "unknown-event-value-with-an-at-sign-stays-masked",
        rec(event_name="jane.doe@example.com"),
        "Field 'event_name' names event 'j***@e***.com' (an email address, 20 characters), which is not a configured "
        "event (LEAD, PURCHASE).",
    ),
    Case(
        "unknown-event-value-of-65-characters-stays-masked",
        rec(event_name="e" * 65),
        "Field 'event_name' names event 'e***' (65 characters: letters), which is not a configured event "
        "(LEAD, PURCHASE).",
    ),
    Case(
        "unknown-event-value-of-digits-stays-masked",
        rec(event_name="4155550100"),
        "Field 'event_name' names event '4***' (10 characters: digits), which is not a configured event "
        "(LEAD, PURCHASE).",
    ),
    Case(
        "unknown-event-value-with-other-symbols-stays-masked",
        rec(event_name="Jane/Doe+1"),
        "Field 'event_name' names event 'J***' (10 characters: digits, letters, '+', '/'), which is not a configured "
        "event (LEAD, PURCHASE).",
    ),
    Case(
        "no-route",
        rec(),
        "No event for this record: it has no 'event_name' value, stream 'misc' is not in Stream events nor named like "
        "an event, and more than one event is configured (LEAD, PURCHASE).",
        stream="misc",
    ),
    Case(
        "ambiguous-amount",
        rec(revenue="12,5", currency="EUR"),
        "Field 'revenue' is '1***' (4 characters: digits, ','), ambiguous: use a dot for decimals and commas only "
        "between thousands (1,234.50).",
    ),
    Case(
        "missing-currency",
        rec(amount=5),
        "Field 'amount' has an amount but the record has no currency and no default currency is configured.",
    ),
    Case(
        "nested-path-named",
        {"ts": {"at": "later"}, "email": "jane.doe@example.com"},
        "Field 'ts.at' is 'l***' (5 characters: letters), not an ISO-8601 date-time or epoch number.",
        base=False,
        config={"field_mappings": [{"linkedin_field": "conversion_happened_at", "record_field": "ts.at"}]},
    ),
    Case(
        "invalid-email-never-echoed",
        rec(email="secret-person.example.com"),
        "The email is neither an address (it needs an '@') nor a SHA-256 hash, and the record has no other identifier.",
    ),
    Case(
        "no-identifier-says-what-was-unusable",
        rec(email=None, first_name="Sam", lead="urn:li:sponsoredAccount:5"),
        "The record has no email, LinkedIn click ID (li_fat_id), Acxiom ID, Oracle Moat ID, IP address, Google "
        "advertising ID, first and last name, external ID or lead (a name needs both first and last name; the lead "
        "is not a Lead Gen form response).",
    ),
    Case(
        "long-event-id-masked",
        rec(event_id="x" * 65),
        "Field 'event_id' is 'x***' (65 characters: letters), not text of at most 64 characters.",
    ),
    Case(
        "no-consent-names-the-field-not-the-value",
        rec(consent="denied-by-jane.doe@example.com"),
        "Field 'consent' holds a value other than the granted ones (1, granted, true, yes), so consent was not "
        "granted.",
        config={"consent_field": "consent"},
    ),
    Case(
        "no-consent-missing",
        rec(),
        "Field 'consent' is missing or empty, so consent was not granted (granted values: 1, granted, true, yes).",
        config={"consent_field": "consent"},
    ),
]


MESSAGES += [
    Case(
        "row-rule-not-an-id",
        rec(rule={"id": 5}),
        "Field 'rule' is not a conversion rule ID (digits, or urn:lla:llaPartnerConversion:<digits>).",
        config={"field_mappings": [{"linkedin_field": "conversion_rule_id", "record_field": "rule"}]},
    ),
    Case(
        "row-rule-unknown-names-it",
        rec(conversion_rule_id="22285199"),
        "Conversion rule 22285199 is not a rule of this ad account.",
    ),
]


def several_rules_mapper(**config: Any) -> RecordMapper:
    raw = {
        "account_id": "512345678",
        "credentials": {
            "auth_type": "access_token",
            "access_token": "t",
            "conversion_mapping": "LEAD=1|3|4,PURCHASE=2",
        },
        **config,
    }
    return RecordMapper(
        ConnectorConfig.parse(raw), {"lead": 1, "purchase": 2}, {}, now_ms=lambda: NOW, rule_check=row_rule_check
    )


def test_an_event_of_several_rules_carries_the_further_rules():
    map_lead = several_rules_mapper().for_stream(None, "lead")
    lead = map_lead(BASE)
    purchase = map_lead({**BASE, "event_name": "purchase"})
    assert isinstance(lead, RoutedEvent) and purchase.__class__ is ConversionEvent
    assert lead.payload == element(rule=1)
    assert (lead.rule, lead.copies) == (
        None,
        (("urn:lla:llaPartnerConversion:3", 3), ("urn:lla:llaPartnerConversion:4", 4)),
    )
    assert purchase.payload == element(rule=2)


def test_a_row_naming_its_rule_goes_there_only():
    result = several_rules_mapper().for_stream(None, "lead")({**BASE, "conversion_rule_id": 22285190})
    assert isinstance(result, RoutedEvent)
    assert (result.payload, result.rule, result.copies) == (element(rule=22285190), 22285190, ())


@pytest.mark.parametrize("case", MESSAGES, ids=[case.id for case in MESSAGES])
def test_rejection_sentence(case: Case):
    record = {**BASE, **case.record} if case.base else case.record
    result = build_mapper(case).for_stream(None, case.stream)(record)
    assert isinstance(result, Rejection)
    assert result.message == case.expected


def _texts(value: Any) -> list[str]:
    """Every text and number of a record, at any depth, as it could be printed."""
    if isinstance(value, dict):
        return [text for child in value.values() for text in _texts(child)]
    if isinstance(value, list):
        return [text for child in value for text in _texts(child)]
    if isinstance(value, bool) or value is None:
        return []
    return [value.strip() if isinstance(value, str) else str(value)]


@pytest.mark.parametrize("case", [c for c in CASES + MESSAGES if isinstance(c.expected, str)], ids=lambda c: c.id)
def test_no_rejection_sentence_quotes_a_record_value(case: Case):
    """The sentence names the field and the problem; the value is only described and masked (never verbatim)."""
    record = {**BASE, **case.record} if case.base else case.record
    namespace = next(iter(case.streams))[0] if case.streams else None
    result = build_mapper(case).for_stream(namespace, case.stream)(record)
    assert isinstance(result, Rejection)
    sentence = result.message.replace("(1,234.50)", "")  # the sentence's own example of a good amount
    if result.reason == "unknown_event" and looks_like_name(record.get("event_name", record.get("Event_Name"))):
        # an event name that looks like one is shown, so that the user can tell what to map (docs/mapping.md §1)
        sentence = sentence.replace(f"event '{record.get('event_name', record.get('Event_Name'))}'", "event")
    if result.reason == "unknown_conversion_rule":  # names the rule: an account's rule ID, not personal data
        sentence = sentence.replace(str(record["conversion_rule_id"]), "")
    quoted = [text for text in _texts(record) if len(text) >= 3 and text in sentence]
    assert not quoted, result.message
