"""Batching, the send/isolate policy, and STATE gating.

Lifecycle of a batch: `add_event` fills the open batch; it is handed to the sender thread when full,
when older than `max_age` (watchdog), or at `finish`. The sender delivers it (isolating elements
LinkedIn refuses, by index or by bisection) and then emits every held STATE whose records are now
settled. States never force a flush: they wait for the batch holding their records, so batches stay
full and LinkedIn's 600 requests/min go further. Memory: at most `QUEUE_DEPTH + 2` batches.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from destination_linkedin_capi import masking
from destination_linkedin_capi.airbyte.state import HeldState, StateStats
from destination_linkedin_capi.errors import ConfigError, ConnectorError
from destination_linkedin_capi.linkedin.retry import RetryPolicy
from destination_linkedin_capi.rejected.kept import KeptRecords
from destination_linkedin_capi.rejected.output import RejectedOutput
from destination_linkedin_capi.report import Origin, StreamKey, SyncReport, is_copy
from destination_linkedin_capi.write.delivery import BatchDelivery, SendBatch
from destination_linkedin_capi.write.elements import EncodedElements, PreviewElements
from destination_linkedin_capi.write.send_once import EventRef, Plan, SendOnce

logger = logging.getLogger("airbyte")

QUEUE_DEPTH = 2
PREVIEW_EVENTS = 3
#: Events encoded together while still in cache (elements.py); the open events are moved into the batch then.
CHUNK_EVENTS = 256
#: How often a thread waiting for the queue looks whether the sender is still alive.
LIVENESS_POLL_SECONDS = 0.5


class HelperThreadDied(RuntimeError):
    """The sender or watchdog thread stopped; the sync cannot go on without it."""


class CancelledBatch(Exception):
    """Raised in the sender between two requests of a batch once the sync is cancelled: the batch is abandoned."""


def policy_error(reason: str, message: str) -> ConfigError:
    return ConfigError(f"A record was rejected ({reason}): {message} (The 'Invalid records' policy is 'fail'.)")


class Batch:
    __slots__ = ("elements", "origins", "records", "refs", "seq", "started")

    def __init__(self, seq: int, started: float, elements: EncodedElements | PreviewElements) -> None:
        self.seq = seq
        self.started = started
        self.elements = elements
        self.origins: list[Origin] = []  # where each payload came from
        self.records: list[Any] | KeptRecords = []  # each payload's record, only when rejected records are stored
        self.refs: list[EventRef] = []  # each payload's (rule, eventId, time), only when each is sent once


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
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rejected: RejectedOutput | None = None,
        state_stats: StateStats | None = None,
        chunk_events: int = CHUNK_EVENTS,
        once: SendOnce | None = None,
    ) -> None:
        """`once`: the sent-events ledger; events LinkedIn accepted before are left out (already sent)."""
        self._send = send
        self._once = once
        self._report = report
        self._emit = emit
        self._batch_size = batch_size
        self._max_age = max_age
        self._fail_on_rejection = fail_on_rejection
        self._progress = progress
        self._clock = clock
        self._retry = retry or RetryPolicy()  # for elements LinkedIn could not record (5xx/429 inside a 200)
        self._sleep = sleep
        self._rejected = rejected  # rejected-records storage
        self._stats = state_stats or StateStats(report)
        self._keeps_records = rejected is not None and rejected.keeps_records
        self._chunk_events = chunk_events
        # The main thread's events not yet in a batch, encoded into it at each `flush`; only the main thread
        # touches them, so adding an event takes no lock.
        self._payloads: list[dict[str, Any]] = []
        self._origins: list[Origin] = []
        self._records: list[Any] = []  # only when rejected records are stored
        self._refs: list[EventRef] | None = [] if once is not None else None
        self._lock = threading.Lock()  # guards the open batch
        self._state_lock = threading.Lock()  # guards held states and their emission order
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._batch: Batch | None = None
        self._seq = 0
        self._handed_seq = 0
        self._settled_seq = 0
        self._states: deque[tuple[int, HeldState]] = deque()  # (batch needed, state)
        self._previewed = 0
        self.fatal: BaseException | None = None
        self._policy_error: ConfigError | None = None
        self._finished = False
        self._cancelled = False  # SIGTERM/SIGINT: nothing more is sent
        self._closed = False  # after a cancellation's grace: no state is emitted any more
        self._stop = threading.Event()
        self._sender = threading.Thread(target=self._sender_loop, name="linkedin-sender", daemon=True)
        self._watchdog = threading.Thread(target=self._watchdog_loop, name="batch-watchdog", daemon=True)
        self._sender.start()
        self._watchdog.start()

    # --- main thread -----------------------------------------------------------------------
    def add_event(
        self, stream: StreamKey, event: str, payload: dict[str, Any], record: Any = None, origin: Origin | None = None
    ) -> None:
        """Add one event; it reaches a batch at the next `flush`, which runs every `chunk_events` events. A caller
        that may wait for its input between two events (a source gone quiet) calls `flush` before it waits, so that
        the batch's age limit covers every event. `origin` is given for an event not (only) for its event's first
        rule (`report.Origin`). Raises a helper thread's error."""
        if self.fatal is not None:
            raise self.fatal
        self._payloads.append(payload)
        self._origins.append(origin or (stream, event))
        if self._keeps_records:
            self._records.append(record)
        if self._refs is not None:
            self._refs.append((payload["conversion"], payload["eventId"], payload["conversionHappenedAt"]))
        if len(self._payloads) >= self._chunk_events:
            self.flush()

    def flush(self) -> None:
        """Encode the open events into the open batch (batches handed on as they fill); raises a helper thread's
        error. Main thread only."""
        if self.fatal is not None:
            raise self.fatal
        self._flush_open()

    def _flush_open(self) -> None:
        payloads, origins, records = self._payloads, self._origins, self._records
        total = len(payloads)
        if not total:
            return
        start = 0
        with self._lock:
            while start < total:
                batch = self._batch
                if batch is None:
                    self._seq += 1
                    elements = EncodedElements() if self._send is not None else PreviewElements(PREVIEW_EVENTS)
                    batch = self._batch = Batch(self._seq, self._clock(), elements)
                    if self._keeps_records:  # as JSON, bounded in memory (rejected/kept.py)
                        batch.records = self._rejected.kept_records()
                end = min(total, start + self._batch_size - len(batch.elements))
                batch.elements.add(payloads[start:end])
                batch.origins.extend(origins[start:end])
                batch.records.extend(records[start:end])
                if self._refs is not None:
                    batch.refs.extend(self._refs[start:end])
                start = end
                if len(batch.elements) >= self._batch_size:
                    self._hand_off()
        payloads.clear()
        origins.clear()
        records.clear()
        if self._refs is not None:
            self._refs.clear()

    def reject(self, stream: StreamKey, event: str | None, reason: str, message: str, record: Any = None) -> None:
        """A record that will not be sent; under the `fail` policy the sync stops after settling the rest."""
        self._report.record_rejected(stream, event, reason, message)
        self._stats.rejected(stream)
        if self._rejected is not None:
            self._rejected.add(stream, event, reason, message, record)
        if self._fail_on_rejection:
            self.finish()
            raise policy_error(reason, message)

    def add_state(self, message: dict[str, Any]) -> None:
        """Hold a STATE until every record before it is settled."""
        self.flush()  # the records before the STATE are in a batch
        with self._lock:
            batch = self._batch
            required = batch.seq if batch is not None else self._handed_seq
            boundary = (batch.seq, len(batch.elements)) if batch is not None else (self._seq + 1, 0)
        held = self._stats.received(message, boundary)
        with self._state_lock:
            self._states.append((required, held))
        self._emit_ready_states()

    def finish(self) -> None:
        """End of input: send what is left, wait for the sender, emit the remaining states."""
        if self._finished:
            return
        if self.fatal is None:
            self._flush_open()
        self._finished = True
        with self._lock:
            self._hand_off()
        self._put(None)
        self._sender.join()
        self._stop.set()
        self._watchdog.join()
        self._emit_ready_states()
        if self._rejected is not None:
            with self._state_lock:
                self._write_rejected()  # rejections after the last STATE, and those of a sync that failed
        if self.fatal is not None:
            raise self.fatal

    def cancel(self, grace: float) -> None:
        """The sync was cancelled: send nothing more and give the request in flight `grace` seconds. Its states are
        emitted if it settles by then; after that no state is (an abandoned request is never settled)."""
        self._cancelled = True
        self._finished = True
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._sender.join(grace)
        with self._state_lock:
            self._closed = True

    def _check_cancelled(self) -> None:
        if self._cancelled:
            raise CancelledBatch("The sync was cancelled before this batch was delivered.")

    def _hand_off(self) -> None:
        """Caller holds `_lock`. Blocks while the queue is full (backpressure bounds memory)."""
        batch = self._batch
        if batch is None or not batch.elements:
            return
        self._batch = None
        self._handed_seq = batch.seq
        self._put(batch)

    def _put(self, item: Batch | None) -> None:
        """Queue `item` for the sender; a dead sender never frees a slot, so notice it instead of waiting for ever."""
        while True:
            try:
                self._queue.put(item, timeout=LIVENESS_POLL_SECONDS)
                return
            except queue.Full:
                if not self._sender.is_alive():
                    raise self.fatal or HelperThreadDied("The thread sending batches to LinkedIn stopped.") from None

    def _fail(self, error: BaseException) -> None:
        """A helper thread met `error`: the main thread raises it at its next call (the first error wins)."""
        if self.fatal is None:
            self.fatal = error

    # --- watchdog thread ---------------------------------------------------------------------
    def _watchdog_loop(self) -> None:
        """Without it no batch age is enforced, so its death fails the sync like any other error. It never waits for
        the sender: the progress lines keep their rhythm while the sender waits for the request budget."""
        tick = min(1.0, self._max_age / 4)
        try:
            while not self._stop.wait(tick):
                # The main thread holds the lock while it waits for a free slot in the queue: a batch is handed on then.
                if self._lock.acquire(timeout=tick):
                    try:
                        batch = self._batch
                        if batch is not None and self._clock() - batch.started >= self._max_age:
                            self._hand_off_if_free()
                    finally:
                        self._lock.release()
                if self._progress is not None:
                    self._progress()
        except BaseException as error:
            self._fail(error)

    def _hand_off_if_free(self) -> None:
        """Caller holds `_lock`. Hand the open batch on when the queue has room; a full queue has batches to send
        first, and the next tick tries again."""
        batch = self._batch
        if batch is None or not batch.elements:
            return
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            return
        self._batch = None
        self._handed_seq = batch.seq

    # --- sender thread -------------------------------------------------------------------------
    def _sender_loop(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self.fatal is not None or self._cancelled:
                continue
            try:  # any error, emitting states included (stdout closed): the main thread re-raises it
                self._deliver(batch)
                if self._policy_error is not None:  # under `fail`, no state may cover the refused row
                    raise self._policy_error
                self._settled_seq = batch.seq
                self._emit_ready_states()
            except BaseException as error:  # later batches are drained, not sent
                self._fail(error)

    def _deliver(self, batch: Batch) -> None:
        """Send the batch (see `delivery`); what LinkedIn accepted counts as sent even when the batch fails half-way.
        With the ledger, only the events this sync claimed go out (`send_once.py`)."""
        if self._send is None:
            self._preview(batch.elements)
            already = self._once.seen(batch.refs) if self._once is not None else {}
            self._settled(batch, [i for i in range(len(batch.elements)) if i not in already], Plan([], already))
            return
        plan = self._once.plan(batch.refs, self._check_cancelled) if self._once is not None else None
        elements, positions = batch.elements, None  # positions: the batch index of each element sent
        if plan is not None and len(plan.send) < len(batch.elements):
            positions = plan.send
            if not positions:
                self._settled(batch, [], plan)
                return
            elements = EncodedElements()
            elements.add([batch.elements[i] for i in positions])
        index_of = positions.__getitem__ if positions is not None else int
        delivery = BatchDelivery(
            elements,
            self._send,
            refuse=lambda index, reason: self._linkedin_rejected(batch, index_of(index), reason),
            policy=self._retry,
            sleep=self._sleep,
            clock=self._clock,
            check=self._check_cancelled if plan is None else lambda: self._between_requests(plan),
        )
        try:
            unnamed = delivery.run()
        except BaseException:
            accepted = [index_of(i) for i in delivery.accepted]
            if plan is not None:
                self._once.settle(plan, accepted, batch.refs)
            self._count(self._report.record_sent, [batch.origins[i] for i in accepted])
            raise
        for index, reason in unnamed:
            self._linkedin_rejected(batch, index_of(index), reason)
        if plan is None:
            sent = batch.origins if delivery.all_accepted else [batch.origins[i] for i in delivery.accepted]
            self._count(self._report.batch_settled, sent, len(batch.elements))
            return
        accepted = (positions or plan.send) if delivery.all_accepted else [index_of(i) for i in delivery.accepted]
        self._once.settle(plan, accepted, batch.refs)
        self._settled(batch, accepted, plan)

    def _between_requests(self, plan: Plan) -> None:
        self._check_cancelled()
        assert self._once is not None
        self._once.renew(plan)

    def _settled(self, batch: Batch, accepted: list[int], plan: Plan) -> None:
        """Count a batch sent with the ledger: accepted, already sent, and the later copies of a key in the batch,
        which share their first copy's fate (already sent once it was accepted, refused with it otherwise)."""
        origins, now_ms = batch.origins, int(time.time() * 1000)
        if len(accepted) == len(origins):  # the common case: every event new and accepted
            self._count(self._report.batch_settled, origins, len(origins))
            return
        done = set(accepted)
        already = [(origins[i], at) for i, at in plan.already.items()]
        for index, first in plan.copies.items():
            if first in done or first in plan.already:
                already.append((origins[index], plan.already.get(first, now_ms)))
            else:
                self._linkedin_rejected(batch, index, "the batch's event with the same rule and eventId was refused")
        self._count(self._report.batch_settled, [origins[i] for i in accepted], len(batch.elements), already)

    def _linkedin_rejected(self, batch: Batch, index: int, reason: str) -> None:
        origin = batch.origins[index]
        stream, event = origin[0], origin[1]
        message = f"LinkedIn refused the event: {masking.redact(reason, batch.elements[index])}"
        with self._state_lock:  # as `_count`, written out so the reason code reads as a literal here
            if self._closed:
                return
            if is_copy(origin):  # the record's outcome is its first rule's element's; a copy counts for its rule
                self._report.copy_refused(event, origin[2], message)  # type: ignore[misc]
            else:
                self._report.record_rejected(stream, event, "linkedin_rejected", message)
                self._stats.rejected(stream, (batch.seq, index))
                if self._rejected is not None:
                    record = batch.records[index] if batch.records else None
                    self._rejected.add(stream, event, "linkedin_rejected", message, record)
        if self._fail_on_rejection and self._policy_error is None:
            self._policy_error = policy_error("linkedin_rejected", message)

    def _preview(self, payloads: PreviewElements) -> None:
        for payload in payloads[: PREVIEW_EVENTS - self._previewed]:
            logger.info(
                "Dry run, would send (personal data masked): %s", orjson.dumps(masking.preview(payload)).decode()
            )
            self._previewed += 1

    def _count(self, update: Callable[..., None], *args: Any) -> None:
        """A report update from the sender; none once a cancellation closed the writer (the main thread is then
        reading the report for the summary, and a request abandoned in flight must not change it)."""
        with self._state_lock:
            if not self._closed:
                update(*args)

    def _emit_ready_states(self) -> None:
        with self._state_lock:
            if self._closed or not self._states or self._states[0][0] > self._settled_seq:
                return
            if self._rejected is not None and not self._write_rejected():
                return
            while not self._closed and self._states and self._states[0][0] <= self._settled_seq:
                _, held = self._states.popleft()
                self._emit(self._stats.stamp(held))

    def _write_rejected(self) -> bool:
        """Caller holds `_state_lock`. Write the pending rejected records before any STATE after them; when the
        storage fails, no STATE is emitted and the sync stops with its error."""
        assert self._rejected is not None
        try:
            self._rejected.before_states()
        except ConnectorError as error:  # the storage's StorageError or StorageUnavailableError
            self._fail(error)
            return False
        return True
