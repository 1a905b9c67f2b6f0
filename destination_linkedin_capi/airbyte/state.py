"""What each echoed STATE carries in `destinationStats`: the one place that counts and writes them.

`recordCount` + `rejectedRecordCount` are the records received since the previous STATE — of its stream for a
STREAM state, of every stream for a GLOBAL or LEGACY one — and the second is there only when some of them were
rejected. The read counts are taken from the report as the STATE arrives; the rejections are known only once
its records are settled, so the stats are written as the STATE is emitted.

A record's rejection *window* is how many STATEs came before it. A mapping rejection happens while the record is
read, so its window is the STATEs seen so far; a LinkedIn rejection happens later, so its window is found from
where each STATE fell in the batches (its *boundary*: batch number, position).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

from destination_linkedin_capi.report import StreamKey, SyncReport

Boundary = tuple[int, int]  # (batch number, position in it) where a STATE fell


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


class HeldState:
    """A STATE waiting for its records: the message as received, its number and the records it covers."""

    __slots__ = ("message", "number", "read")

    def __init__(self, message: dict[str, Any], number: int, read: int) -> None:
        self.message = message
        self.number = number
        self.read = read


class RejectionWindows:
    """Rejections counted by (window, stream); `take` hands a STATE the ones it covers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[int, StreamKey]] = Counter()
        self._boundaries: deque[Boundary] = deque()  # of states not yet passed by the sender
        self._passed = 0  # states before every batch still to be delivered
        self.states = 0

    def state_added(self, boundary: Boundary) -> int:
        """A STATE arrived (main thread); returns its number."""
        with self._lock:
            self._boundaries.append(boundary)
            self.states += 1
            return self.states - 1

    def count(self, stream: StreamKey, position: Boundary | None) -> None:
        with self._lock:
            if position is None:
                window = self.states
            else:
                boundaries = self._boundaries
                while boundaries and boundaries[0][0] < position[0]:  # batches go out in order
                    boundaries.popleft()
                    self._passed += 1
                window = self._passed + sum(1 for boundary in boundaries if boundary <= position)
            self._counts[(window, stream)] += 1

    def take(self, number: int, stream: StreamKey | None, *, every_stream: bool) -> int:
        """The rejections a STATE covers: its stream's (or every stream's) in windows up to its own. Called as
        the STATE is emitted, when its records are settled: every later rejection is after it, so its boundary
        (and those before it) need not be kept."""
        with self._lock:
            while self._boundaries and self._passed <= number:
                self._boundaries.popleft()
                self._passed += 1
            keys = [
                key
                for key in self._counts
                if key[0] <= number and (every_stream or (stream is not None and key[1] == stream))
            ]
            return sum(self._counts.pop(key) for key in keys)


class StateStats:
    """Counts, per STATE, the records it covers and those of them rejected, and writes them as `destinationStats`.

    `rejected_count=False` folds the rejected records into `recordCount`: the CDK's models (protocol 0.17) have
    no `rejectedRecordCount` and would drop it, so the in-process path reports every record read there."""

    def __init__(self, report: SyncReport, *, rejected_count: bool = True) -> None:
        self._report = report
        self._rejected_count = rejected_count
        self._windows = RejectionWindows()
        self._read_at_state: dict[StreamKey, int] = {}  # report.read per stream when its last state arrived
        self._read_at_global = 0  # records read when the last GLOBAL/LEGACY state arrived

    def received(self, message: dict[str, Any], boundary: Boundary) -> HeldState:
        """A STATE arrived (main thread), after the records it covers; `boundary` is where it fell in the batches."""
        return HeldState(message, self._windows.state_added(boundary), self._read_since_last(message))

    def rejected(self, stream: StreamKey, position: Boundary | None = None) -> None:
        """A record was rejected: by the mapping as it was read, or by LinkedIn at `position` in the batches."""
        self._windows.count(stream, position)

    def stamp(self, held: HeldState) -> dict[str, Any]:
        """The STATE message with its `destinationStats` (every other field as received), as it is emitted."""
        message = held.message
        state = message.get("state")
        if type(state) is not dict:  # nothing to add destinationStats to: echoed as received
            return message
        is_stream = state.get("type") == "STREAM"
        key = descriptor_key(state) if is_stream else None
        rejected = self._windows.take(held.number, key, every_stream=not is_stream)
        if rejected and self._rejected_count:
            kept = float(max(held.read - rejected, 0))
            state["destinationStats"] = {"recordCount": kept, "rejectedRecordCount": float(rejected)}
        else:
            state["destinationStats"] = {"recordCount": float(held.read)}
        return message

    def _read_since_last(self, message: dict[str, Any]) -> int:
        """Records read since the previous STATE of the same scope (its stream, or every stream)."""
        state = message.get("state")
        if type(state) is not dict:
            return 0
        read = self._report.read
        if state.get("type") == "STREAM":
            key = descriptor_key(state)
            if key is None:
                return 0
            count = read.get(key, 0) - self._read_at_state.get(key, 0)
            self._read_at_state[key] = read.get(key, 0)
            return count
        total = self._report.total_read
        count = total - self._read_at_global
        self._read_at_global = total
        self._read_at_state = dict(read)
        return count
