"""Shortcuts in the field rules are optimisations only: each gives exactly what the general route gives."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from destination_linkedin_capi.mapping import normalize as n
from destination_linkedin_capi.mapping import planned
from destination_linkedin_capi.mapping.fields import blank
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.results import ConversionEvent
from unit_tests.mapping.test_properties import CONFIG, STREAMS


def decimal_route(text: str) -> str | None:
    """`amount_text` for comma-free text without its plain-decimal shortcut (None: refused)."""
    stripped = text.strip()
    if not stripped.isascii() or "_" in stripped or not stripped or stripped[-1].isalpha():
        return None
    try:
        return n._decimal_text(Decimal(stripped), text)
    except (InvalidOperation, n.Invalid):
        return None


@settings(max_examples=1500)
@given(
    text=st.from_regex(r"\s?[+-]?[0-9]{0,33}(\.[0-9]{0,20})?\s?", fullmatch=True)
    | st.text(alphabet="0123456789.+-_ e٣\u00a0", max_size=24)
)
def test_plain_amounts_are_written_as_the_decimal_route_writes_them(text):
    try:
        shortcut = n.amount_text(text)
    except n.Invalid:
        shortcut = None
    assert shortcut == decimal_route(text)


def test_examples():
    assert [n.amount_text(t) for t in ["1234.50", "0", "0.00", " 7 ", "007.5", "5.", ".5", "+5"]] == [
        "1234.50",
        "0",
        "0.00",
        "7",
        "7.5",
        "5",
        "0.5",
        "5",
    ]


class _Clock:
    now = 0


def _clocked_mapper(clock: _Clock) -> RecordMapper:
    return RecordMapper(CONFIG, {"lead": 1, "purchase": 2}, STREAMS, now_ms=lambda: clock.now)


def _outcome(function, value):
    try:
        return function(value)
    except n.Invalid as error:
        return ("invalid", error.reason, error.detail)


@settings(max_examples=1500)
@given(
    value=st.datetimes(timezones=st.none() | st.timezones()).map(lambda moment: moment.isoformat())
    | st.from_regex(
        r"\s?[0-9]{4}-?[0-9]{2}-?[0-9]{2}([T ][0-9]{2}(:?[0-9]{2}){0,2}(\.[0-9]{1,9})?)?Z?\s?", fullmatch=True
    )
    | st.from_regex(r"\s?[0-9]{1,22}(\.[0-9]{0,4})?\s?", fullmatch=True)
    | st.text(alphabet="0123456789-:.TZ+ ٣", max_size=30)
    | st.integers()
    | st.floats()
    | st.none()
)
def test_the_planned_paths_time_parse_is_timestamp_ms(value):
    """The planned path's in-line parse gives `timestamp_ms`'s time, or defers when that refuses the value."""
    expected = _outcome(n.timestamp_ms, value)
    clock = _Clock()
    clock.now = expected if isinstance(expected, int) else 0
    fast = _clocked_mapper(clock).map_planned(
        "orders", None, {"id": "o-1", "email": "j@example.com", "event_time": value}
    )
    if isinstance(expected, int):
        assert fast is not None and fast.payload["conversionHappenedAt"] == expected
    else:
        assert fast is None


@given(
    value=st.sampled_from(["DE", "de ", "Germany", "the Netherlands", "UK", "NLD", "Atlantis", "", "  ", "\u3000"])
    | st.text(max_size=8)
)
def test_the_planned_paths_country_memo_is_country_alpha2(value):
    expected = "" if blank(value) else n.country_alpha2(value)  # "": blank, neither a country nor a note
    assert planned._country(value) == expected
    assert planned._country(value) == expected  # remembered: the same answer


_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_ONE_MS = dt.timedelta(milliseconds=1)
_offsets = st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59))


@settings(max_examples=2000)
@given(
    moment=st.datetimes(timezones=st.none() | st.timezones() | _offsets.map(dt.timezone)),
    sep=st.sampled_from("T "),
    timespec=st.sampled_from(["auto", "hours", "minutes", "seconds", "milliseconds", "microseconds"]),
)
@example(moment=dt.datetime(1969, 12, 31, 23, 59, 59, 999999), sep="T", timespec="auto")
@example(moment=dt.datetime(1969, 12, 31, 23, 59, 59, 999000, dt.timezone.utc), sep="T", timespec="auto")
@example(moment=dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=23, minutes=59))), sep="T", timespec="auto")
@example(
    moment=dt.datetime(9999, 12, 31, 23, 59, 59, 999999, dt.timezone(-dt.timedelta(hours=23))), sep=" ", timespec="auto"
)
@example(moment=dt.datetime(2024, 2, 29, 23, 59, 59, 999500), sep="T", timespec="auto")
@example(moment=dt.datetime(2100, 3, 1, 0, 0, 0, 500), sep="T", timespec="auto")
def test_the_planned_paths_epoch_ms_is_the_floor_of_the_timedelta(moment, sep, timespec):
    """The planned path's milliseconds, from the difference's days, seconds and microseconds, equal
    `(moment - epoch) // 1 ms` for any date, offset and fraction (the clock set to the moment, so
    that the record is accepted whatever its date)."""
    text = moment.isoformat(sep=sep, timespec=timespec)
    parsed = dt.datetime.fromisoformat(text)
    expected = (parsed - (_UTC_EPOCH if parsed.tzinfo else _UTC_EPOCH.replace(tzinfo=None))) // _ONE_MS
    clock = _Clock()
    clock.now = expected
    m = _clocked_mapper(clock)
    record = {"id": "o-1", "email": "jane@example.com", "event_time": text}
    fast = m.map_planned("orders", None, record)
    assert fast is not None and fast.payload["conversionHappenedAt"] == expected
    assert fast == m.map_general("orders", None, record)
    for fraction in ("5", "05", "0005", "99999"):  # fractions of other lengths than isoformat writes
        if "." not in text and len(text) >= 19 and text[17:19].isdigit():
            other = text[:19] + "." + fraction + text[19:]
            assert m.map_planned("orders", None, {**record, "event_time": other}) in (
                None,
                m.map_general("orders", None, {**record, "event_time": other}),
            )


_key_texts = (
    st.text(max_size=24)
    | st.text(alphabet='ab"\\\x00\x1f\x7f\u2028\u00e9\U0001f600 ', max_size=8)
    | st.sampled_from(["\ud800", "a\udfffb", "leads-12345", "", " "])
)


@settings(max_examples=2000)
@given(value=_key_texts)
def test_the_planned_paths_derived_event_id_of_text_keys_is_the_routes(value):
    """The one-column key hashed from the stream's encoded prefix: the same bytes as the route's, so the same eventId."""
    m = _clocked_mapper(_Clock())
    route = m._route(None, "orders")
    record = {"id": value, "email": "jane@example.com"}
    route.derived_event_id("purchase", {})  # fills the route's prefix

    def outcome(function):  # a lone surrogate cannot be encoded by either (orjson's parser refuses one)
        try:
            return function(route, "purchase", record)
        except UnicodeEncodeError as error:
            return type(error)

    assert outcome(planned._derived_event_id) == outcome(type(route).derived_event_id)


@pytest.mark.parametrize("first", ["Müller", "Muller", " Zoë", None, "", 7])
def test_the_planned_paths_names_give_the_general_paths_event(first):
    clock = _Clock()
    clock.now = 1_000
    m = _clocked_mapper(clock)
    record = {"id": "o-1", "email": "j@example.com", "event_time": "1970-01-01T00:00:01Z", "first_name": first}
    record["last_name"] = "Doe"
    for _ in range(2):
        fast = m.map("orders", None, record)
        assert fast == m.map_general("orders", None, record)
    assert isinstance(fast, ConversionEvent)


@settings(max_examples=1000)
@given(message=st.binary(max_size=300) | st.text(max_size=80).map(str.encode))
def test_the_sha256_used_for_emails_and_event_ids_is_hashlibs(message):
    """CPython's built-in SHA-256 (or hashlib's, where there is none) gives hashlib's digest, over several blocks too."""
    assert n.sha256(message).hexdigest() == hashlib.sha256(message).hexdigest()
