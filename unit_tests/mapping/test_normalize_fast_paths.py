"""Shortcuts in the field rules are optimisations only: each gives exactly what the general route gives."""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation

from hypothesis import given, settings
from hypothesis import strategies as st

from destination_linkedin_capi.mapping import normalize as n


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


@settings(max_examples=1000)
@given(message=st.binary(max_size=300) | st.text(max_size=80).map(str.encode))
def test_the_sha256_used_for_emails_and_event_ids_is_hashlibs(message):
    """CPython's built-in SHA-256 (or hashlib's, where there is none) gives hashlib's digest, over several blocks too."""
    assert n.sha256(message).hexdigest() == hashlib.sha256(message).hexdigest()
