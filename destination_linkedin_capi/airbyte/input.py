"""What comes in on stdin, line by line: each line parsed once, salvage of lines that are not strict JSON,
and the RECORD envelope; what is left is a typed message (`Record`, `State`) for the session to route.

Input lines stay plain dicts. Nothing here decides what a record means; a line that is not a usable message is
counted on the report as ignored, with a short example that describes it (its length, where the parser stopped:
`masking`, never its text), never dropped silently.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from destination_linkedin_capi import masking
from destination_linkedin_capi.report import StreamKey, SyncReport

#: orjson reads an integer beyond 64 bits as a float (99999999999999999999 → 1e+20), silently. Every such
#: integer has a run of at least 19 digits (-9223372036854775809 is the first below the range), so lines with
#: such a run are read by Python's parser instead, which keeps them exact.
#: The check runs on every line, so it is done in C without a regex: with every digit turned into "0", a run of
#: 19 digits is a run of 19 "0"s (the regex `\d{19}` costs ≈ 2.6 µs on a 285-byte line, this ≈ 0.5 µs).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


#: A RECORD whose envelope is sound: its stream and its data — a dict when usable, `NotStrictJson` when its line was
#: not strict JSON, anything else when the record holds no object. A plain pair: one is made per record.
Record = tuple[StreamKey, Any]


class State:
    """A STATE message, kept as received (the platform's `id` and any other field survive)."""

    __slots__ = ("message",)

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message


def read_messages(lines: Iterable[bytes | str], report: SyncReport) -> Iterator[Record | State]:
    """The messages of `lines` worth routing, in order. Every other line is counted on `report` as ignored (a blank
    one is skipped), and so are TRACE, LOG and CONTROL messages, which are for the platform."""
    for line in lines:
        try:
            message = parse_line(line)
        except orjson.JSONDecodeError as error:
            message = salvage(line, error, report)
            if message is None:
                continue
        if message.__class__ is not dict:
            report.record_ignored("not_a_message", masking.json_line(line, message))
            continue
        kind = message.get("type")
        if kind != "RECORD":
            if kind == "STATE":
                yield State(message)
            else:
                _ignore_other(kind, report)
            continue
        record = message.get("record")
        if record.__class__ is not dict or (stream := record.get("stream")).__class__ is not str:
            report.record_ignored("not_a_message", "a RECORD without a record.stream")
        elif (namespace := record.get("namespace")) is not None and namespace.__class__ is not str:
            report.record_ignored("not_a_message", "a RECORD whose record.namespace is not text")
        else:
            yield (namespace, stream), record.get("data")


def parse_line(line: bytes | str) -> Any:
    """A line's JSON, parsed once: by Python's parser when the line has a run of 19 digits (integers beyond 64 bits
    stay exact), else by orjson. Raises orjson.JSONDecodeError when the line is not strict JSON (see `salvage`)."""
    raw = line if line.__class__ is bytes else line.encode("utf-8", "replace")
    if _LONG_RUN in raw.translate(_DIGITS_AS_ZERO):  # = `re.search(rb"\d{19}", raw)`, ~5× cheaper
        value = _read_exactly(line)
        if value is not _NOT_READ:
            return value
    return orjson.loads(line)


_NOT_READ = object()  # `_read_exactly` could not read the line as orjson would


def _read_exactly(line: bytes | str) -> Any:
    """Python's reading of a line that orjson would also accept, else _NOT_READ: orjson then reads it, or refuses
    it. Python's parser alone would accept what orjson refuses (a lone surrogate, bytes encoding one, a number
    beyond double range, a byte order mark), and it cannot read over 4,300 digits or very deep nesting."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        text.encode("utf-8")  # a lone surrogate in a text line
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        if "\\u" in text:  # an escaped lone surrogate
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return _NOT_READ
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(text)
    return value


class NotStrictJson:
    """The data of a RECORD whose line is not strict JSON (see `salvage`): rejected, never sent."""

    __slots__ = ("message", "text")

    def __init__(self, line: bytes | str, error: orjson.JSONDecodeError) -> None:
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        self.text = text.encode("utf-8", "replace").decode("utf-8").strip()  # the line as written to rejected records
        self.message = (
            "The record's line is not strict JSON (it holds NaN, Infinity, a number too large for JSON, a lone "
            f"surrogate or bytes that are not UTF-8), so its values cannot be read exactly: {masking.line(line, error)}"
        )


def salvage(line: bytes | str, error: orjson.JSONDecodeError, report: SyncReport) -> dict[str, Any] | None:
    """A line orjson refused. Python's json.dumps writes NaN and Infinity, and hand-made files hold bytes that
    are not UTF-8, so the line is read leniently, only to learn what it was: a RECORD is then counted on its
    stream and rejected (`invalid_json`), never sent with guessed values; a STATE is not echoed, as it could
    not be echoed unchanged (`invalid_state`). Anything else, and JSON nested deeper than orjson's 1,024
    levels, is a `non_json_line`. Returns the message to process, or None once the line is counted."""
    if not line.strip():
        return None
    message = None
    if error.msg != "depth limit exceeded":  # too deep to read is not "not strict"
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        with contextlib.suppress(ValueError, RecursionError):
            message = json.loads(text)
    if type(message) is not dict or message.get("type") not in ("RECORD", "STATE"):
        report.record_ignored("non_json_line", masking.line(line, error))
        return None
    if message["type"] == "STATE":
        report.record_ignored(
            "invalid_state",
            "a STATE line that is not strict JSON (NaN, Infinity or bytes that are not UTF-8); it cannot be "
            f"echoed unchanged: {masking.line(line, error)}",
        )
        return None
    record = message.get("record")
    if type(record) is dict:
        for name in ("stream", "namespace"):  # a lone surrogate (\ud800) cannot be written to the log
            if type(record.get(name)) is str:
                record[name] = record[name].encode("utf-8", "replace").decode()
        record["data"] = NotStrictJson(line, error)
    return message


READ_SIZE = 1 << 20


def may_wait_within_a_chunk(items: Iterable[Any]) -> bool:
    """Whether reading the next line of a chunk of `line_chunks(items)` may wait for the source: not for a stream
    (a chunk is a block already read) nor for a list or tuple; for any other iterable (a generator), it may."""
    return not isinstance(items, (io.BufferedIOBase, io.RawIOBase, list, tuple))


def line_chunks(items: Iterable[Any]) -> Iterator[Iterable[Any]]:
    """The input in chunks of lines: a binary stream (stdin) is read a block at a time and split,
    cheaper than a read per line; any other iterable is one chunk. `read1` returns what the pipe
    holds without waiting for a full block, so a slow source's STATEs are not held back."""
    if not isinstance(items, (io.BufferedIOBase, io.RawIOBase)):
        yield items
        return
    read = getattr(items, "read1", None) or items.read
    pending: list[bytes] = []  # the start of a line that continues in the next block(s)
    while True:
        block = read(READ_SIZE)
        if not block:
            break
        lines = block.split(b"\n")
        if len(lines) == 1:  # no line ends in this block: joined once, when it does (no quadratic copying)
            pending.append(block)
            continue
        if pending:
            pending.append(lines[0])
            lines[0] = b"".join(pending)
            pending = []
        last = lines.pop()
        if last:
            pending.append(last)
        yield lines
    if pending:
        yield (b"".join(pending),)


def message_lines(messages: Iterable[Any]) -> Iterator[str]:
    """In-process messages (the CDK's `write`) as the JSON lines the CLI reads, so that both take one path: a
    lone surrogate, NaN or Infinity makes a line orjson refuses, counted and rejected as on stdin, and an integer
    beyond 64 bits is read exactly. A value JSON has no type for (a datetime, a Decimal) is written as its text."""
    dumps = json.dumps
    for message in messages:
        yield dumps(message, default=str)


def _ignore_other(kind: Any, report: SyncReport) -> None:
    """A message that is neither RECORD, STATE nor one Airbyte sends for the platform (TRACE, LOG, CONTROL)."""
    if kind in ("TRACE", "LOG", "CONTROL"):
        return
    if kind is None or type(kind) is str:
        report.record_ignored("not_a_message", f"a message of type {masking.message_type(kind)}")
    else:
        report.record_ignored("not_a_message", "a message whose type is not text")
