"""One `write`: builds the object graph from the config, runs the input loop, turns failures into Airbyte errors.

Input lines stay plain dicts (orjson); STATE messages are kept raw so platform fields such as `id`
survive, and are re-emitted unchanged but for `destinationStats`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import orjson
from airbyte_cdk.utils.traced_exception import AirbyteTracedException, FailureType

from destination_linkedin_capi.auth import TokenProvider, make_token_provider
from destination_linkedin_capi.budget.setup import make_budget
from destination_linkedin_capi.check import token_rejected, version_warning
from destination_linkedin_capi.client import LinkedInClient
from destination_linkedin_capi.config import ConnectorConfig
from destination_linkedin_capi.errors import (
    AuthenticationError,
    ConfigError,
    ConnectorError,
    DailyBudgetExhaustedError,
    ForbiddenError,
    LinkedInApiError,
    RetriesExhaustedError,
    TransportError,
    VersionSunsetError,
)
from destination_linkedin_capi.mapping import RecordMapper, Rejection, StreamInfo
from destination_linkedin_capi.report import StreamKey, SyncReport
from destination_linkedin_capi.rules import resolve_rules
from destination_linkedin_capi.throttle import RequestBudget
from destination_linkedin_capi.writer import BatchWriter

logger = logging.getLogger("airbyte")

EXAMPLE_CHARS = 80
# During a write, the collector's default first threshold (700 allocations) and its rescans of the
# start-up objects (CDK, pydantic, pycountry: ~100k) cost about a third of the run, although the
# hot path makes no reference cycles; see docs/performance.md.
GC_THRESHOLDS = (100_000, 50, 100)


def _example(line: bytes | str) -> str:
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.strip()
    return repr(text[:EXAMPLE_CHARS] + ("…" if len(text) > EXAMPLE_CHARS else ""))


class _NotStrictJson:
    """The data of a RECORD whose line is not strict JSON (see `WriteSession._salvage`): rejected, never sent."""

    __slots__ = ("message",)

    def __init__(self, line: bytes | str) -> None:
        self.message = (
            "The record's line is not strict JSON (it holds NaN, Infinity, a number too large for JSON, a lone "
            f"surrogate or bytes that are not UTF-8), so its values cannot be read exactly: {_example(line)}"
        )


def _descriptor_key(state: dict[str, Any]) -> StreamKey | None:
    """The stream a STREAM state is for; None when its descriptor is unreadable (the state then counts no records)."""
    stream = state.get("stream")
    descriptor = stream.get("stream_descriptor") if type(stream) is dict else None
    if type(descriptor) is not dict:
        return None
    namespace, name = descriptor.get("namespace"), descriptor.get("name")
    if type(name) is not str or (namespace is not None and type(namespace) is not str):
        return None
    return (namespace, name)


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


def read_catalog(path: str) -> dict[StreamKey, StreamInfo]:
    """The configured streams, read from the raw JSON so fields the CDK drops (destination_object_name) survive."""
    try:
        with open(path, "rb") as handle:
            catalog = orjson.loads(handle.read())
        streams = {}
        for configured in catalog["streams"]:
            stream = configured["stream"]
            key = (stream.get("namespace"), stream["name"])
            primary_key = tuple(
                tuple(part) for part in configured.get("primary_key") or stream.get("source_defined_primary_key") or ()
            )
            streams[key] = StreamInfo(
                primary_key=primary_key, destination_object_name=configured.get("destination_object_name")
            )
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise ConfigError(f"The configured catalog {path} could not be read ({type(error).__name__}).") from None
    return streams


def failure_of(error: BaseException, config: ConnectorConfig) -> AirbyteTracedException:
    """The user-facing sentence and failure type for an error that ends the sync."""
    if isinstance(error, AuthenticationError):
        return AirbyteTracedException(message=token_rejected(config, error.code), failure_type=FailureType.config_error)
    if isinstance(error, ForbiddenError):
        rules = ", ".join(f"{event.name}" for event in config.events.values())
        message = (
            f"LinkedIn refused access (HTTP 403: {error.message}) to ad account {config.account_id} or the conversion "
            f"rules of {rules}. The token's member needs an Account Manager (or higher) role on that account, and the "
            "rules must belong to it."
        )
        return AirbyteTracedException(message=message, failure_type=FailureType.config_error)
    if isinstance(error, VersionSunsetError):
        message = (
            f"LinkedIn no longer serves API version {config.api_version} (HTTP 426, version sunset). Set 'LinkedIn API "
            "version' (api_version) in the connection's advanced settings to a current YYYYMM version, or upgrade "
            "the connector."
        )
        return AirbyteTracedException(message=message, failure_type=FailureType.config_error)
    if isinstance(error, (RetriesExhaustedError, TransportError, DailyBudgetExhaustedError)):
        return AirbyteTracedException(message=str(error), failure_type=FailureType.transient_error)
    if isinstance(error, ConfigError):
        return AirbyteTracedException(message=str(error), failure_type=FailureType.config_error)
    if isinstance(error, LinkedInApiError):
        return AirbyteTracedException(
            message=f"LinkedIn answered HTTP {error.status}: {error.message}", failure_type=FailureType.system_error
        )
    if isinstance(error, ConnectorError):
        return AirbyteTracedException(message=str(error), failure_type=FailureType.system_error)
    return AirbyteTracedException.from_exception(error)


class WriteSession:
    """Reads the message stream and routes RECORDs to the mapper and STATEs to the writer."""

    def __init__(
        self,
        config: ConnectorConfig,
        streams: Mapping[StreamKey, StreamInfo],
        emit: Callable[[dict[str, Any]], None],
        *,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.config = config
        self.streams = streams
        self.report = SyncReport(event_names={key: event.name for key, event in config.events.items()})
        self.tokens: TokenProvider | None = None
        self.budget: RequestBudget | None = None
        self.client: LinkedInClient | None = None
        if not config.dry_run:
            self.tokens = make_token_provider(config)
            self.budget = make_budget(config)
            self.client = LinkedInClient(
                config.api_base_url,
                config.api_version,
                self.tokens,
                self.budget,
                max_retry_seconds=config.max_retry_seconds,
                read_timeout=config.read_timeout_seconds,
            )
        self._emit = emit
        self._now_ms = now_ms
        self._since_state: dict[StreamKey, int] = {}
        self._read_at_global = 0  # records read when the last GLOBAL/LEGACY state arrived
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

    def run(self, messages: Iterable[Any], *, raw_lines: bool = True) -> SyncReport:
        """Process the whole input; raise AirbyteTracedException when the sync must fail."""
        warning = version_warning(self.config.api_version, dt.date.today())
        if warning:
            logger.warning(warning)
        try:
            mapper = RecordMapper(self.config, self._rule_ids(), self.streams, now_ms=self._now_ms)
            self.writer = BatchWriter(
                send=self.client.send_events if self.client else None,
                report=self.report,
                emit=self._emit,
                batch_size=self.config.batch_size,
                max_age=self.config.batch_max_age_seconds,
                fail_on_rejection=self.config.invalid_record_policy == "fail",
                progress=self._progress,
            )
            with _write_gc():
                self._loop(messages, mapper, raw_lines)
            self.writer.finish()
        except BaseException as error:
            if self.writer is not None:
                self.writer.fatal = self.writer.fatal or error
                with contextlib.suppress(BaseException):  # the first error is the one to report
                    self.writer.finish()
            self._log_summary()
            if isinstance(error, AirbyteTracedException):
                raise
            raise failure_of(error, self.config) from error
        self._log_summary()
        return self.report

    def _log_summary(self) -> None:
        for line in self.report.summary_lines(dry_run=self.config.dry_run):
            logger.info(line)

    def _loop(self, messages: Iterable[Any], mapper: RecordMapper, raw_lines: bool) -> None:
        report = self.report
        writer = self.writer
        assert writer is not None
        streams = self.streams
        since_state = self._since_state
        read = report.read
        mapped = report.mapped
        add_event = writer.add_event
        map_record = mapper.map
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        for item in messages:
            if raw_lines:
                try:
                    message = loads(item)
                except decode_error as error:
                    message = self._salvage(item, error)
                    if message is None:
                        continue
            else:
                message = item
            if type(message) is not dict:  # the example is the line as read: deep JSON cannot be serialised again
                report.record_ignored(
                    "not_a_message", _example(item) if raw_lines else "a message that is not an object"
                )
                continue
            kind = message.get("type")
            if kind == "RECORD":
                record = message.get("record")
                if type(record) is not dict or type(record.get("stream")) is not str:
                    report.record_ignored("not_a_message", "a RECORD without a record.stream")
                    continue
                namespace = record.get("namespace")
                if namespace is not None and type(namespace) is not str:
                    report.record_ignored("not_a_message", "a RECORD whose record.namespace is not text")
                    continue
                key = (namespace, record["stream"])
                read[key] += 1  # report.record_read, inlined: this loop runs once per record
                since_state[key] = since_state.get(key, 0) + 1
                if key not in streams:
                    where = f" in namespace {namespace!r}" if namespace is not None else ""
                    report.record_ignored(
                        "unknown_stream", f"stream {key[1]!r}{where} is not in the configured catalog"
                    )
                    continue
                data = record.get("data")
                if type(data) is not dict:
                    if type(data) is _NotStrictJson:
                        writer.reject(key, None, "invalid_json", data.message)
                    else:
                        writer.reject(key, None, "record_not_object", "The record's data is not a JSON object.")
                    continue
                result = map_record(key[1], key[0], data)
                if type(result) is Rejection:
                    writer.reject(key, None, result.reason, result.message)
                else:
                    mapped[(result.event, result.identifiers, result.notes)] += 1  # report.record_mapped
                    add_event(key, result.event, result.payload)
            elif kind == "STATE":
                self._state(message)
            elif kind in ("TRACE", "LOG", "CONTROL"):
                continue
            elif kind is None or type(kind) is str:
                report.record_ignored("not_a_message", f"a message of type {kind!r}")
            else:
                report.record_ignored("not_a_message", "a message whose type is not text")

    def _salvage(self, line: bytes | str, error: orjson.JSONDecodeError) -> dict[str, Any] | None:
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
            self.report.record_ignored("non_json_line", _example(line))
            return None
        if message["type"] == "STATE":
            self.report.record_ignored(
                "invalid_state",
                "a STATE line that is not strict JSON (NaN, Infinity or bytes that are not UTF-8); it cannot be "
                f"echoed unchanged: {_example(line)}",
            )
            return None
        record = message.get("record")
        if type(record) is dict:
            for name in ("stream", "namespace"):  # a lone surrogate (\ud800) cannot be written to the log
                if type(record.get(name)) is str:
                    record[name] = record[name].encode("utf-8", "replace").decode()
            record["data"] = _NotStrictJson(line)
        return message

    def _state(self, message: dict[str, Any]) -> None:
        assert self.writer is not None
        state = message.get("state")
        if type(state) is not dict:  # nothing to add destinationStats to: echoed as received, after its records
            self.writer.add_state(message)
            return
        if state.get("type") == "STREAM":
            count = self._since_state.pop(_descriptor_key(state), 0)
        else:  # GLOBAL, or LEGACY: covers every stream
            read = self.report.total_read
            count = read - self._read_at_global
            self._read_at_global = read
            self._since_state.clear()
        state["destinationStats"] = {"recordCount": float(count)}
        self.writer.add_state(message)
