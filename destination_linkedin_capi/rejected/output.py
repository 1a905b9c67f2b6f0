"""Rejected records, on their way out: written as JSON lines to the configured storage, in parts.

The writer calls `add` for every rejection (the mapping's, on the main thread, and LinkedIn's, on the sender
thread) and `before_states` right before it emits STATEs: pending rows are written first, so a STATE is
never ahead of its rejections. Without storage nothing is kept. Each STATE's `rejectedRecordCount` is
counted by `airbyte/state.py`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from destination_linkedin_capi.config.storage import Storage
from destination_linkedin_capi.rejected.kept import KeptRecords, record_json
from destination_linkedin_capi.rejected.store import SYNC_CALL_SECONDS, Backend, Sleep, backend
from destination_linkedin_capi.report import StreamKey

logger = logging.getLogger("airbyte")

#: Pending rows are written, a part per stream, once they reach this size in all, whatever the STATEs do.
PART_BYTES = 8 * 1024 * 1024
#: A stream, namespace or sync ID longer than this (in UTF-8) is shortened in names: file systems allow 255 bytes.
SEGMENT_BYTES = 96
#: What in a name would reach another folder, hide a file or be unprintable; written %XX.
_ESCAPED = re.compile(r"[%/\\\x00-\x1f\x7f]")
#: An empty name (as opposed to none: no folder); `%E` followed by `M` is no %XX escape, so no name reads so.
EMPTY_SEGMENT = "%EMPTY"


#: A sync ID below this is not taken to name one sync: PyAirbyte passes 1 on every run, while Airbyte's sync
#: (job) IDs count up across all connections of an instance and are this low only on a new one.
UNIQUE_SYNC_ID_FROM = 10


def run_id(now: dt.datetime | None = None) -> str:
    """An ID for this run: sortable and unique."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"run-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def sync_folder(sync_id: Any, now: dt.datetime | None = None) -> str:
    """The `{sync_id}` of a sync's rejected records: Airbyte's sync ID as it is; a run ID when the catalog carries
    none (the CLI); both, `1-run-…`, when the ID may be every run's (below UNIQUE_SYNC_ID_FROM), so that no run's
    rows join another's folder."""
    if sync_id is None:
        return run_id(now)
    if type(sync_id) is int and sync_id < UNIQUE_SYNC_ID_FROM:
        return f"{sync_id}-{run_id(now)}"
    return str(sync_id)


