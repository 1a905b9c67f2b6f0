"""`input_lines.line_chunks`: stdin read in blocks gives exactly the lines a line-by-line read gives."""

from __future__ import annotations

import io
import re

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
    """`exact` looks for a run of 19 digits without a regex; it must find exactly what `\\d{19}` finds."""
    assert (input_lines._LONG_RUN in line.translate(input_lines._DIGITS_AS_ZERO)) == (
        re.search(rb"\d{19}", line) is not None
    )
