"""One `write`: builds the object graph from the config, runs the input loop, turns failures into Airbyte errors.

The input's lines are parsed and checked in `airbyte/input.py`; the loop here only routes its messages: a
RECORD to its stream's mapping and the writer, a STATE to the writer, which echoes it unchanged but for
`destinationStats` (`airbyte/state.py`) once its records are settled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from destination_linkedin_capi import failures
from destination_linkedin_capi.airbyte.cancel import CANCEL_GRACE_SECONDS, Cancellation
from destination_linkedin_capi.airbyte.catalog import rule_events
from destination_linkedin_capi.airbyte.config_updates import ConfigUpdates
from destination_linkedin_capi.airbyte.input import (
    NotStrictJson,
    State,
    line_chunks,
    may_wait_within_a_chunk,
    read_messages,
)
from destination_linkedin_capi.airbyte.state import StateStats
from destination_linkedin_capi.airbyte.trace import traced
from destination_linkedin_capi.budget.request_budget import RequestBudget
from destination_linkedin_capi.budget.setup import make_budget
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, SyncCancelled
from destination_linkedin_capi.ledger.setup import make_ledger
from destination_linkedin_capi.linkedin.auth import TokenProvider
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.connect import connect
from destination_linkedin_capi.linkedin.preflight import preflight
from destination_linkedin_capi.linkedin.rules import AccountRules, Rule, resolve_rules
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection, RoutedEvent
from destination_linkedin_capi.mapping.routing import Router, StreamInfo
from destination_linkedin_capi.mapping.settings import RuleCheck, Settings
from destination_linkedin_capi.rejected.output import RejectedOutput, sync_folder
from destination_linkedin_capi.report import StreamKey, SyncReport, stream_label
from destination_linkedin_capi.write.send_once import SendOnce, keep_ms
from destination_linkedin_capi.write.writer import CHUNK_EVENTS, BatchWriter

logger = logging.getLogger("airbyte")

# During a write, the collector's default first threshold (700 allocations) and its rescans of the
# start-up objects (CDK, pydantic, pycountry: ~100k) cost about a third of the run, although the
# hot path makes no reference cycles; see docs/performance.md.
GC_THRESHOLDS = (100_000, 50, 100)
_UNSEEN = object()  # a stream whose mapping function is not looked up yet


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
        rejected_count: bool = True,
    ) -> None:
        """`rejected_count=False` leaves `rejectedRecordCount` out of each STATE (`StateStats`)."""
        # a stream mapped to an existing rule's discover operation sends to that rule
        config = config.with_events(rule_events(config.events, streams))
        self.config = config
        self.streams = streams
        self.report = SyncReport(event_names={key: event.name for key, event in config.events.items()})
        self.tokens: TokenProvider | None = None
        self.budget: RequestBudget | None = None
        self.client: LinkedInClient | None = None
        self.cancellation = Cancellation()
        if not config.dry_run:
            self.budget = make_budget(config, sleep=self.cancellation.sleep)
            self.client = connect(config, budget=self.budget, sleep=self.cancellation.sleep)
            self.tokens = self.client.tokens
        self.once = self._send_once(config)
        self._emit = self.cancellation.whole_lines(emit)
        # A rotated OAuth refresh token reaches the platform the moment LinkedIn issues it (config_updates.py).
        self._updates = ConfigUpdates(raw_config, self.tokens, self._emit) if raw_config is not None else None
        self._now_ms = now_ms
        self._state_stats = StateStats(self.report, rejected_count=rejected_count)
        sync_id = min((info.sync_id for info in streams.values() if info.sync_id is not None), key=str, default=None)
        self.rejected = RejectedOutput(
            config.rejected_storage,
            sync_id=sync_folder(sync_id),
            event_names=self.report.event_names,
            sleep=self.cancellation.sleep,  # a storage call ends when the sync is cancelled
        )
        self.writer: BatchWriter | None = None
        self._listed: dict[int, Rule] | None = None  # the account's rules, as the preflight listed them
        # each stream's mapping function, None for a stream not in the catalog; filled as streams are met
        self._map_for: dict[StreamKey, Callable[[dict[str, Any]], Any] | None] = {}

    def _send_once(self, config: ConnectorConfig) -> SendOnce | None:
        """The sent-events ledger, in the request budget's store; None when Send each conversion once is off."""
        if not config.send_once or (config.dry_run and config.request_budget.store == "process"):
            return None  # a dry run's ledger of this sync alone is empty: nothing to look up
        whole = sorted(stream_label(key) for key, info in self.streams.items() if info.full_refresh)
        if whole and config.request_budget.store == "process":
            logger.warning(
                "Streams %s are read in full at each sync, and with the Request budget store 'This sync only' the "
                "sent-events ledger lasts one sync: rows LinkedIn accepted before are sent again and may count twice. "
                "Choose an SQLite file or Redis as the store to send each conversion once across syncs.",
                ", ".join(repr(name) for name in whole),
            )
        # A claim lasts as long as one request may: a wait for the budget's window, then retries up to the limit.
        lease = config.throttle_window_seconds + config.max_retry_seconds + config.read_timeout_seconds
        return SendOnce(
            make_ledger(config),
            lease_seconds=lease,
            keep_ms=keep_ms(config.event_age_margin_minutes),
            when_unreachable=config.send_once_when_store_unreachable,
            sleep=self.cancellation.sleep,
        )

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
        found = preflight(self.config, self.client)  # nothing is sent to a rule that would lose the events
        self._listed = found.rules
        return resolve_rules(self.config, self.client, logger, listed=list(found.rules.values()))

    def _check_routing(self) -> None:
        """Before anything is sent: a stream none of whose records could reach an event fails the sync (each
        would be rejected); a Stream events entry that names no stream of the catalog is a warning."""
        settings = Settings(self.config, {})
        router = Router(settings, self.config.stream_events, self.streams)
        for name in router.unknown_stream_events():
            logger.warning(failures.stream_events_unknown_stream(name))
        field = settings.explicit["event_name"]
        problems = [
            failures.unroutable_stream(stream_label(key), key[1], field, settings.configured)
            for key in router.unroutable()
        ]
        if problems:
            raise ConfigError(" ".join(problems))

    def _rule_check(self) -> RuleCheck:
        """Whether rows may go to the rule they name (field conversion_rule_id): the account's enabled Conversions API
        rules, listed once when a row first names one. A dry run calls no LinkedIn API: it takes every ID and says so."""
        if self.client is not None:
            return AccountRules(self.client, self.config, self._listed).refusal
        said: list[int] = []

        def unchecked(rule_id: int) -> None:
            if not said:
                said.append(rule_id)
                logger.info(
                    "Dry run: rows naming their own conversion rule (e.g. %d) would be sent to it when it is an "
                    "enabled Conversions API rule of ad account %d, and rejected otherwise; a dry run calls no "
                    "LinkedIn API, so it does not check.",
                    rule_id,
                    self.config.account_id,
                )

        return unchecked

    def _progress(self) -> None:
        if self.report.progress_due():
            in_window = self.budget.used_in_window() if self.budget else 0
            today = self.budget.used_today if self.budget else 0
            logger.info(self.report.progress_line(in_window, today))
        for line in self.report.rejected_share_warnings(self._warn_percent, early=True):
            logger.warning(line)

    def run(self, lines: Iterable[Any]) -> SyncReport:
        """Process the whole input (JSON lines: a binary stream such as stdin, or an iterable of bytes or str;
        `airbyte.input.message_lines` turns in-process messages into them); raise AirbyteTracedException when the
        sync must fail."""
        for slip in self.config.warnings:
            logger.warning(slip)
        warning = failures.version_warning(self.config.api_version, dt.date.today())
        if warning:
            logger.warning(warning)
        try:
            return self._run(lines)
        finally:
            if self.once is not None:
                self.once.store.close()

    def _run(self, lines: Iterable[Any]) -> SyncReport:
        try:
            with self.cancellation.armed():
                self._check_routing()
                rule_ids = self._rule_ids()
                self.report.event_rules = dict(rule_ids)
                mapper = RecordMapper(
                    self.config, rule_ids, self.streams, now_ms=self._now_ms, rule_check=self._rule_check()
                )
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
                    state_stats=self._state_stats,
                    # a source read item by item may go quiet between two events: each reaches a batch at once
                    chunk_events=1 if may_wait_within_a_chunk(lines) else CHUNK_EVENTS,
                    once=self.once,
                )
                with _write_gc():
                    self._loop(lines, mapper)
                self.writer.finish()
            self._warn_unresolved(mapper)
            self._check_rejected_share()
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
        for field, path in mapper.unresolved_mappings():
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

    @property
    def _warn_percent(self) -> int:
        """Rejected share warning, or Maximum rejected share when lower: a stream that fails the sync is named with its
        reasons too."""
        limit = self.config.max_rejected_percent
        warn = self.config.rejected_warn_percent
        return warn if limit is None else min(warn, limit)

    def _check_rejected_share(self) -> None:
        """Maximum rejected share: checked at the end of the sync, once the states of what was sent are emitted."""
        limit = self.config.max_rejected_percent
        if limit is None:
            return
        # streams_over also names a stream rejected whole, which is not above a maximum of 100%
        over = [item for item in self.report.streams_over(limit) if item[1] * 100 > limit * item[2]]
        if not over:
            return
        stream, rejected, read = over[0]
        others = f" (and {len(over) - 1:,} more streams)" if len(over) > 1 else ""
        raise ConfigError(
            f"Stream {stream_label(stream)}{others}: {rejected:,} of its {read:,} records were rejected "
            f"({100 * rejected / read:.0f}%), more than Maximum rejected share ({limit}%); the records sent are "
            "checkpointed, so an incremental sync does not read the rejected ones again. Fix the mapping or the "
            "source (the warning above names the reasons), then refresh the stream or re-send the rows kept by "
            "Rejected records storage."
        )

    def _log_summary(self) -> None:
        for warning in self.report.rejected_share_warnings(self._warn_percent):
            logger.warning(warning)
        lines = self.report.summary_lines(dry_run=self.config.dry_run)
        where = self.rejected.summary_line(rejected=self.report.total_rejected)
        for line in lines + ([where] if where else []):
            logger.info(line)

    def _loop(self, lines: Iterable[Any], mapper: RecordMapper) -> None:
        """Route each message: a RECORD to its stream's mapping, then the writer; a STATE to the writer."""
        writer, report, map_for = self.writer, self.report, self._map_for
        assert writer is not None
        for chunk in line_chunks(lines):
            for message in read_messages(chunk, report):
                if message.__class__ is State:
                    writer.add_state(message.message)
                    continue
                stream, data = message
                report.record_read(stream)
                map_record = map_for.get(stream, _UNSEEN)
                if map_record is _UNSEEN:
                    map_record = map_for[stream] = mapper.for_stream(*stream) if stream in self.streams else None
                if map_record is None or data.__class__ is not dict:
                    self._not_mapped(stream, data, known=map_record is not None)
                    continue
                result = map_record(data)
                if result.__class__ is Rejection:
                    writer.reject(stream, None, result.reason, result.message, data)
                    continue
                report.record_mapped(result.event, result.identifiers, result.notes, result.sources)
                if result.__class__ is ConversionEvent:
                    writer.add_event(stream, result.event, result.payload, data)
                else:
                    self._add_routed(stream, result, data)
            writer.flush()  # before the next read, which may wait for the source

    def _add_routed(self, stream: StreamKey, result: ConversionEvent, data: Any) -> None:
        """An event for the row's own rule, or for each of its event's rules: the first element is the record's."""
        assert self.writer is not None and isinstance(result, RoutedEvent)
        event = result.event
        self.writer.add_event(stream, event, result.payload, data, (stream, event, result.rule, False))
        for urn, rule in result.copies:  # each further rule receives the same event
            self.writer.add_event(
                stream, event, {**result.payload, "conversion": urn}, data, (stream, event, rule, True)
            )

    def _not_mapped(self, stream: StreamKey, data: Any, *, known: bool) -> None:
        """A RECORD of a stream not in the catalog (ignored), or whose data is not an object (rejected)."""
        assert self.writer is not None
        if not known:
            where = f" in namespace {stream[0]!r}" if stream[0] is not None else ""
            self.report.record_ignored(
                "unknown_stream", f"stream {stream[1]!r}{where} is not in the configured catalog"
            )
        elif data.__class__ is NotStrictJson:
            self.writer.reject(stream, None, "invalid_json", data.message, {"raw_line": data.text})
        else:
            self.writer.reject(stream, None, "record_not_object", "The record's data is not a JSON object.", data)
