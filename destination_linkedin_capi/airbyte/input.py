"""What comes in on stdin, line by line: strict JSON parsing, salvage of lines that are not, the RECORD
envelope, and the per-stream counts each STATE carries back as `destinationStats`.

Input lines stay plain dicts (orjson). Nothing here decides what a record means; a line that is not a
usable message is counted on the report as ignored, with a short example that describes it (its length, where
the parser stopped: `masking`, never its text), never dropped silently.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from destination_linkedin_capi import masking
from destination_linkedin_capi.report import StreamKey, SyncReport

#: orjson reads an integer beyond 64 bits as a float (99999999999999999999 → 1e+20), silently. Every such
#: integer has a run of at least 19 digits (-9223372036854775809 is the first below the range), so only lines
#: with such a run are read again, exactly, by Python's parser.
#: The check runs on every line, so it is done in C without a regex: with every digit turned into "0", a run of
#: 19 digits is a run of 19 "0"s (the regex `\d{19}` costs ≈ 2.6 µs on a 285-byte line, this ≈ 0.5 µs).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


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


def not_a_message(line: bytes | str, message: Any, report: SyncReport) -> None:
    """A line that parsed to JSON other than an object (`masking` describes it, never quotes it)."""
    report.record_ignored("not_a_message", masking.json_line(line, message))


def message_lines(messages: Iterable[Any]) -> Iterator[str]:
    """In-process messages (the CDK's `write`) as the JSON lines the CLI reads, so that both take one path: a
    lone surrogate, NaN or Infinity makes a line orjson refuses, counted and rejected as on stdin, and an integer
    beyond 64 bits is read exactly. A value JSON has no type for (a datetime, a Decimal) is written as its text."""
    dumps = json.dumps
    for message in messages:
        yield dumps(message, default=str)


def _refuse_constant(name: str) -> None:
    raise ValueError(name)


def exact(line: bytes | str, parsed: Any) -> Any:
    """`parsed` (orjson's reading of `line`) with integers beyond 64 bits exact, when the line has a long run of
    digits: a STATE's cursor must be echoed digit for digit, a primary key must derive its own eventId. Python's
    parser reads them as ints; when it cannot read the line (over 4,300 digits, too deep), orjson's reading stays."""
    raw = line if isinstance(line, bytes) else line.encode("utf-8", "replace")
    if _LONG_RUN not in raw.translate(_DIGITS_AS_ZERO):  # = `re.search(rb"\d{19}", raw)`, ~5× cheaper
        return parsed
    try:
        return json.loads(line, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return parsed


def record_stream(message: dict[str, Any], report: SyncReport) -> StreamKey | None:
    """(namespace, stream) of a RECORD message; None, counted as `not_a_message`, when its envelope is broken."""
    record = message.get("record")
    if type(record) is not dict or type(record.get("stream")) is not str:
        report.record_ignored("not_a_message", "a RECORD without a record.stream")
        return None
    namespace = record.get("namespace")
    if namespace is not None and type(namespace) is not str:
        report.record_ignored("not_a_message", "a RECORD whose record.namespace is not text")
        return None
    return (namespace, record["stream"])


def ignore_other(kind: Any, report: SyncReport) -> None:
    """A message that is neither RECORD, STATE nor one Airbyte sends for the platform (TRACE, LOG, CONTROL)."""
    if kind in ("TRACE", "LOG", "CONTROL"):
        return
    if kind is None or type(kind) is str:
        report.record_ignored("not_a_message", f"a message of type {masking.message_type(kind)}")
    else:
        report.record_ignored("not_a_message", "a message whose type is not text")


def descriptor_key(state: dict[str, Any]) -> StreamKey | None:
    """The stream a STREAM state is for; None when its descriptor is unreadable (the state then counts no records)."""
    stream = state.get("stream")
    descriptor = stream.get("stream_descriptor") if type(stream) is dict else None
    if type(descriptor) is not dict:
        return None
    namespace, name = descriptor.get("namespace"), descriptor.get("name")
    if type(name) is not str or (namespace is not None and type(namespace) is not str):
        return None
    return (namespace, name)


class StateCounts:
    """What Airbyte expects in each STATE's `destinationStats.recordCount`: the records read since the previous
    STATE — of its stream for a STREAM state, of every stream for a GLOBAL or LEGACY one. Worked out from the
    report's read counts, so the input loop counts each record once, on the report."""

    def __init__(self, report: SyncReport) -> None:
        self._report = report
        self._read_at_state: dict[StreamKey, int] = {}  # report.read per stream when its last state was stamped
        self._read_at_global = 0  # records read when the last GLOBAL/LEGACY state arrived

    def stamp(self, message: dict[str, Any]) -> dict[str, Any]:
        """Add `destinationStats` to a STATE message (in place; every other field is kept as received)."""
        state = message.get("state")
        if type(state) is not dict:  # nothing to add destinationStats to: echoed as received
            return message
        read = self._report.read
        if state.get("type") == "STREAM":
            key = descriptor_key(state)
            count = 0
            if key is not None:
                count = read.get(key, 0) - self._read_at_state.get(key, 0)
                self._read_at_state[key] = read.get(key, 0)
        else:
            total = self._report.total_read
            count = total - self._read_at_global
            self._read_at_global = total
            self._read_at_state = dict(read)
        state["destinationStats"] = {"recordCount": float(count)}
        return message
