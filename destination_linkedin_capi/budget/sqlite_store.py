"""A budget shared by every sync on this host naming the same SQLite file (PyAirbyte, cron, containers
sharing a volume). Each reservation is one `BEGIN IMMEDIATE` transaction, which takes the database's
write lock first, so two processes never both read a free slot; WAL keeps readers out of the writers' way.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from destination_linkedin_capi.budget.base import (
    LONGEST_WAIT_SECONDS,
    SEEN_SECONDS,
    Grant,
    Limits,
    StoreUnavailable,
    Usage,
    garbage,
    leased_lock,
    poll,
    refusal,
    stored_count,
    utc_day,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS slots (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS slots_by_key ON slots (key, at);
CREATE TABLE IF NOT EXISTS days (key TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (key, day));
CREATE TABLE IF NOT EXISTS pauses (key TEXT PRIMARY KEY, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS syncs (key TEXT NOT NULL, sync TEXT NOT NULL, seen REAL NOT NULL, PRIMARY KEY (key, sync));
"""
BUSY_TIMEOUT_SECONDS = 10.0


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or one of its extended codes (Python 3.10 gives only the message)."""
    code = getattr(error, "sqlite_errorcode", None)
    return (code & 0xFF) == 5 if code is not None else str(error) == "database is locked"


def _use_wal(db: sqlite3.Connection, sleep: Callable[[float], None]) -> None:
    """Switch the file to WAL. While another connection holds a lock on a file not yet in WAL mode (several
    syncs opening a new budget file together), SQLite answers the switch with SQLITE_BUSY at once instead of
    waiting in its busy handler, which could deadlock there (sqlite.org/c3ref/busy_handler.html): wait here,
    as the busy handler would, rather than report the store unreachable and send on a local budget."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() >= deadline:
                raise
        sleep(0.001 + random.random() * 0.01)  # the other connection's switch or schema takes ~1 ms


