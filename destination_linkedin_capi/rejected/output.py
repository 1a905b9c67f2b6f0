"""Rejected records, on their way out: written as JSON lines to the configured storage, in parts.

The writer calls `add` for every rejection (the mapping's, on the main thread, and LinkedIn's, on the sender
thread) and `before_states` right before it emits STATEs: pending rows are written first, so a STATE is
never ahead of its rejections. Without storage nothing is kept. Each STATE's `rejectedRecordCount` is
counted by `airbyte/state.py`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from destination_linkedin_capi.config.storage import Storage
from destination_linkedin_capi.rejected.store import Backend, backend
from destination_linkedin_capi.report import StreamKey

logger = logging.getLogger("airbyte")

#: A stream's pending rows are written as a part once they reach this size, whatever the STATEs do.
PART_BYTES = 8 * 1024 * 1024


def run_id(now: dt.datetime | None = None) -> str:
    """A sync's folder when the catalog carries no `sync_id` (the CLI, PyAirbyte): sortable and unique."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"run-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _dumps(row: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(row)
    except TypeError:  # a number beyond 64 bits from the in-process path: plain json writes it exactly
        return json.dumps(row, default=str, ensure_ascii=False).encode("utf-8", "replace")


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
    ) -> None:
        self.storage = storage
        self._store = store if store is not None or storage is None else backend(storage)
        self._sync_id = sync_id
        self._event_names = event_names or {}  # event key → the name the user configured
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[StreamKey, list[bytes]] = {}
        self._pending_bytes: Counter[StreamKey] = Counter()
        self._parts: Counter[StreamKey] = Counter()
        self.written_rows = 0
        self.written_files: list[str] = []

    @property
    def keeps_records(self) -> bool:
        """Whether the writer must keep each sent record, in case LinkedIn refuses it."""
        return self.storage is not None

    def add(
        self,
        stream: StreamKey,
        event: str | None,
        reason: str,
        message: str,
        record: Any,
    ) -> None:
        """One rejected record, written with the next part of its stream."""
        if self.storage is None:
            return
        now = self._clock()
        row = {
            "stream": stream[1],
            "namespace": stream[0],
            "event": self._event_names.get(event, event) if event is not None else None,
            "reason": reason,
            "message": message,
            "rejected_at": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "record": record,
        }
        line = _dumps(row) + b"\n"
        with self._lock:
            self._pending.setdefault(stream, []).append(line)
            self._pending_bytes[stream] += len(line)
            if self._pending_bytes[stream] >= PART_BYTES:
                self._write_part(stream)

    def before_states(self) -> None:
        """Write every pending row (STATEs are about to be emitted). Raises StorageError when it cannot."""
        if self.storage is None:
            return
        with self._lock:
            for stream in [key for key, rows in self._pending.items() if rows]:
                self._write_part(stream)

    def summary_line(self) -> str | None:
        if self.storage is None:
            return None
        if not self.written_rows:
            return f"  rejected records: none to write to {self.storage.describe()}"
        folder = self._folder_url()
        files = len(self.written_files)
        return (
            f"  rejected records: {self.written_rows:,} written to {folder} ({files:,} file{'' if files == 1 else 's'})"
        )

    def _folder_url(self) -> str:
        assert self._store is not None and self.storage is not None
        base = self.storage.prefix + self._sync_id + "/"
        return self._store.url(base) if self.storage.path_format.startswith("{sync_id}") else self.storage.describe()

    def _write_part(self, stream: StreamKey) -> None:
        """Caller holds `_lock`."""
        assert self._store is not None and self.storage is not None
        rows = self._pending[stream]
        body = b"".join(rows)
        if self.storage.gzip:
            body = gzip.compress(body, mtime=0)
        key = self._key(stream, self._parts[stream])
        self._store.put(key, body)  # rows stay pending when this raises
        del self._pending[stream]
        self._pending_bytes.pop(stream, None)
        self._parts[stream] += 1
        self.written_rows += len(rows)
        self.written_files.append(key)

    def _key(self, stream: StreamKey, part: int) -> str:
        assert self.storage is not None
        now = dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc)
        values = {
            "sync_id": self._sync_id,
            "namespace": stream[0] or "",
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
        path = self.storage.path_format.format(**{k: _segment(v) for k, v in values.items()})
        name = self.storage.file_name_format.format(**{k: _segment(v) for k, v in values.items()})
        parts = [part for part in (path.strip("/") + "/" + name).split("/") if part]  # no empty namespace folder
        return self.storage.prefix + "/".join(parts)


def _segment(value: str) -> str:
    """A stream or namespace name as one path segment: no '/' (nor '..') reaches another folder."""
    cleaned = value.replace("/", "_").replace("\\", "_")
    return "_" if cleaned in (".", "..") else cleaned
