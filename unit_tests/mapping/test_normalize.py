"""The single-value rules of normalize.py, including their edge cases and properties."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from destination_linkedin_capi.mapping import normalize as n


@pytest.mark.parametrize(
    "value, expected",
    [
        ("jane.doe@example.com", "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"),
        (" JANE.DOE@EXAMPLE.COM\n", "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"),
        (
            "86E0B9E56C17CC4D12387E1949B85053FBE73BC3CE5A1188713A9D300CC6133D",
            "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d",
        ),
        ("no-at-sign", None),
        ("@example.com", None),
        ("jane@", None),
        ("jane doe@example.com", None),
        ("jane\x00@example.com", None),
        ("0x" + "a" * 62, None),
        ("g" * 64, None),
        (None, None),
        (12, None),
    ],
)
def test_email_sha256(value, expected):
    assert n.email_sha256(value) == expected


@given(st.emails())
def test_email_hash_is_of_the_trimmed_lowercased_address(address):
    assert n.email_sha256(f" {address.upper()} ") == hashlib.sha256(address.lower().encode()).hexdigest()


@given(st.from_regex(r"[0-9a-fA-F]{64}", fullmatch=True))
def test_prehashed_email_is_never_hashed_twice(digest):
    assert n.email_sha256(digest) == digest.lower()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-20T10:00:00Z", 1795168800000),
        ("2026-11-20T10:00:00+0000", 1795168800000),
        ("2026-11-20T10:00:00.5-01:00", 1795172400500),
        ("20261120T100000Z", 1795168800000),
        ("2026-11-20T10:00:00.123456789Z", 1795168800123),
        ("2026-11-20", 1795132800000),
        (1795168800, 1795168800000),
        (1795168800000, 1795168800000),
        (1795168800000000, 1795168800000),
        ("1795168800.125", 1795168800125),
        (1764000000.123, 1764000000123),  # rounded: the float is 1764000000.1229999…
        (1795168800123999, 1795168800123),  # integer microseconds are cut, like ISO fractions
        (99_999_999_999, 99_999_999_999_000),  # the largest value read as seconds (year 5138)
        (100_000_000_000, 100_000_000_000),  # the smallest read as milliseconds (1973)
        (-5, -5000),
    ],
)
def test_timestamp_ms(value, expected):
    assert n.timestamp_ms(value) == expected


@pytest.mark.parametrize(
    "value", ["", "soon", "2026-13-01", "-1795168800", "1" * 21, float("nan"), float("inf"), True, [], {}, 10**20]
)
def test_timestamp_rejects(value):
    with pytest.raises(n.Invalid) as raised:
        n.timestamp_ms(value)
    assert raised.value.reason == "invalid_timestamp"


@given(st.datetimes(min_value=dt.datetime(1975, 1, 1), max_value=dt.datetime(5000, 1, 1), timezones=st.timezones()))
def test_iso_text_round_trips_to_utc_milliseconds(moment):
    expected = (moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(milliseconds=1)
    assert n.timestamp_ms(moment.isoformat()) == expected


@given(st.integers(min_value=100_000_000_000, max_value=99_999_999_999_999))
def test_epoch_units_agree(ms):
    assert n.timestamp_ms(ms) == ms
    assert n.timestamp_ms(ms * 1000) == ms
    assert n.timestamp_ms(str(ms * 1_000_000)) == ms


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, "0"),
        (12.5, "12.5"),
        (0.1, "0.1"),
        (1e3, "1000.0"),
        (1e16, "10000000000000000"),
        (-0.0, "0.0"),
        ("0.10", "0.10"),
        ("1e3", "1000"),
        ("1E-2", "0.01"),
        ("+5", "5"),
        (".5", "0.5"),
        ("007", "7"),
        ("1,234.50", "1234.50"),
        ("1,234,567.", "1234567"),
        ("12345678901234567890", "12345678901234567890"),
        (10**29, str(10**29)),
    ],
)
def test_amount_text(value, expected):
    assert n.amount_text(value) == expected


@pytest.mark.parametrize(
    "value, reason",
    [
        ("12,5", "invalid_amount"),
        ("1,234", "invalid_amount"),
        ("1.234,50", "invalid_amount"),
        ("1,23,456.00", "invalid_amount"),
        ("1_000", "invalid_amount"),
        ("١٢", "invalid_amount"),
        ("Infinity", "invalid_amount"),
        ("nan", "invalid_amount"),
        ("1e999999", "invalid_amount"),
        ("1e-999999", "invalid_amount"),
        ("0." + "1" * 19, "invalid_amount"),
        (float("inf"), "invalid_amount"),
        (10**30, "invalid_amount"),
        (True, "invalid_amount"),
        (None, "invalid_amount"),
        ({"amount": 1}, "invalid_amount"),
        ("", "invalid_amount"),
        (-0.01, "negative_amount"),
        ("-3", "negative_amount"),
        (-(10**40), "negative_amount"),
    ],
)
def test_amount_rejects(value, reason):
    with pytest.raises(n.Invalid) as raised:
        n.amount_text(value)
    assert raised.value.reason == reason


@given(st.decimals(min_value=0, max_value=10**20, allow_nan=False, places=6))
def test_amount_is_exact_and_never_in_exponent_form(number):
    text = n.amount_text(str(number))
    assert "e" not in text.lower()
    assert Decimal(text) == number


@given(st.floats(min_value=0, max_value=1e25))
def test_float_amount_keeps_the_floats_own_digits(number):
    if Decimal(repr(number)).as_tuple().exponent < -n.MAX_AMOUNT_DECIMAL_PLACES:
        with pytest.raises(n.Invalid, match="decimal places"):
            n.amount_text(number)
        return
    text = n.amount_text(number)
    assert "e" not in text.lower()
    assert float(text) == number


@pytest.mark.parametrize("value, expected", [("eur", "EUR"), (" Usd ", "USD"), ("JPY", "JPY")])
def test_currency_code(value, expected):
    assert n.currency_code(value) == expected


@pytest.mark.parametrize("value", ["EURO", "XXXX", "", "€", 978, None])
def test_currency_rejects(value):
    with pytest.raises(n.Invalid) as raised:
        n.currency_code(value)
    assert raised.value.reason == "invalid_currency"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Germany", "DE"),
        (" united kingdom ", "GB"),
        ("UK", "GB"),
        ("The Netherlands", "NL"),
        ("Côte d'Ivoire", "CI"),
        ("Korea", None),
        ("Atlantis", None),
        ("", None),
        (49, None),
    ],
)
def test_country_alpha2(value, expected):
    assert n.country_alpha2(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("abc-123", "urn:li:leadGenFormResponse:abc-123"),
        ("urn:li:leadGenFormResponse:abc-123", "urn:li:leadGenFormResponse:abc-123"),
        (12345, "urn:li:leadGenFormResponse:12345"),
        ("urn:li:leadGenFormResponse:", None),
        ("urn:li:sponsoredAccount:5", None),
        ("two words", None),
        (True, None),
        (1.5, None),
    ],
)
def test_lead_urn(value, expected):
    assert n.lead_urn(value) == expected


@pytest.mark.parametrize(
    "value, expected", [(" Zoë ", "Zoë"), ("Jose\u0301", "José"), ("   ", None), (None, None), (7, None)]
)
def test_clean_text(value, expected):
    assert n.clean_text(value) == expected


@pytest.mark.parametrize("value", ["x" * 65, 10**64, 1.5, True, ["a"], ""])
def test_event_id_rejects(value):
    with pytest.raises(n.Invalid) as raised:
        n.event_id_text(value)
    assert raised.value.reason == "invalid_event_id"


def test_derived_event_id_is_sha256_of_canonical_json():
    expected = hashlib.sha256(b'["ns","orders","purchase",{"a":[1,2],"b":"x"}]').hexdigest()[:32]
    prefix = n.event_id_prefix("ns", "orders", "purchase")
    assert n.derived_event_id(prefix, {"b": "x", "a": [1, 2]}) == expected


def test_derived_event_id_handles_integers_beyond_64_bits_and_unicode():
    expected = hashlib.sha256(f'[null,"s","é",[{2**70},"ü"]]'.encode()).hexdigest()[:32]
    assert n.derived_event_id(n.event_id_prefix(None, "s", "é"), [2**70, "ü"]) == expected
