"""A rejected row's `record`, as JSON: written once, whatever the record holds, and kept compactly.

With rejected-records storage on, the writer must keep each sent record until LinkedIn has answered its batch,
in case LinkedIn refuses it. `KeptRecords` keeps a batch's records as their JSON text — a fraction of the
memory of the parsed objects — in memory up to `MEMORY_BYTES`, beyond that in an anonymous temporary file
(no name on disk, gone when the batch is), so memory stays bounded whatever the size of the records.
"""

from __future__ import annotations

import json
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

#: A batch's records beyond this many bytes of JSON are kept on disk.
MEMORY_BYTES = 4 * 1024 * 1024
#: Records nested deeper than this (orjson's limit) are stored as their text, `{"raw_line": …}`: few readers
#: parse such a line, and Python's own encoder would overflow its recursion limit on it.
DEEPEST = 255

_END = object()


def record_json(record: Any) -> bytes:
    """The JSON of a rejected row's `record`: the record itself, or `{"raw_line": its text}` when it is nested
    deeper than `DEEPEST` levels. Integers beyond 64 bits are written digit for digit."""
    if type(record) is orjson.Fragment:
        return orjson.dumps(record)
    try:
        return orjson.dumps(record)
    except TypeError:  # an integer beyond 64 bits, or nesting deeper than orjson goes
        text, depth = _written_out(record)
        if depth > DEEPEST:
            return orjson.dumps({"raw_line": text})
        return text.encode("utf-8", "replace")


def _scalar(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits; anything else as its text
        return json.dumps(value, ensure_ascii=False, default=str)


def _written_out(value: Any) -> tuple[str, int]:
    """`value` as JSON text however deep it is (a loop, not recursion), and its depth."""
    parts: list[str] = []
    stack: list[tuple[Iterator[Any], str, bool]] = []  # (items left, closing bracket, whether an object)
    deepest = 0
    while True:
        if isinstance(value, dict):
            parts.append("{")
            stack.append((iter(value.items()), "}", True))
        elif isinstance(value, (list, tuple)):
            parts.append("[")
            stack.append((iter(value), "]", False))
        else:
            parts.append(_scalar(value))
        deepest = max(deepest, len(stack))
        while stack:
            items, closing, is_object = stack[-1]
            item = next(items, _END)
            if item is _END:
                parts.append(closing)
                stack.pop()
                continue
            if parts[-1] not in ("{", "["):
                parts.append(",")
            if is_object:
                key, value = item
                parts.append(_scalar(str(key)) + ":")
            else:
                value = item
            break
        else:
            return "".join(parts), deepest


class KeptRecords:
    """One batch's records as JSON, by position; `[i]` is ready to be put in a row as it is (an orjson Fragment)."""

    __slots__ = ("_ends", "_file", "_size")

    def __init__(self, memory_bytes: int = MEMORY_BYTES) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=memory_bytes)  # noqa: SIM115 - lives with the batch
        self._ends = array("Q")
        self._size = 0

    def extend(self, records: Iterable[Any]) -> None:
        write = self._file.write
        ends = self._ends
        for record in records:
            data = record_json(record)
            write(data)
            self._size += len(data)
            ends.append(self._size)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> orjson.Fragment:
        start = self._ends[index - 1] if index else 0
        self._file.seek(start)
        data = self._file.read(self._ends[index] - start)
        self._file.seek(0, 2)  # later records are appended
        return orjson.Fragment(data)
