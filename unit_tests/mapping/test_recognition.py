"""Recognition by meaning (case and separators left out, the commonest sources' names), field mappings per stream
with a fallback to the recognised names, the hints of missing_timestamp / no_identifier, and where the summary says
identifiers were read from (docs/mapping.md §2)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.mapping import fields
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection
from destination_linkedin_capi.report import SyncReport

NOW = 1795176000000  # 2026-11-20T12:00:00Z
T10 = 1795168800000  # 2026-11-20T10:00:00Z
T10_ISO = "2026-11-20T10:00:00Z"
JANE = "jane.doe@example.com"
OTHER = "sam.roe@example.org"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def mapper(field_mappings: list[dict[str, Any]] | None = None) -> RecordMapper:
    raw: dict[str, Any] = {
        "account_id": "512345678",
        "credentials": {"auth_type": "access_token", "access_token": "t", "conversion_mapping": "LEAD=1"},
        "field_mappings": field_mappings or [],
    }
    return RecordMapper(ConnectorConfig.parse(raw), {"lead": 1}, {}, now_ms=lambda: NOW)


def sent(record: dict[str, Any], stream: str = "leads", m: RecordMapper | None = None) -> ConversionEvent:
    result = (m or mapper()).for_stream(None, stream)(record)
    assert isinstance(result, ConversionEvent), result
    return result


def rejected(record: dict[str, Any], m: RecordMapper | None = None) -> Rejection:
    result = (m or mapper()).for_stream(None, "leads")(record)
    assert isinstance(result, Rejection), result
    return result


def emails(event: ConversionEvent) -> list[str]:
    return [entry["idValue"] for entry in event.payload["user"]["userIds"] if entry["idType"] == "SHA256_EMAIL"]


# --- recognition by meaning ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "time_key",
    ["CreatedDate", "createdAt", "createdate", "Create Date", "created-at", "CREATED_AT", "Event Time", "eventTime"],
)
def test_a_time_column_is_recognised_whatever_its_case_and_separators(time_key):
    event = sent({"email": JANE, time_key: T10_ISO})
    assert event.payload["conversionHappenedAt"] == T10


@pytest.mark.parametrize(
    "email_key", ["Email", "Work Email", "emailAddress", "Email-Address", "properties_email", "billing_details.email"]
)
def test_an_email_column_is_recognised_whatever_its_case_and_separators(email_key):
    assert emails(sent({email_key: JANE, "created_at": T10_ISO})) == [sha(JANE)]


def test_a_csv_header_shaped_record_is_sent_with_its_name():
    record = {"First Name": "Jane", "Last Name": "Doe", "Work Email": JANE, "Create Date": "2026-11-20 10:00:00"}
    event = sent(record)
    assert event.payload["conversionHappenedAt"] == T10
    assert event.payload["user"]["userInfo"] == {"firstName": "Jane", "lastName": "Doe"}
    assert event.identifiers == ("email", "name")


def test_a_hubspot_shaped_record_is_read_from_its_properties_object():
    record = {
        "id": "501",
        "createdAt": T10_ISO,
        "properties": {"email": JANE, "firstname": "Jane", "lastname": "Doe", "company": "Acme", "jobtitle": "CTO"},
    }
    event = sent(record)
    assert emails(event) == [sha(JANE)]
    assert event.payload["user"]["userInfo"] == {
        "firstName": "Jane",
        "lastName": "Doe",
        "companyName": "Acme",
        "title": "CTO",
    }


def test_a_hubspot_createdate_inside_properties_is_the_time():
    event = sent({"properties": {"email": JANE, "createdate": T10_ISO}})
    assert event.payload["conversionHappenedAt"] == T10


def test_a_stripe_charge_is_read_with_its_created_epoch_seconds_and_billing_email():
    record = {"id": "ch_1", "created": T10 // 1000, "billing_details": {"email": JANE, "name": "Jane Doe"}}
    event = sent(record)
    assert event.payload["conversionHappenedAt"] == T10
    assert emails(event) == [sha(JANE)]


def test_a_shopify_order_is_read_from_its_customer_object():
    record = {"created_at": T10_ISO, "customer": {"email": JANE, "first_name": "Jane", "last_name": "Doe"}}
    event = sent(record)
    assert emails(event) == [sha(JANE)]
    assert event.payload["user"]["userInfo"] == {"firstName": "Jane", "lastName": "Doe"}


def test_a_ga4_export_row_is_read_with_its_microsecond_timestamp():
    event = sent({"event_timestamp": T10 * 1000, "user_id": "u-1"})
    assert event.payload["conversionHappenedAt"] == T10
    assert event.payload["user"]["externalIds"] == ["u-1"]


def test_the_names_own_spelling_comes_before_other_spellings():
    assert emails(sent({"E-Mail": OTHER, "email": JANE, "created_at": T10_ISO})) == [sha(JANE)]
    assert emails(sent({"E-Mail": OTHER, "Email": JANE, "created_at": T10_ISO})) == [sha(JANE)]


def test_a_field_s_own_names_come_before_the_source_names():
    assert emails(sent({"customer_email": OTHER, "Email": JANE, "created_at": T10_ISO})) == [sha(JANE)]


def test_recognition_is_worked_out_once_per_key_set_not_per_record(monkeypatch):
    calls = []
    real = fields.canonical

    def counted(name: str) -> str:
        calls.append(name)
        return real(name)

    monkeypatch.setattr(fields, "canonical", counted)
    map_record = mapper().for_stream(None, "leads")
    for n in range(500):
        assert isinstance(map_record({"Work Email": f"p{n}@example.com", "Create Date": T10_ISO}), ConversionEvent)
    assert sorted(set(calls)) == ["Create Date", "Work Email"] and len(calls) == 2  # the first record's keys only
    assert isinstance(map_record({"Work Email": JANE, "Create Date": T10_ISO, "x": 1}), ConversionEvent)
    assert len(calls) == 5  # a new key set is laid out once


# --- rejection hints -----------------------------------------------------------------------------------------------


def test_missing_timestamp_names_the_date_like_fields_of_the_record():
    record = {"email": JANE, "lead_date": "2026-11-20", "updated": "yesterday", "name": "Jane"}
    result = rejected(record)
    assert result.reason == "missing_timestamp"
    assert result.message.endswith(
        " The record has `lead_date`, `updated`: map one to conversion_happened_at with Field mappings."
    )
    assert "2026-11-20" not in result.message and "yesterday" not in result.message


def test_missing_timestamp_names_three_date_like_fields_at_most():
    record = {"email": JANE, "a_date": 1, "b_date": 2, "closedAt": 3, "d_time": 4}
    assert rejected(record).message.endswith(
        " The record has `a_date`, `b_date`, `closedAt`: map one to conversion_happened_at with Field mappings."
    )


def test_missing_timestamp_without_date_like_fields_says_where_it_looked():
    result = rejected({"email": JANE, "colour": "red"})
    assert result.message == (
        "The record has no conversion time in any recognised field (conversion_happened_at, conversion_time, "
        "occurred_at, event_time, timestamp, created_at, …)."
    )


def test_missing_timestamp_with_a_mapping_names_the_mapped_field_too():
    m = mapper([{"linkedin_field": "conversion_happened_at", "record_field": "meta.ts"}])
    assert rejected({"email": JANE}, m).message.startswith(
        "The record has no conversion time in field 'meta.ts' (Field mappings) nor in any recognised field ("
    )


def test_no_identifier_names_the_identifier_like_fields_of_the_record():
    result = rejected({"created_at": T10_ISO, "Mail": "nobody", "contact": {"x": 1}, "amount": 5})
    assert result.reason == "no_identifier"
    assert result.message.endswith(
        " The record has `Mail`, `contact`: map one to an identifier such as email with Field mappings."
    )
    assert "nobody" not in result.message


def test_a_hint_never_names_a_key_that_looks_like_a_value():
    result = rejected({"created_at": T10_ISO, "jane.doe@example.com email": 1, "4155550100": "user"})
    assert result.reason == "no_identifier"
    assert "jane" not in result.message and "4155550100" not in result.message
    assert "The record has `" not in result.message


# --- field mappings: fallback and streams --------------------------------------------------------------------------


def test_a_mapped_path_absent_from_a_record_falls_back_to_the_recognised_names():
    m = mapper([{"linkedin_field": "email", "record_field": "user.email"}])
    assert emails(sent({"user": {"email": JANE}, "Email": OTHER, "created_at": T10_ISO}, m=m)) == [sha(JANE)]
    assert emails(sent({"user": {}, "Email": OTHER, "created_at": T10_ISO}, m=m)) == [sha(OTHER)]
    assert emails(sent({"Email": OTHER, "created_at": T10_ISO}, m=m)) == [sha(OTHER)]


def test_a_mapped_top_level_field_absent_or_blank_falls_back_too():
    m = mapper([{"linkedin_field": "conversion_happened_at", "record_field": "signup_moment"}])
    assert (
        sent({"email": JANE, "signup_moment": T10_ISO, "created_at": "2026-11-19"}, m=m).payload["conversionHappenedAt"]
        == T10
    )
    assert (
        sent({"email": JANE, "signup_moment": " ", "created_at": T10_ISO}, m=m).payload["conversionHappenedAt"] == T10
    )
    assert sent({"email": JANE, "created_at": T10_ISO}, m=m).payload["conversionHappenedAt"] == T10


def test_a_mapping_for_one_stream_leaves_the_other_streams_alone():
    m = mapper([{"linkedin_field": "conversion_happened_at", "record_field": "meta.ts", "streams": ["orders"]}])
    other_time = "2026-11-20T09:00:00Z"
    record = {"email": JANE, "meta": {"ts": other_time}, "created_at": T10_ISO}
    assert sent(record, "leads", m).payload["conversionHappenedAt"] == T10  # not for this stream
    assert sent(record, "Orders", m).payload["conversionHappenedAt"] == T10 - 3_600_000  # case-insensitive name
    assert sent({"email": JANE, "created_at": T10_ISO}, "orders", m).payload["conversionHappenedAt"] == T10


def test_a_stream_s_own_mapping_replaces_the_connection_wide_one_for_that_stream():
    m = mapper(
        [
            {"linkedin_field": "email", "record_field": "contact.mail"},
            {"linkedin_field": "email", "record_field": "buyer.mail", "streams": ["orders"]},
        ]
    )
    record = {"contact": {"mail": JANE}, "buyer": {"mail": OTHER}, "created_at": T10_ISO}
    assert emails(sent(record, "leads", m)) == [sha(JANE)]
    assert emails(sent(record, "orders", m)) == [sha(OTHER)]


def test_a_mapped_event_name_falls_back_to_the_event_name_field():
    m = mapper([{"linkedin_field": "event_name", "record_field": "kind", "streams": ["web"]}])
    result = m.for_stream(None, "web")({"email": JANE, "created_at": T10_ISO, "event_name": "page_view"})
    assert isinstance(result, Rejection) and "Field 'event_name' names event 'page_view'" in result.message
    result = m.for_stream(None, "web")({"email": JANE, "created_at": T10_ISO, "kind": "signup", "event_name": "x"})
    assert isinstance(result, Rejection) and "Field 'kind' names event 'signup'" in result.message


def test_the_same_field_mapped_twice_for_one_stream_is_a_config_error():
    with pytest.raises(ConfigError, match="LinkedIn field 'email' is mapped twice for stream 'orders'"):
        mapper(
            [
                {"linkedin_field": "email", "record_field": "a", "streams": ["orders"]},
                {"linkedin_field": "email", "record_field": "b", "streams": ["leads", "orders"]},
            ]
        )


def test_unresolved_mappings_are_tracked_per_entry_and_per_stream():
    m = mapper(
        [
            {"linkedin_field": "email", "record_field": "user.email", "streams": ["leads"]},
            {"linkedin_field": "email", "record_field": "buyer.email", "streams": ["orders"]},
        ]
    )
    m.for_stream(None, "leads")({"user": {"email": JANE}, "buyer": {"email": JANE}, "created_at": T10_ISO})
    assert m.unresolved_mappings() == [("email", "buyer.email")]  # found in a record of another stream: not counted


# --- where the summary says identifiers came from ------------------------------------------------------------------


def test_the_coverage_line_says_which_identifiers_were_mapped_and_which_recognised():
    m = mapper([{"linkedin_field": "email", "record_field": "user.email"}])
    map_record = m.for_stream(None, "leads")
    report = SyncReport(event_names={"lead": "LEAD"})
    records = [{"user": {"email": f"p{n}@example.com"}, "Email": OTHER, "created_at": T10_ISO} for n in range(3)]
    records.append({"user": {}, "Email": OTHER, "created_at": T10_ISO})  # same key set, mapped path absent
    records.append({"Email": OTHER, "created_at": T10_ISO})
    for record in records:
        event = map_record(record)
        assert isinstance(event, ConversionEvent)
        report.record_mapped(event.event, event.identifiers, event.notes, event.sources)
    line = next(line for line in report.summary_lines(dry_run=False) if line.startswith("  event LEAD"))
    assert line.endswith("; identifiers: email 100% (3 from user.email (mapped), 2 from Email (recognised))")


def test_the_coverage_line_stays_short_when_one_recognised_field_was_read():
    map_record = mapper().for_stream(None, "leads")
    report = SyncReport(event_names={"lead": "LEAD"})
    for n in range(2):
        event = map_record({"Work Email": f"p{n}@example.com", "created_at": T10_ISO})
        assert isinstance(event, ConversionEvent)
        report.record_mapped(event.event, event.identifiers, event.notes, event.sources)
    line = next(line for line in report.summary_lines(dry_run=False) if line.startswith("  event LEAD"))
    assert line.endswith("; identifiers: email 100%")


def test_a_later_source_of_a_field_that_is_no_identifier_keeps_the_layout_s_sources():
    map_record = mapper([{"linkedin_field": "email", "record_field": "user.email"}]).for_stream(None, "leads")
    first = map_record({"user": {"email": JANE}, "created_at": T10_ISO, "event_time": T10_ISO})
    later_time = map_record({"user": {"email": JANE}, "created_at": T10_ISO, "event_time": " "})
    later_email = map_record({"user": {"email": ""}, "created_at": T10_ISO, "event_time": T10_ISO})
    assert isinstance(first, ConversionEvent) and isinstance(later_time, ConversionEvent)
    assert later_time.sources is first.sources  # one object: the summary counts both under one key
    assert isinstance(later_email, Rejection)  # a blank mapped email with no recognised one: nothing to match
