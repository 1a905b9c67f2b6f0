"""airbyte/input.py: stdin read in blocks gives exactly the lines a line-by-line read gives, and each line is
parsed once, exactly, and refused exactly when orjson refuses it."""

from __future__ import annotations

import io
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from destination_linkedin_capi.airbyte import input as input_lines


def lines_of(items) -> list[bytes]:
    return [line for chunk in input_lines.line_chunks(items) for line in chunk]


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1}\n{"b":2}\n',
        b'{"a":1}\n{"b":2}',  # no newline at the end
        b'\n\n{"a":1}\r\n  \n{"b":"x\\ny"}\n',  # blank lines, CRLF, an escaped newline in a string
        b"",
        '{"é":"ü"}\n'.encode() * 5,  # multi-byte characters split across blocks
    ],
)
def test_blocks_give_the_lines_of_a_line_by_line_read(monkeypatch, data, block):
    monkeypatch.setattr(input_lines, "READ_SIZE", block)
    expected = [line.rstrip(b"\n") for line in io.BytesIO(data)]
    assert lines_of(io.BytesIO(data)) == expected
    assert lines_of(io.BufferedReader(io.BytesIO(data))) == expected


def test_a_list_of_lines_is_one_chunk_used_as_is():
    items = [b'{"a":1}', b'{"b":2}']
    assert list(input_lines.line_chunks(items)) == [items]


@settings(max_examples=500)
@given(line=st.binary(max_size=80) | st.from_regex(rb'\{"a":-?[0-9]{15,25}(\.[0-9]+)?\}', fullmatch=True))
def test_the_long_digit_run_check_is_the_regex(line):
    """`parse_line` looks for a run of 19 digits without a regex; it must find exactly what `\\d{19}` finds."""
    assert (input_lines._LONG_RUN in line.translate(input_lines._DIGITS_AS_ZERO)) == (
        re.search(rb"\d{19}", line) is not None
    )


BIG = 123456789012345678901234567


@pytest.mark.parametrize("line", [f'{{"a":{BIG},"b":[1.5,-{BIG}]}}'.encode(), f'{{"a":{BIG},"b":[1.5,-{BIG}]}}'])
def test_a_line_with_an_integer_beyond_64_bits_is_read_exactly(line):
    assert input_lines.parse_line(line) == {"a": BIG, "b": [1.5, -BIG]}
    assert orjson.loads(line)["a"] != BIG  # what a reading by orjson alone would give


def test_other_lines_are_read_by_orjson():
    assert input_lines.parse_line(b'{"a":123456789012345678,"b":"x"}') == {"a": 123456789012345678, "b": "x"}


NOT_STRICT = [
    b"NaN",
    b"-Infinity",
    b"1e400",
    b'"\\ud800"',  # a lone surrogate, escaped
    b'"\xed\xa0\x80"',  # one encoded in UTF-8
    b'"\xff"',  # not UTF-8
    b"\x01",
    b'"a\tb"',  # a raw control character in a string
    b"[1,]",
]


@pytest.mark.parametrize("fragment", NOT_STRICT)
def test_a_line_orjson_refuses_is_refused_with_or_without_a_long_run_of_digits(fragment):
    for line in (b'{"a":' + fragment + b"}", b'{"id":1234567890123456789012,"a":' + fragment + b"}"):
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(line)
        with pytest.raises(orjson.JSONDecodeError):
            input_lines.parse_line(line)


def test_a_byte_order_mark_is_refused_as_orjson_refuses_it():
    with pytest.raises(orjson.JSONDecodeError):
        input_lines.parse_line(b'\xef\xbb\xbf{"id":1234567890123456789012}')


def test_a_text_line_with_a_lone_surrogate_is_refused():
    with pytest.raises(orjson.JSONDecodeError):
        input_lines.parse_line('{"id":1234567890123456789012,"a":"\ud800"}')


_TOKENS = st.sampled_from(
    [
        *(b"1", b"-0", b"1.5e3", b"1e400", b"12345678901234567890123", b"NaN", b"null"),
        *(b'"x"', b'"\\ud83d\\ude00"', b'"\\ud800"', b'"\xed\xa0\x80"', b'"\xff"', b"\xef\xbb\xbf"),
        *(b"[", b"]", b"{", b"}", b",", b":", b" ", b'"k":'),
    ]
)


def as_orjson_reads(value):
    """`value` with each integer beyond 64 bits as the float orjson reads it as."""
    if isinstance(value, list):
        return [as_orjson_reads(item) for item in value]
    if isinstance(value, dict):
        return {key: as_orjson_reads(item) for key, item in value.items()}
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return float(value)
    return value


@settings(max_examples=500)
@given(st.lists(_TOKENS, max_size=12).map(b"".join))
def test_a_line_is_refused_exactly_when_orjson_refuses_it(line):
    """Whichever parser reads it, a line is accepted or refused as orjson alone would, and reads the same values
    but for integers beyond 64 bits, which it keeps exact."""
    try:
        expected = orjson.loads(line)
    except orjson.JSONDecodeError:
        with pytest.raises(orjson.JSONDecodeError):
            input_lines.parse_line(line)
        return
    assert as_orjson_reads(input_lines.parse_line(line)) == expected
