"""A budget shared by every sync on this host naming the same SQLite file (PyAirbyte, cron, containers
sharing a volume). Each reservation is one `BEGIN IMMEDIATE` transaction, which takes the database's
write lock first, so two processes never both read a free slot; WAL keeps readers out of the writers' way.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

from destination_linkedin_capi.budget.base import (
    Grant,
    Limits,
    StoreUnavailable,
    Usage,
    leased_lock,
    poll,
    refusal,
    utc_day,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS slots (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS slots_by_key ON slots (key, at);
CREATE TABLE IF NOT EXISTS days (key TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (key, day));
CREATE TABLE IF NOT EXISTS pauses (key TEXT PRIMARY KEY, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
"""
BUSY_TIMEOUT_SECONDS = 10.0


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or one of its extended codes (Python 3.10 gives only the message)."""
    code = getattr(error, "sqlite_errorcode", None)
    return (code & 0xFF) == 5 if code is not None else str(error) == "database is locked"


class SqliteStore:
    shared = True

    def __init__(self, path: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self.description = f"SQLite file {path}"
        self._guard = threading.Lock()  # one connection, used by the sync's threads in turn
        self._db: sqlite3.Connection | None = None
        self._sleep = sleep

    def _use_wal(self, db: sqlite3.Connection) -> None:
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
            self._sleep(0.001 + random.random() * 0.01)  # the other connection's switch or schema takes ~1 ms

    def _open(self) -> sqlite3.Connection:
        """Connect and create the tables on first use (not in __init__, so a missing file is reported, not raised)."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            self._use_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("COMMIT")
        except sqlite3.Error:
            db.close()
            raise
        return db

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction takes the write lock first (BEGIN IMMEDIATE); a read one never waits for it (WAL)."""
        with self._guard:
            try:
                if self._db is None:
                    self._db = self._open()
                db = self._db
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"{self.description} failed ({type(error).__name__}: {error})") from None

    @staticmethod
    def _used(db: sqlite3.Connection, key: str, day: str) -> int:
        row = db.execute("SELECT used FROM days WHERE key = ? AND day = ?", (key, day)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _count(db: sqlite3.Connection, key: str, day: str, count: int) -> int:
        db.execute(
            "INSERT INTO days (key, day, used) VALUES (?, ?, ?) ON CONFLICT (key, day) DO UPDATE SET used = used + ?",
            (key, day, count, count),
        )
        return SqliteStore._used(db, key, day)

    def reserve(self, key: str, sync_key: str, limits: Limits, now: float) -> Grant:
        asked = time.monotonic()
        with self._transaction() as db:
            # Waiting for the write lock (SQLite's busy handler sleeps up to 100 ms at a time) must not leave
            # `now` stale: a slot booked in the past would be sent late, inside a window booked after it.
            now += time.monotonic() - asked
            window, day = limits.window_with_margin, utc_day(now)
            row = db.execute("SELECT until FROM pauses WHERE key = ?", (key,)).fetchone()
            used, sync_used = self._used(db, key, day), self._used(db, sync_key, day)
            refused = refusal(float(row[0]) if row else 0.0, used, sync_used, limits, now)
            if refused is not None:
                return refused
            db.execute("DELETE FROM slots WHERE key = ? AND at <= ?", (key, now - window))
            kth = db.execute(
                "SELECT at FROM slots WHERE key = ? ORDER BY at DESC LIMIT 1 OFFSET ?", (key, limits.per_window - 1)
            ).fetchone()
            slot = max(now, kth[0] + window) if kth else now
            booking = db.execute("INSERT INTO slots (key, at) VALUES (?, ?)", (key, slot)).lastrowid
            used, sync_used = self._count(db, key, day, 1), self._count(db, sync_key, day, 1)
            db.execute("DELETE FROM days WHERE day < ?", (utc_day(now - 86400),))
        return Grant(True, slot - now, used, sync_used, booking=str(booking))

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
            row = db.execute("SELECT until FROM pauses WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row and row[0] > now else 0.0

    def usage(self, key: str, limits: Limits, now: float) -> Usage:
        with self._transaction(write=False) as db:
            (in_window,) = db.execute(
                "SELECT count(*) FROM slots WHERE key = ? AND at > ?", (key, now - limits.window_with_margin)
            ).fetchone()
            used = self._used(db, key, utc_day(now))
        return Usage(int(in_window), used, self.paused_until(key, now))

    def add_used(self, key: str, sync_key: str, count: int, now: float) -> None:
        with self._transaction() as db:
            for name in (key, sync_key):
                self._count(db, name, utc_day(now), count)

    def _acquire(self, name: str, holder: str, lease_seconds: float, wait_seconds: float) -> bool:
        def take() -> bool:
            now = time.time()
            with self._transaction() as db:
                db.execute("DELETE FROM locks WHERE name = ? AND expires <= ?", (name, now))
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
