"""Derived eventIds survive any record orjson can parse: the recursion-free encoder writes exactly what the standard
encoder writes, so an eventId never depends on how deep a record is nor on the Python version."""

from __future__ import annotations

import hashlib
import json
import sys

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from destination_linkedin_capi.mapping.normalize import canonical_json, derived_event_id, event_id_prefix

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=25,
)


def standard(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@settings(max_examples=300, derandomize=True, database=None)
@given(JSON_VALUES)
def test_the_recursion_free_encoder_writes_what_json_dumps_writes(value):
    assert canonical_json(value) == standard(value)


def test_a_record_nested_1000_levels_gets_the_documented_event_id():
    text = b'{"a":' * 1000 + b"1" + b"}" * 1000
    record = orjson.loads(text)  # orjson parses up to 1,024 levels
    prefix = event_id_prefix(None, "leads", "lead")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(5000)  # only to compute the expected value with the standard encoder
    try:
        expected = hashlib.sha256(prefix + standard(record).encode() + b"]").hexdigest()[:32]
    finally:
        sys.setrecursionlimit(limit)
    assert derived_event_id(prefix, record) == expected
