"""Batching, the send/isolate policy, and STATE gating.

Lifecycle of a batch: `add_event` fills the open batch; it is handed to the sender thread when full,
when older than `max_age` (watchdog), or at `finish`. The sender delivers it (isolating elements
LinkedIn refuses, by index or by bisection) and then emits every held STATE whose records are now
settled. States never force a flush: they wait for the batch holding their records, so batches stay
full and LinkedIn's 600 requests/min go further. Memory: at most `QUEUE_DEPTH + 2` batches.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from destination_linkedin_capi import failures
from destination_linkedin_capi.errors import (
    ConfigError,
    ConnectorError,
    NotConversionsApiRuleError,
    RejectedRequestError,
)
from destination_linkedin_capi.rejected.output import RejectedOutput
from destination_linkedin_capi.report import StreamKey, SyncReport

logger = logging.getLogger("airbyte")

QUEUE_DEPTH = 2
PREVIEW_EVENTS = 3

SendBatch = Callable[[list[dict[str, Any]]], dict[int, str]]


def policy_error(reason: str, message: str) -> ConfigError:
    return ConfigError(f"A record was rejected ({reason}): {message} (The 'Invalid records' policy is 'fail'.)")


class Batch:
    __slots__ = ("origins", "payloads", "records", "seq", "started")

    def __init__(self, seq: int, started: float) -> None:
        self.seq = seq
        self.started = started
        self.payloads: list[dict[str, Any]] = []
        self.origins: list[tuple[StreamKey, str]] = []  # (stream, event) of each payload
        self.records: list[Any] = []  # each payload's record, only when rejected records are stored


class BatchWriter:
    """Owns the open batch, the sender thread and the held STATE messages."""

    def __init__(
        self,
        *,
        send: SendBatch | None,
        report: SyncReport,
        emit: Callable[[dict[str, Any]], None],
        batch_size: int,
        max_age: float,
        fail_on_rejection: bool = False,
        progress: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rejected: RejectedOutput | None = None,
    ) -> None:
        self._send = send
        self._report = report
        self._emit = emit
        self._batch_size = batch_size
        self._max_age = max_age
        self._fail_on_rejection = fail_on_rejection
        self._progress = progress
        self._clock = clock
        self._rejected = rejected  # rejected-records storage and per-STATE counts
        self._keep_records = rejected is not None and rejected.keeps_records
        self._lock = threading.Lock()  # guards the open batch
        self._state_lock = threading.Lock()  # guards held states and their emission order
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._batch: Batch | None = None
        self._seq = 0
        self._handed_seq = 0
        self._settled_seq = 0
        self._states: deque[tuple[int, dict[str, Any], int]] = deque()  # (batch needed, message, state number)
        self._previewed = 0
        self.fatal: BaseException | None = None
        self._policy_error: ConfigError | None = None
        self._finished = False
        self._stop = threading.Event()
        self._sender = threading.Thread(target=self._sender_loop, name="linkedin-sender", daemon=True)
        self._watchdog = threading.Thread(target=self._watchdog_loop, name="batch-watchdog", daemon=True)
        self._sender.start()
        self._watchdog.start()

    # --- main thread -----------------------------------------------------------------------
    def add_event(self, stream: StreamKey, event: str, payload: dict[str, Any], record: Any = None) -> None:
        if self.fatal is not None:
            raise self.fatal
        with self._lock:
            batch = self._batch
            if batch is None:
                self._seq += 1
                batch = self._batch = Batch(self._seq, self._clock())
            batch.payloads.append(payload)
            batch.origins.append((stream, event))
            if self._keep_records:
                batch.records.append(record)
            if len(batch.payloads) >= self._batch_size:
                self._hand_off()

    def reject(self, stream: StreamKey, event: str | None, reason: str, message: str, record: Any = None) -> None:
        """A record that will not be sent; under the `fail` policy the sync stops after settling the rest."""
        self._report.record_rejected(stream, event, reason, message)
        if self._rejected is not None:
            self._rejected.add(stream, event, reason, message, record)
        if self._fail_on_rejection:
            self.finish()
            raise policy_error(reason, message)

    def add_state(self, message: dict[str, Any]) -> None:
        """Hold a STATE until every record before it is settled."""
        with self._lock:
            batch = self._batch
            required = batch.seq if batch is not None else self._handed_seq
            boundary = (batch.seq, len(batch.payloads)) if batch is not None else (self._seq + 1, 0)
        number = self._rejected.windows.state_added(boundary) if self._rejected is not None else 0
        with self._state_lock:
            self._states.append((required, message, number))
        self._emit_ready_states()

    def finish(self) -> None:
        """End of input: send what is left, wait for the sender, emit the remaining states."""
        if self._finished:
            return
        self._finished = True
        with self._lock:
            self._hand_off()
        self._queue.put(None)
        self._sender.join()
        self._stop.set()
        self._watchdog.join()
        self._emit_ready_states()
        if self._rejected is not None:
            self._write_rejected()  # rejections after the last STATE, and those of a sync that failed
        if self.fatal is not None:
            raise self.fatal

    def _hand_off(self) -> None:
        """Caller holds `_lock`. Blocks while the queue is full (backpressure bounds memory)."""
        batch = self._batch
        if batch is None or not batch.payloads:
            return
        self._batch = None
        self._handed_seq = batch.seq
        self._queue.put(batch)

    # --- watchdog thread ---------------------------------------------------------------------
    def _watchdog_loop(self) -> None:
        tick = min(1.0, self._max_age / 4)
        while not self._stop.wait(tick):
            with self._lock:
                batch = self._batch
                if batch is not None and self._clock() - batch.started >= self._max_age:
                    self._hand_off()
            if self._progress is not None:
                self._progress()

    # --- sender thread -------------------------------------------------------------------------
    def _sender_loop(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self.fatal is not None:
                continue
            try:
                self._deliver(batch)
            except BaseException as error:  # the main thread re-raises it; later batches are not sent
                self.fatal = error
                continue
            self._settled_seq = batch.seq
            self._emit_ready_states()
            if self._policy_error is not None:
                self.fatal = self._policy_error

    def _deliver(self, batch: Batch) -> None:
        """Send the batch; isolate refused elements by LinkedIn's indices, else by bisection."""
        if self._send is None:
            self._preview(batch.payloads)
            self._report.batch_settled(batch.origins, len(batch.payloads))
            return
        sent: list[tuple[StreamKey, str]] = []
        pending: list[list[int]] = [list(range(len(batch.payloads)))]
        while pending:
            indices = pending.pop()
            whole = len(indices) == len(batch.payloads)  # the first attempt: no copy by index needed
            try:
                refused = self._send(batch.payloads[:] if whole else [batch.payloads[i] for i in indices])
            except NotConversionsApiRuleError as error:
                positions = sorted(i for i in error.index_errors if 0 <= i < len(indices)) or [0]
                rule = batch.payloads[indices[positions[0]]].get("conversion", "?")
                raise ConfigError(failures.not_conversions_api_rule(rule)) from error
            except RejectedRequestError as error:
                named = {i: reasons for i, reasons in error.index_errors.items() if 0 <= i < len(indices)}
                if named:
                    for position, reasons in named.items():
                        self._linkedin_rejected(batch, indices[position], "; ".join(reasons))
                    rest = [index for position, index in enumerate(indices) if position not in named]
                    if rest:
                        pending.append(rest)
                elif len(indices) == 1:
                    self._linkedin_rejected(batch, indices[0], error.message)
                else:
                    middle = len(indices) // 2
                    pending.append(indices[middle:])
                    pending.append(indices[:middle])
                continue
            if not refused:
                sent.extend(batch.origins if whole else [batch.origins[i] for i in indices])
                continue
            for position, index in enumerate(indices):
                if position in refused:
                    self._linkedin_rejected(batch, index, refused[position])
                else:
                    sent.append(batch.origins[index])
        self._report.batch_settled(sent, len(batch.payloads))

    def _linkedin_rejected(self, batch: Batch, index: int, reason: str) -> None:
        stream, event = batch.origins[index]
        message = f"LinkedIn refused the event: {reason}"
        self._report.record_rejected(stream, event, "linkedin_rejected", message)
        if self._rejected is not None:
            record = batch.records[index] if batch.records else None
            self._rejected.add(stream, event, "linkedin_rejected", message, record, position=(batch.seq, index))
        if self._fail_on_rejection and self._policy_error is None:
            self._policy_error = policy_error("linkedin_rejected", message)

    def _preview(self, payloads: list[dict[str, Any]]) -> None:
        for payload in payloads[: PREVIEW_EVENTS - self._previewed]:
            logger.info("Dry run, would send: %s", orjson.dumps(payload).decode())
            self._previewed += 1

    def _emit_ready_states(self) -> None:
        with self._state_lock:
            if not self._states or self._states[0][0] > self._settled_seq:
                return
            if self._rejected is not None and not self._write_rejected():
                return
            while self._states and self._states[0][0] <= self._settled_seq:
                _, message, number = self._states.popleft()
                self._emit(message if self._rejected is None else self._rejected.stamp(message, number))

    def _write_rejected(self) -> bool:
        """Write the pending rejected records before any STATE after them; on failure the sync stops here."""
        assert self._rejected is not None
        try:
            self._rejected.before_states()
        except ConnectorError as error:  # the storage's StorageError or StorageUnavailableError
            self.fatal = self.fatal or error
            return False
        return True
