"""Property-based tests of the mapper: it never raises on a JSON object, what it sends
is well formed (and passes the sandbox's validator once that exists), event IDs are stable, and
hashed emails are always 64 lowercase hex digits."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.fields import RECOGNISED_FIELDS
from destination_linkedin_capi.mapping.mapper import LAYOUT_CACHE_KEYS, MAX_CACHED_KEY_SET, RecordMapper
from destination_linkedin_capi.mapping.reasons import NOTE_REASONS, REJECTION_REASONS
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection
from destination_linkedin_capi.mapping.routing import StreamInfo

NOW = 1795176000000  # 2026-11-20T12:00:00Z
API_VERSION = "202607"
IDENTIFIERS = {
    "email",
    "li_fat_id",
    "acxiom_id",
    "oracle_moat_id",
    "ip_address",
    "google_aid",
    "name",
    "external_id",
    "lead",
}
TOP_KEYS = ["conversion", "conversionHappenedAt", "conversionValue", "eventId", "user"]
USER_KEYS = ["userIds", "userInfo", "externalIds", "lead"]
HEX64 = re.compile(r"[0-9a-f]{64}")

CONFIG = ConnectorConfig.parse(
    {
        "account_id": "512345678",
        "credentials": {"auth_type": "access_token", "access_token": "t", "conversion_mapping": "LEAD=1,PURCHASE=2"},
        "stream_events": "orders=PURCHASE",
    }
)
STREAMS = {
    (None, "orders"): StreamInfo(primary_key=(("id",),)),
    ("crm", "lead"): StreamInfo(primary_key=(("id",), ("meta", "n"))),
}


def mapper() -> RecordMapper:
    return RecordMapper(CONFIG, {"lead": 1, "purchase": 2}, STREAMS, now_ms=lambda: NOW, rule_check=account_rules)


def account_rules(rule_id: int) -> str | None:
    """Rows may name rule 3 (conversion_rule_id), the account's one other enabled Conversions API rule."""
    return None if rule_id == 3 else f"Conversion rule {rule_id} is not a rule of this ad account."


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
recognised = [alias for aliases in RECOGNISED_FIELDS.values() for alias in aliases] + ["event_name", "id", "meta"]
keys = st.sampled_from(recognised) | st.sampled_from(recognised).map(str.upper) | st.text(max_size=8)
near_now = st.integers(min_value=NOW - 100 * 86_400_000, max_value=NOW + 86_400_000)
ip_addresses = st.ip_addresses().map(str) | st.sampled_from(["999.1.1.1", "::ffff:10.0.0.1", "1.2.3", " 10.1.2.3 "])
google_aids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()) | st.sampled_from(["not-a-uuid", ""])
plausible_values = st.one_of(
    st.emails(),
    st.sampled_from([3, "3", " urn:lla:llaPartnerConversion:3 "]),  # the account rule rows may name
    ip_addresses,
    google_aids,
    st.from_regex(r"[0-9a-fA-F]{64}", fullmatch=True),
    near_now,
    near_now.map(lambda ms: ms // 1000),
    near_now.map(lambda ms: str(ms * 1000)),
    near_now.map(lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.timezone(dt.timedelta(hours=-5))).isoformat()),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.sampled_from(["EUR", "usd", "XYZ", "Germany", "deu", "UK", "lead", "PURCHASE", "1,234.50", "12,5"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
)
records = st.dictionaries(keys, json_values | plausible_values, max_size=14)
streams = st.sampled_from([(None, "orders"), ("crm", "lead"), (None, "lead"), (None, "misc"), (None, "")])


def assert_no_nulls_or_empty_objects(value: Any, path: str = "") -> None:
    assert value is not None, path
    if isinstance(value, dict):
        assert value, path
        for key, item in value.items():
            assert_no_nulls_or_empty_objects(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_nulls_or_empty_objects(item, f"{path}/{index}")


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(record=records, where=streams)
def test_never_raises_and_events_are_well_formed(record, where):
    namespace, stream = where
    result = mapper().for_stream(namespace, stream)(record)
    if isinstance(result, Rejection):
        assert result.reason in REJECTION_REASONS
        assert result.message.endswith(".")
        return
    assert isinstance(result, ConversionEvent)
    payload = result.payload
    assert [key for key in TOP_KEYS if key in payload] == list(payload)
    assert [key for key in USER_KEYS if key in payload["user"]] == list(payload["user"])
    assert isinstance(payload["user"]["userIds"], list)
    assert_no_nulls_or_empty_objects({k: v for k, v in payload.items() if k != "user"})
    for key, item in payload["user"].items():
        if key != "userIds":
            assert_no_nulls_or_empty_objects(item)
    assert payload["conversion"] in (
        "urn:lla:llaPartnerConversion:1",
        "urn:lla:llaPartnerConversion:2",
        "urn:lla:llaPartnerConversion:3",
    )
    assert NOW - 90 * 86_400_000 < payload["conversionHappenedAt"] <= NOW + 5 * 60_000
    assert isinstance(payload["eventId"], str) and 0 < len(payload["eventId"]) <= 64
    if "conversionValue" in payload:
        amount = payload["conversionValue"]["amount"]
        assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", amount), amount
    assert result.identifiers and set(result.identifiers) <= IDENTIFIERS
    assert set(result.notes) <= set(NOTE_REASONS)
    json.dumps(payload, allow_nan=False)  # serialisable as strict JSON


@settings(max_examples=300)
@given(record=records, where=streams)
def test_same_record_same_event_id(record, where):
    namespace, stream = where
    first = mapper().for_stream(namespace, stream)(record)
    reordered = dict(reversed(list(copy.deepcopy(record).items())))
    second = mapper().for_stream(namespace, stream)(reordered)
    assert type(first) is type(second)
    if isinstance(first, ConversionEvent):
        assert first.payload["eventId"] == second.payload["eventId"]


emails = st.one_of(
    st.emails(),
    st.emails().map(lambda address: f"  {address.upper()} "),
    st.from_regex(r"[0-9a-fA-F]{64}", fullmatch=True),
    st.text(max_size=70),
)


@settings(max_examples=400)
@given(email=emails, other=st.booleans())
def test_hashed_email_is_always_64_lowercase_hex(email, other):
    record = {"email": email, "created_at": NOW - 1000}
    if other:
        record["li_fat_id"] = "AQE-1"
    result = mapper().for_stream(None, "lead")(record)
    if isinstance(result, ConversionEvent):
        hashed = [item["idValue"] for item in result.payload["user"]["userIds"] if item["idType"] == "SHA256_EMAIL"]
        for value in hashed:
            assert HEX64.fullmatch(value)
        assert ("email" in result.identifiers) == bool(hashed)
    else:
        assert result.reason == "invalid_email" or (result.reason == "no_identifier" and not email.strip())
        assert email.strip() not in result.message or len(email.strip()) < 3


@pytest.fixture(scope="module")
def validate_element():
    from linkedin_capi_sandbox.validation import validate_element

    return validate_element


plausible_records = st.fixed_dictionaries(
    {"created_at": near_now | near_now.map(lambda ms: ms // 1000)},
    optional={
        "email": emails,
        "li_fat_id": st.text(min_size=1, max_size=40),
        "acxiom_id": st.text(min_size=1, max_size=20),
        "oracle_moat_id": st.text(min_size=1, max_size=20),
        "ip": ip_addresses,
        "gaid": google_aids,
        "first_name": st.text(max_size=40),
        "last_name": st.text(max_size=40),
        "company": st.text(max_size=40),
        "title": st.text(max_size=40),
        "country": st.sampled_from(["DE", "usa", "France", "Atlantis"]),
        "external_id": st.text(max_size=40) | st.integers(),
        "lead_id": st.text(max_size=30),
        "value": st.decimals(min_value=0, max_value=10**9, allow_nan=False, places=2).map(str) | st.floats(0, 1e9),
        "currency": st.sampled_from(["EUR", "usd", "JPY"]),
        "event_id": st.text(min_size=1, max_size=64),
        "event_name": st.sampled_from(["lead", "PURCHASE"]),
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=plausible_records, where=streams)
def test_an_event_always_validates_against_the_sandbox(validate_element, record, where):
    namespace, stream = where
    result = mapper().for_stream(namespace, stream)(record)
    if isinstance(result, ConversionEvent):
        assert validate_element(result.payload, api_version=API_VERSION, now_ms=NOW) == []


def test_the_layout_cache_is_bounded_by_the_keys_it_holds_and_never_keeps_huge_key_sets():
    m = mapper()
    map_record = m.for_stream(None, "orders")
    record = {"email": "jane@example.com", "event_time": NOW - 60_000, "event_id": "e1"}
    expected = map_record(record)
    assert isinstance(expected, ConversionEvent)
    for n in range(2_000):  # 2,000 key sets of 200 keys: 400,000 keys offered
        wide = {**record, **{f"c{n}_{k}": k for k in range(198)}}
        assert map_record(wide) == expected
        assert m._cached_keys <= LAYOUT_CACHE_KEYS
        assert sum(len(keys) + 1 for p in m._profiles.values() for keys in p.layouts) == m._cached_keys
    huge = {**record, **{f"h{k}": k for k in range(MAX_CACHED_KEY_SET)}}
    assert map_record(huge) == expected
    assert all(tuple(huge) not in p.layouts for p in m._profiles.values())
