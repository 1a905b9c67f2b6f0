"""One `write`: builds the object graph from the config, runs the input loop, turns failures into Airbyte errors.

The input's lines are parsed and checked in `input_lines`; STATE messages are kept raw so platform fields
such as `id` survive, and are re-emitted unchanged but for `destinationStats`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import orjson
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from destination_linkedin_capi import failures
from destination_linkedin_capi.airbyte.cancel import CANCEL_GRACE_SECONDS, Cancellation
from destination_linkedin_capi.airbyte.config_updates import ConfigUpdates
from destination_linkedin_capi.airbyte.input import (
    NotStrictJson,
    StateCounts,
    exact,
    ignore_other,
    line_chunks,
    may_wait_within_a_chunk,
    not_a_message,
    record_stream,
    salvage,
)
from destination_linkedin_capi.airbyte.trace import traced
from destination_linkedin_capi.budget.request_budget import RequestBudget
from destination_linkedin_capi.budget.setup import make_budget
from destination_linkedin_capi.commands.discover import rule_events
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import SyncCancelled
from destination_linkedin_capi.linkedin.auth import TokenProvider, make_token_provider
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.rules import resolve_rules
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.results import Rejection
from destination_linkedin_capi.mapping.routing import StreamInfo
from destination_linkedin_capi.rejected.output import RejectedOutput, run_id
from destination_linkedin_capi.report import StreamKey, SyncReport
from destination_linkedin_capi.write.writer import CHUNK_EVENTS, BatchWriter

logger = logging.getLogger("airbyte")

# During a write, the collector's default first threshold (700 allocations) and its rescans of the
# start-up objects (CDK, pydantic, pycountry: ~100k) cost about a third of the run, although the
# hot path makes no reference cycles; see docs/performance.md.
GC_THRESHOLDS = (100_000, 50, 100)


@contextlib.contextmanager
def _write_gc() -> Iterator[None]:
    """Freeze the objects alive at start-up out of the collector's sight and collect less often;
    both are restored afterwards (in-process callers such as tests share the interpreter)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class WriteSession:
    """Reads the message stream and routes RECORDs to the mapper and STATEs to the writer."""

    def __init__(
        self,
        config: ConnectorConfig,
        streams: Mapping[StreamKey, StreamInfo],
        emit: Callable[[dict[str, Any]], None],
        *,
        now_ms: Callable[[], int] | None = None,
        raw_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.streams = streams
        rule_events(config, streams)  # streams mapped to an existing rule's discover operation
        self.report = SyncReport(event_names={key: event.name for key, event in config.events.items()})
        self.tokens: TokenProvider | None = None
        self.budget: RequestBudget | None = None
        self.client: LinkedInClient | None = None
        self.cancellation = Cancellation()
        if not config.dry_run:
            self.tokens = make_token_provider(config, sleep=self.cancellation.sleep)
            self.budget = make_budget(config)
            self.client = LinkedInClient(
                config.api_base_url,
                config.api_version,
                self.tokens,
                self.budget,
                max_retry_seconds=config.max_retry_seconds,
                read_timeout=config.read_timeout_seconds,
                sleep=self.cancellation.sleep,
            )
        self._emit = self.cancellation.whole_lines(emit)
        # A rotated OAuth refresh token reaches the platform before the next STATE (config_updates.py).
        self._updates = ConfigUpdates(raw_config, self.tokens, self._emit) if raw_config is not None else None
        self._now_ms = now_ms
        self._state_counts = StateCounts(self.report)
        sync_ids = sorted({str(info.sync_id) for info in streams.values() if info.sync_id is not None})
        self.rejected = RejectedOutput(
            config.rejected_storage,
            sync_id=sync_ids[0] if sync_ids else run_id(),
            event_names=self.report.event_names,
            sleep=self.cancellation.sleep,  # a storage call ends when the sync is cancelled
        )
        self.writer: BatchWriter | None = None

    def _rule_ids(self) -> dict[str, int]:
        if self.client is None:
            known = {key: event.rule_id for key, event in self.config.events.items() if event.rule_id is not None}
            missing = [event.name for event in self.config.events.values() if event.rule_id is None]
            if missing:
                logger.info(
                    "Dry run: events %s have no rule yet; a real sync would find or create one.", ", ".join(missing)
                )
            # Dry runs never call LinkedIn; unresolved events route to a placeholder rule 0.
            return {key: known.get(key, 0) for key in self.config.events}
        return resolve_rules(self.config, self.client, logger)

    def _progress(self) -> None:
        if self.report.progress_due():
            in_window = self.budget.used_in_window() if self.budget else 0
            today = self.budget.used_today if self.budget else 0
            logger.info(self.report.progress_line(in_window, today))

    def run(self, lines: Iterable[Any]) -> SyncReport:
        """Process the whole input (JSON lines: a binary stream such as stdin, or an iterable of bytes or str;
        `input_lines.message_lines` turns in-process messages into them); raise AirbyteTracedException when the
        sync must fail."""
        warning = failures.version_warning(self.config.api_version, dt.date.today())
        if warning:
            logger.warning(warning)
        try:
            with self.cancellation.armed():
                mapper = RecordMapper(self.config, self._rule_ids(), self.streams, now_ms=self._now_ms)
                self.writer = BatchWriter(
                    send=self.client.send_events if self.client else None,
                    report=self.report,
                    emit=self._emit_in_order,
                    batch_size=self.config.batch_size,
                    max_age=self.config.batch_max_age_seconds,
                    fail_on_rejection=self.config.invalid_record_policy == "fail",
                    progress=self._progress,
                    retry=self.client.policy if self.client else None,
                    sleep=self.cancellation.sleep,
                    rejected=self.rejected,
                )
                with _write_gc():
                    self._loop(lines, mapper)
                self.writer.finish()
            self._warn_unresolved(mapper)
            if self._updates is not None:
                self._updates.flush()
        except BaseException as error:
            if self.cancellation.cancelled:
                cancelled = self._cancel()
                if self._updates is not None:
                    self._updates.flush()  # a rotated refresh token must outlive a cancelled sync too
                raise traced(cancelled, self.config) from cancelled
            if self.writer is not None:
                self.writer.fatal = self.writer.fatal or error
                with contextlib.suppress(BaseException):  # the first error is the one to report
                    self.writer.finish()
            if self._updates is not None:
                self._updates.flush()  # a failed sync may still have rotated the refresh token
            self._log_summary()
            if isinstance(error, AirbyteTracedException):
                raise
            raise traced(error, self.config) from error
        self._log_summary()
        return self.report

    def _emit_in_order(self, message: dict[str, Any]) -> None:
        """The writer's emit: a rotated refresh token's CONTROL message goes out before the STATE."""
        if self._updates is not None and message.get("type") == "STATE":
            self._updates.flush()
        self._emit(message)

    def _warn_unresolved(self, mapper: RecordMapper) -> None:
        """One warning per `field_mappings` path that no record of the whole sync had (docs/mapping.md §2)."""
        if not self.report.total_read:
            return
        for field, path in mapper.unresolved_mappings().items():
            logger.warning(
                "Field mappings: no record of this sync has '%s' (mapped to %s); check the path's spelling, nesting "
                "and list positions.",
                path,
                field,
            )

    def _cancel(self) -> SyncCancelled:
        """SIGTERM/SIGINT: give the request in flight a few seconds, emit what is settled, log the summary and a
        "cancelled" line. The error is transient (not a system_error) and carries the signal for the exit code."""
        if self.writer is not None:
            self.writer.cancel(CANCEL_GRACE_SECONDS)
        self._log_summary()
        cancelled = SyncCancelled(self.cancellation.signum or signal.SIGTERM)
        logger.info(
            "Sync cancelled by %s: stopped reading; %s records read were not sent and will be sent by the next sync.",
            cancelled.signal_name,
            f"{self.report.unsettled:,}",
        )
        return cancelled

    def _log_summary(self) -> None:
        lines = self.report.summary_lines(dry_run=self.config.dry_run)
        where = self.rejected.summary_line()
        for line in lines + ([where] if where else []):
            logger.info(line)

    def _loop(self, items: Iterable[Any], mapper: RecordMapper) -> None:
        """The input loop: one pass per line with its names bound locally. It runs once per record, so
        per-stream work (the stream key, whether it is configured, its mapping function) is looked up
        once per stream in `per_stream`, what is counted per record is one plain-dict increment each, and a
        mapped event is appended to the writer's open events in line (`BatchWriter.add_event`, without the call)."""
        report = self.report
        writer = self.writer
        assert writer is not None
        streams = self.streams
        read = report.read
        mapped = report.mapped
        open_events = writer.open
        pending = open_events.payloads
        add_payload = pending.append
        add_origin = open_events.origins.append
        add_record = open_events.records.append if writer.keeps_records else None
        flush = writer.flush
        # Open events reach a batch every CHUNK_EVENTS events and before the loop waits for input (the end of a
        # block read from a stream); an iterable that may wait between two items of a chunk flushes each event.
        chunk_events = 1 if may_wait_within_a_chunk(items) else CHUNK_EVENTS
        reject = writer.reject
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        # namespace → stream → (stream key, its mapping function or None when not in the catalog, whether its records
        # are read exactly before they are mapped: see `_exact_first`)
        per_stream: dict[str | None, dict[str, tuple[StreamKey, Any, bool]]] = {}
        for chunk in line_chunks(items):
            for line in chunk:
                try:
                    message = loads(line)
                except decode_error as error:
                    message = salvage(line, error, report)
                    if message is None:
                        continue
                if message.__class__ is not dict:
                    not_a_message(line, exact(line, message), report)
                    continue
                kind = message.get("type")
                if kind != "RECORD":
                    if kind == "STATE":
                        writer.add_state(self._state_counts.stamp(exact(line, message)))
                    else:
                        ignore_other(kind, report)
                    continue
                record = message.get("record")
                if (
                    record.__class__ is not dict
                    or (stream := record.get("stream")).__class__ is not str
                    or ((namespace := record.get("namespace")) is not None and namespace.__class__ is not str)
                ):
                    record_stream(message, report)  # counts the broken envelope
                    continue
                known = per_stream.get(namespace)
                if known is None:
                    known = per_stream[namespace] = {}
                entry = known.get(stream)
                if entry is None:
                    key = (namespace, stream)
                    read.setdefault(key, 0)
                    if key in streams:
                        entry = (key, mapper.for_stream(namespace, stream), self._exact_first(mapper, key))
                    else:
                        entry = (key, None, False)
                    known[stream] = entry
                key, map_record, exact_first = entry
                read[key] += 1
                if map_record is None:
                    where = f" in namespace {namespace!r}" if namespace is not None else ""
                    report.record_ignored(
                        "unknown_stream", f"stream {stream!r}{where} is not in the configured catalog"
                    )
                    continue
                if exact_first:
                    message = exact(line, message)
                    record = message["record"]
                data = record.get("data")
                if data.__class__ is not dict:
                    if data.__class__ is NotStrictJson:
                        reject(key, None, "invalid_json", data.message, {"raw_line": data.text})
                    else:
                        reject(
                            key,
                            None,
                            "record_not_object",
                            "The record's data is not a JSON object.",
                            exact(line, message)["record"].get("data"),
                        )
                    continue
                result = map_record(data)
                if result.__class__ is not tuple:
                    if not exact_first:
                        # Not the planned path: read with integers beyond 64 bits exact, when there are any
                        # (`_exact_first`), and mapped again
                        again = exact(line, message)
                        if again is not message:
                            data = again["record"]["data"]
                            result = map_record(data)
                    if result.__class__ is Rejection:
                        reject(key, None, result.reason, result.message, data)
                        continue
                    if result.__class__ is not tuple:
                        result = (result.event, result.payload, result.identifiers, result.notes)
                event, payload, identifiers, notes = result
                outcome = (event, identifiers, notes)
                try:
                    mapped[outcome] += 1
                except KeyError:
                    mapped[outcome] = 1
                add_payload(payload)
                add_origin((key, event))
                if add_record is not None:
                    add_record(data)
                if len(pending) >= chunk_events:
                    flush()
            flush()  # before the next read, which may wait for the source

    def _exact_first(self, mapper: RecordMapper, key: StreamKey) -> bool:
        """Whether a stream's lines are read exactly (`input_lines.exact`) before their records are mapped.

        orjson reads an integer beyond 64 bits as a float. Looking for one costs about a tenth of the mapping, so it
        is looked for only where it could matter: a STATE (echoed), a record the planned path did not map (the
        general path and every rejection), and every record of a stream whose eventIds may be derived from the
        whole record or whose consent value is compared (`RecordMapper.needs_exact_input`), or whose records are
        kept for the rejected-records storage. The planned path never uses a value that could be such a float: it
        leaves a primary-key value that is not text or an integer, and a float amount beyond ±2**63, to the
        general path; the other fields it reads take no floats, or only within ranges (a time in the last 90
        days) that no integer beyond 64 bits falls into."""
        assert self.writer is not None
        return self.writer.keeps_records or mapper.needs_exact_input(*key)