def connect(path: str, schema: str, *, sleep: Callable[[float], None] = time.sleep) -> sqlite3.Connection:
    """A connection to the store's file (the request budget's, shared by the sent-events ledger) in WAL mode with a
    bounded busy wait, its `schema` created (`;`-separated statements) in one write transaction. Raises
    sqlite3.Error; the caller names the file."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    try:
        _use_wal(db, sleep)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("BEGIN IMMEDIATE")
        for statement in schema.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("COMMIT")
    except sqlite3.Error:
        db.close()
        raise
    return db


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, write: bool) -> Iterator[sqlite3.Connection]:
    """A write transaction takes the write lock first (BEGIN IMMEDIATE); a read one never waits for it (WAL).
    Committed at the end, rolled back on any exception."""
    db.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SqliteStore:
    shared = True

    def __init__(self, path: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self.description = f"SQLite file {path}"
        self._guard = threading.Lock()  # one connection, used by the sync's threads in turn
        self._db: sqlite3.Connection | None = None
        self._sleep = sleep

    def _open(self) -> sqlite3.Connection:
        """Connect and create the tables on first use (not in __init__, so a missing file is reported, not raised)."""
        return connect(self.path, SCHEMA, sleep=self._sleep)

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        with self._guard:
            try:
                if self._db is None:
                    self._db = self._open()
                with transaction(self._db, write) as db:
                    yield db
            except sqlite3.Error as error:
                raise StoreUnavailable(f"{self.description} failed ({type(error).__name__}: {error})") from None
            except (TypeError, ValueError, OverflowError):  # a value of the wrong type where the connector reads one
                raise garbage(self.description, "its tables") from None

    def _used(self, db: sqlite3.Connection, key: str, day: str) -> int:
        row = db.execute("SELECT used FROM days WHERE key = ? AND day = ?", (key, day)).fetchone()
        used = stored_count(row[0]) if row else 0
        if used is None:
            raise garbage(self.description, f"days ({key}, {day})")
        return used

    def _count(self, db: sqlite3.Connection, key: str, day: str, count: int) -> int:
        self._used(db, key, day)  # never add to a value the connector did not write
        db.execute(
            "INSERT INTO days (key, day, used) VALUES (?, ?, ?) ON CONFLICT (key, day) DO UPDATE SET used = used + ?",
            (key, day, count, count),
        )
        return self._used(db, key, day)

    def _pause_end(self, db: sqlite3.Connection, key: str, now: float) -> float:
        """When the fleet's pause ends (0: none). One ending later than the longest pause from now was written
        before the clock was stepped back: ignored, as waiting for it would stall the sync by the step."""
        row = db.execute("SELECT until FROM pauses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return 0.0
        until = row[0]
        if type(until) not in (int, float) or not math.isfinite(until) or until < 0:
            raise garbage(self.description, f"pauses ({key})")
        return 0.0 if until > now + LONGEST_WAIT_SECONDS else float(until)

    @staticmethod
    def _seen(db: sqlite3.Connection, key: str, sync_key: str, now: float) -> int:
        """Note that `sync_key` books now; how many connections of `key` booked in the last SEEN_SECONDS."""
        db.execute(
            "INSERT INTO syncs (key, sync, seen) VALUES (?, ?, ?) ON CONFLICT (key, sync) DO UPDATE SET seen = ?",
            (key, sync_key, now, now),
        )
        db.execute(
            "DELETE FROM syncs WHERE key = ? AND (seen <= ? OR seen > ?)", (key, now - SEEN_SECONDS, now + SEEN_SECONDS)
        )
        return int(db.execute("SELECT count(*) FROM syncs WHERE key = ?", (key,)).fetchone()[0])

    def reserve(self, key: str, sync_key: str, limits: Limits, now: float) -> Grant:
        asked = time.monotonic()
        with self._transaction() as db:
            # Waiting for the write lock (SQLite's busy handler sleeps up to 100 ms at a time) must not leave
            # `now` stale: a slot booked in the past would be sent late, inside a window booked after it.
            now += time.monotonic() - asked
            window, day = limits.window_with_margin, utc_day(now)
            used, sync_used = self._used(db, key, day), self._used(db, sync_key, day)
            refused = refusal(self._pause_end(db, key, now), used, sync_used, limits, now)
            if refused is not None:
                return refused
            # Bookings more than a window ahead were made before the clock was stepped back (NTP): a sync books at
            # most a window ahead unless more syncs queue than a window holds requests.
            db.execute("DELETE FROM slots WHERE key = ? AND (at <= ? OR at > ?)", (key, now - window, now + window))
            kth = db.execute(
                "SELECT at FROM slots WHERE key = ? ORDER BY at DESC LIMIT 1 OFFSET ?", (key, limits.per_window - 1)
            ).fetchone()
            slot = max(now, kth[0] + window) if kth else now
            booking = db.execute("INSERT INTO slots (key, at) VALUES (?, ?)", (key, slot)).lastrowid
            used, sync_used = self._count(db, key, day, 1), self._count(db, sync_key, day, 1)
            seen = self._seen(db, key, sync_key, now)
            db.execute("DELETE FROM days WHERE day < ?", (utc_day(now - 86400),))
        return Grant(True, slot - now, used, sync_used, booking=str(booking), syncs_seen=seen)

    def release(self, key: str, sync_key: str, booking: str, now: float) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM slots WHERE key = ? AND rowid = ?", (key, int(booking)))
            for name in (key, sync_key):
                self._count(db, name, utc_day(now), -1)

    def pause(self, key: str, seconds: float, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO pauses (key, until) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET until = max(until, ?)",
                (key, now + seconds, now + seconds),
            )

    def paused_until(self, key: str, now: float) -> float:
        with self._transaction(write=False) as db:
            until = self._pause_end(db, key, now)
        return until if until > now else 0.0

    def usage(self, key: str, limits: Limits, now: float) -> Usage:
        window = limits.window_with_margin
        with self._transaction(write=False) as db:
            (in_window,) = db.execute(
                "SELECT count(*) FROM slots WHERE key = ? AND at > ? AND at <= ?", (key, now - window, now + window)
            ).fetchone()
            used = self._used(db, key, utc_day(now))
        return Usage(int(in_window), used, self.paused_until(key, now))

    def add_used(self, key: str, sync_key: str, count: int, now: float, ages: Sequence[float] = ()) -> None:
        with self._transaction() as db:
            self._pause_end(db, key, now)  # a store holding garbage is not rejoined
            for name in (key, sync_key):
                self._count(db, name, utc_day(now), count)
            db.executemany("INSERT INTO slots (key, at) VALUES (?, ?)", [(key, now - age) for age in ages])

    def _acquire(self, name: str, holder: str, lease_seconds: float, wait_seconds: float) -> bool:
        def take() -> bool:
            now = time.time()
            with self._transaction() as db:  # a lease ending after a full lease from now: the clock was stepped back
                db.execute(
                    "DELETE FROM locks WHERE name = ? AND (expires <= ? OR expires > ?)",
                    (name, now, now + lease_seconds),
                )
                return bool(
                    db.execute(
                        "INSERT INTO locks (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                        (name, holder, now + lease_seconds),
                    ).rowcount
                )

        return poll(take, wait_seconds)

    def _give_back(self, name: str, holder: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, holder))

    def lock(self, name: str, lease_seconds: float, wait_seconds: float) -> contextlib.AbstractContextManager[bool]:
        return leased_lock(
            lambda holder: self._acquire(name, holder, lease_seconds, wait_seconds),
            lambda holder: self._give_back(name, holder),
        )

    def ping(self) -> None:
        with self._transaction(write=False) as db:
            db.execute("SELECT 1")

    def close(self) -> None:
        with self._guard:
            if self._db is not None:
                self._db.close()
                self._db = None


def check_can_create(path: str) -> None:
    """For `check`, when no sync has created the budget file yet: prove SQLite can create one in its directory (WAL
    included) under a name of its own, removed again, so that `check` leaves nothing behind and never deletes a
    file a starting sync may have opened meanwhile. Raises StoreUnavailable naming `path`."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".linkedin-capi-check-", suffix=".sqlite", dir=os.path.dirname(path))
    except OSError as error:
        raise StoreUnavailable(
            f"SQLite file {path} cannot be created ({type(error).__name__}: {error.strerror})"
        ) from None
    os.close(handle)
    store = SqliteStore(probe)
    try:
        store.ping()
    except StoreUnavailable as error:
        raise StoreUnavailable(str(error).replace(probe, path)) from None
    finally:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(probe + suffix)
