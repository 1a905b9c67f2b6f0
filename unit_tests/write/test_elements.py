"""`EncodedElements`: a batch encoded in chunks is, byte for byte, the request body of the whole list, and reads back
as the payloads that were added."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from destination_linkedin_capi.write.elements import EncodedElements, PreviewElements

text = st.text(max_size=12)
payload = st.fixed_dictionaries(
    {"eventId": text, "conversionHappenedAt": st.integers(min_value=0, max_value=2**63 - 1)},
    optional={
        "user": st.fixed_dictionaries(
            {"userIds": st.lists(st.fixed_dictionaries({"idType": text, "idValue": text}), max_size=3)},
            optional={"userInfo": st.dictionaries(text, text, max_size=3)},
        ),
        "conversionValue": st.fixed_dictionaries({"currencyCode": text, "amount": text}),
    },
)


@settings(max_examples=200)
@given(payloads=st.lists(payload, min_size=1, max_size=40), cuts=st.lists(st.integers(1, 40), max_size=10))
def test_chunks_join_into_the_body_of_the_whole_list(payloads, cuts):
    elements = EncodedElements()
    start = 0
    for size in [*cuts, len(payloads)]:
        if start < len(payloads):
            elements.add(payloads[start : start + size])
            start += size
    assert elements.body() == orjson.dumps({"elements": payloads})
    assert len(elements) == len(payloads)
    assert list(elements) == payloads
    assert [elements[i] for i in range(len(payloads))] == payloads
    assert elements[-1] == payloads[-1]
    assert elements[1:4] == payloads[1:4]


def test_an_index_out_of_range_is_an_index_error():
    elements = EncodedElements()
    elements.add([{"eventId": "a"}])
    with pytest.raises(IndexError):
        elements[1]
    with pytest.raises(IndexError):
        elements[-2]


def test_a_dry_run_batch_counts_its_events_and_keeps_the_first_few():
    elements = PreviewElements(3)
    elements.add([{"n": 0}, {"n": 1}])
    elements.add([{"n": 2}, {"n": 3}, {"n": 4}])
    assert len(elements) == 5
    assert elements[:3] == [{"n": 0}, {"n": 1}, {"n": 2}]
