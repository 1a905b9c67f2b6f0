"""Shortcuts in the field rules are optimisations only: each gives exactly what the general route gives."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from hypothesis import given, settings
from hypothesis import strategies as st

from destination_linkedin_capi import normalize as n
from destination_linkedin_capi.mapping import planned


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
    assert _outcome(planned._happened_ms, value) == _outcome(n.timestamp_ms, value)


@given(
    value=st.sampled_from(["DE", "de ", "Germany", "the Netherlands", "UK", "NLD", "Atlantis", ""])
    | st.text(max_size=8)
)
def test_the_planned_paths_country_memo_is_country_alpha2(value):
    assert planned._country(value) == n.country_alpha2(value)
    assert planned._country(value) == n.country_alpha2(value)  # remembered: the same answer