class RejectedOutput:
    """One sync's rejected records, written to the configured storage (when there is one)."""

    def __init__(
        self,
        storage: Storage | None,
        *,
        sync_id: str,
        event_names: dict[str, str] | None = None,
        store: Backend | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.storage = storage
        self._store = store  # made at the first write: building the sync touches no storage
        self._sleep = sleep  # the cancellation's: a storage call in progress ends when the sync is cancelled
        self._sync_id = sync_id
        self._attempt = secrets.token_hex(4)  # in every file name: no attempt of a sync overwrites another's
        self._event_names = event_names or {}  # event key → the name the user configured
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[StreamKey, list[bytes]] = {}
        self._pending_bytes = 0
        self._parts: Counter[StreamKey] = Counter()
        self._written_parts = 0
        self.written_rows = 0
        self.written_files: list[str] = []

    @property
    def keeps_records(self) -> bool:
        """Whether the writer must keep each sent record, in case LinkedIn refuses it."""
        return self.storage is not None

    def kept_records(self) -> KeptRecords:
        """Where the writer keeps a batch's records until LinkedIn has answered it (bounded memory)."""
        return KeptRecords()

    def add(
        self,
        stream: StreamKey,
        event: str | None,
        reason: str,
        message: str,
        record: Any,
    ) -> None:
        """One rejected record (as read, or as `KeptRecords` handed it back), written with the next part of its
        stream."""
        if self.storage is None:
            return
        now = self._clock()
        if type(record) is not orjson.Fragment:
            record = orjson.Fragment(record_json(record))
        row = {
            "stream": stream[1],
            "namespace": stream[0],
            "event": self._event_names.get(event, event) if event is not None else None,
            "reason": reason,
            "message": message,
            "rejected_at": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "record": record,
        }
        line = orjson.dumps(row) + b"\n"
        with self._lock:
            self._pending.setdefault(stream, []).append(line)
            self._pending_bytes += len(line)
            if self._pending_bytes >= PART_BYTES:
                self._write_pending()

    def _write_pending(self) -> None:
        """Caller holds `_lock`."""
        for stream in [key for key, rows in self._pending.items() if rows]:
            self._write_part(stream)

    def before_states(self) -> None:
        """Write every pending row (STATEs are about to be emitted). Raises StorageError when it cannot."""
        if self.storage is None:
            return
        with self._lock:
            self._write_pending()

    def summary_line(self, rejected: int = 0) -> str | None:
        """Where the sync's rejected rows went; without storage, how many were not kept (`rejected`) and how to."""
        if self.storage is None:
            if not rejected:
                return None
            return (
                f"  rejected records: {rejected:,} not kept (Rejected records storage is None); set Rejected records "
                "storage to S3 or Local to keep them for fixing and re-sending."
            )
        if not self.written_rows:
            return f"  rejected records: none to write to {self.storage.describe()}"
        folder = self._folder_url()
        files = len(self.written_files)
        return (
            f"  rejected records: {self.written_rows:,} written to {folder} ({files:,} file{'' if files == 1 else 's'})"
        )

    def _folder_url(self) -> str:
        assert self._store is not None and self.storage is not None
        base = self.storage.prefix + _segment(self._sync_id) + "/"
        return self._store.url(base) if self.storage.path_format.startswith("{sync_id}") else self.storage.describe()

    def _write_part(self, stream: StreamKey) -> None:
        """Caller holds `_lock`."""
        assert self.storage is not None
        if self._store is None:
            self._store = backend(self.storage, seconds=SYNC_CALL_SECONDS, sleep=self._sleep)
        rows = self._pending[stream]
        body = b"".join(rows)
        if self.storage.gzip:
            body = gzip.compress(body, mtime=0)
        key = self._key(stream, self._parts[stream])
        self._store.put(key, body)  # rows stay pending when this raises
        del self._pending[stream]
        self._pending_bytes -= sum(len(row) for row in rows)
        self._parts[stream] += 1
        self._written_parts += 1
        self.written_rows += len(rows)
        self.written_files.append(key)

    def _key(self, stream: StreamKey, part: int) -> str:
        assert self.storage is not None
        now = dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc)
        values = {
            "sync_id": self._sync_id,
            "namespace": stream[0],
            "stream_name": stream[1],
            "year": f"{now:%Y}",
            "month": f"{now:%m}",
            "day": f"{now:%d}",
            "hour": f"{now:%H}",
            "minute": f"{now:%M}",
            "second": f"{now:%S}",
            "millisecond": f"{now.microsecond // 1000:03d}",
            "epoch": str(int(now.timestamp() * 1000)),
            "date": f"{now:%Y_%m_%d}",
            "timestamp": str(int(now.timestamp() * 1000)),
            "part_number": str(part),
            "format_extension": ".jsonl.gz" if self.storage.gzip else ".jsonl",
        }
        segments = {name: _segment(value) for name, value in values.items()}
        path = self.storage.path_format.format(**segments)
        name = self.storage.file_name_format.format(**segments)
        # The attempt and its part count make the name unique, whatever the templates say.
        unique = f"_{self._attempt}-{self._written_parts}"
        extension = values["format_extension"]
        name = name[: -len(extension)] + unique + extension if name.endswith(extension) else name + unique
        parts = [part for part in (path.strip("/") + "/" + name).split("/") if part not in ("", ".")]
        return self.storage.prefix + "/".join(parts)


def _segment(value: str | None) -> str:
    """A name as one path segment, one to one: no two names give the same segment, and none reaches another
    folder. '%', '/', '\\' and control characters are written %XX, '.' and '..' %2E and %2E%2E, an empty name
    `EMPTY_SEGMENT` and none (a stream without namespace) nothing; a long name is cut, with a hash of the whole."""
    if value is None:
        return ""
    if value in ("", ".", ".."):
        return value.replace(".", "%2E") or EMPTY_SEGMENT
    escaped = _ESCAPED.sub(lambda match: f"%{ord(match.group()):02X}", value)
    encoded = escaped.encode("utf-8", "surrogatepass")
    if len(encoded) <= SEGMENT_BYTES:
        return escaped
    digest = hashlib.sha256(encoded).hexdigest()[:16]
    head = encoded[: SEGMENT_BYTES - 18].decode("utf-8", "ignore")
    return f"{head}%~{digest}"  # '%~' is no %XX escape: no name short enough to be kept reads so
