"""The straight-line mapping path (`RecordMapper.map_planned`) is an optimisation only: for any
record it gives exactly what the general path (`RecordMapper.map_general`) gives (the same event,
payload, key order, identifiers and notes), or defers to it."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destination_linkedin_capi.mapping.mapper import LAYOUT_CACHE_KEYS, MAX_CACHED_KEY_SET, RecordMapper
from destination_linkedin_capi.mapping.results import ConversionEvent
from devtools.sample_data import generate_lines
from unit_tests.mapping.test_properties import NOW, mapper, plausible_records, records, streams


def assert_same(m: RecordMapper, stream: str, namespace: str | None, record: dict) -> object:
    fast = m.map(stream, namespace, record)
    slow = m.map_general(stream, namespace, record)
    assert fast == slow
    loop = m.for_stream(namespace, stream)(record)  # what the input loop calls: planned results unboxed
    assert (ConversionEvent(*loop) if type(loop) is tuple else loop) == slow
    if isinstance(fast, ConversionEvent):  # byte-identical on the wire, key order included
        assert orjson.dumps(fast.payload) == orjson.dumps(slow.payload)
    return fast


blanks = st.sampled_from([None, "", "  "])


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    record=plausible_records | records,
    where=streams,
    blank_keys=st.lists(
        st.sampled_from(
            [
                "email",
                "li_fat_id",
                "ip",
                "gaid",
                "first_name",
                "last_name",
                "company",
                "country",
                "value",
                "currency",
                "event_id",
                "event_name",
                "external_id",
                "lead_id",
            ]
        ),
        max_size=3,
    ),
    blank=blanks,
)
def test_the_fast_path_equals_the_generic_path(record, where, blank_keys, blank):
    for key in blank_keys:
        record[key] = blank
    namespace, stream = where
    assert_same(mapper(), stream, namespace, record)


def test_sample_data_takes_the_fast_path_and_matches_the_generic_path():
    m = mapper()
    taken = 0
    for line in generate_lines(2_000, seed=3, now=dt.datetime.fromtimestamp(NOW / 1000, dt.timezone.utc)):
        message = orjson.loads(line)
        if message["type"] != "RECORD":
            continue
        record = message["record"]["data"]
        result = assert_same(m, "orders", None, record)
        if isinstance(result, ConversionEvent):
            taken += m.map_planned("orders", None, record) is not None
    assert taken > 1_500


def test_the_layout_cache_is_bounded_by_the_keys_it_holds_and_never_keeps_huge_key_sets():
    m = mapper()
    record = {"email": "jane@example.com", "event_time": NOW - 60_000, "event_id": "e1"}
    expected = m.map("orders", None, record)
    assert isinstance(expected, ConversionEvent)
    for n in range(2_000):  # 2,000 key sets of 200 keys: 400,000 keys offered
        wide = {**record, **{f"c{n}_{k}": k for k in range(198)}}
        assert m.map("orders", None, wide) == expected
        assert m._cached_keys <= LAYOUT_CACHE_KEYS
        assert sum(len(keys) + 1 for keys in m._layouts) == m._cached_keys
    huge = {**record, **{f"h{k}": k for k in range(MAX_CACHED_KEY_SET)}}
    assert m.map("orders", None, huge) == expected
    assert tuple(huge) not in m._layouts
