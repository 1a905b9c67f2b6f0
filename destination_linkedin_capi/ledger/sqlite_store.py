"""The sent-events ledger in the request budget's SQLite file, shared by every sync naming that file.

Two tables of its own: `ledger_sent` (key → when LinkedIn accepted it, when the entry expires; epoch ms) and
`ledger_claims` (key → owner, lease end). Each call is one transaction — a claim one `BEGIN IMMEDIATE`, which takes
the write lock first, so two syncs never both claim a key — with a few statements for the whole batch. Expired
entries count as absent; each claim also deletes up to `PURGE_ROWS` of them (found by the index on expiry) and the
claims whose lease ended, so the file stays bounded without a pass over it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from destination_linkedin_capi.budget.base import garbage
from destination_linkedin_capi.budget.sqlite_store import connect
from destination_linkedin_capi.ledger.base import CLAIMED, HELD, KEY_BYTES, SENT, LedgerUnavailable, Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_sent (key BLOB PRIMARY KEY, accepted INTEGER NOT NULL, expires INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_sent_by_expiry ON ledger_sent (expires);
CREATE TABLE IF NOT EXISTS ledger_claims (key BLOB PRIMARY KEY, owner TEXT NOT NULL, lease_end INTEGER NOT NULL)
  WITHOUT ROWID;
"""
#: Expired entries a claim deletes at most: as many as a batch can add, so the purge keeps up with the inflow.
PURGE_ROWS = 5000
#: Keys per `IN (…)` list: well under SQLite's limit on a statement's parameters (32,766).
CHUNK = 5000

UPSERT_CLAIM = (
    "INSERT INTO ledger_claims (key, owner, lease_end) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, lease_end = excluded.lease_end"
)
UPSERT_SENT = (
    "INSERT INTO ledger_sent (key, accepted, expires) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET accepted = excluded.accepted, expires = excluded.expires"
)


class SqliteLedger:
    shared = True

    def __init__(self, path: str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.description = f"SQLite file {path}"
        self._clock = clock
        self._guard = threading.Lock()  # one connection, used by the sync's threads in turn
        self._db: sqlite3.Connection | None = None

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        with self._guard:
            try:
                if self._db is None:
                    self._db = connect(self.path, SCHEMA)
                db = self._db
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as error:
                raise LedgerUnavailable(f"{self.description} failed ({type(error).__name__}: {error})") from None

    def _rows(self, db: sqlite3.Connection, table: str, keys: Sequence[bytes]) -> dict[bytes, tuple[Any, int]]:
        """The rows of `keys` in `table` (key → the two columns after it), each checked to be one the connector wrote."""
        columns = "accepted, expires" if table == "ledger_sent" else "owner, lease_end"
        found: dict[bytes, tuple[Any, int]] = {}
        for start in range(0, len(keys), CHUNK):
            part = keys[start : start + CHUNK]
            marks = ",".join("?" * len(part))
            for key, first, end in db.execute(f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})", part):
                wanted = int if table == "ledger_sent" else str
                if type(first) is not wanted or type(end) is not int or len(key) != KEY_BYTES:
                    raise LedgerUnavailable(str(garbage(self.description, f"table {table}"))) from None
                found[key] = (first, end)
        return found

    @staticmethod
    def _purge(db: sqlite3.Connection, now: int) -> None:
        db.execute(
            "DELETE FROM ledger_sent WHERE key IN (SELECT key FROM ledger_sent WHERE expires <= ? LIMIT ?)",
            (now, PURGE_ROWS),
        )
        db.execute("DELETE FROM ledger_claims WHERE lease_end <= ?", (now,))

    def claim(self, keys: Sequence[bytes], owner: str, lease_ms: int) -> list[Verdict]:
        with self._transaction() as db:
            now = self._now_ms()  # after the write lock: a wait for it must not shorten the lease
            self._purge(db, now)
            sent, claims = self._rows(db, "ledger_sent", keys), self._rows(db, "ledger_claims", keys)
            verdicts, mine = [], []
            for key in keys:
                entry = sent.get(key)
                if entry is not None and entry[1] > now:
                    verdicts.append(Verdict(SENT, int(entry[0])))
                    continue
                held = claims.get(key)
                if held is not None and held[0] != owner and held[1] > now:
                    verdicts.append(Verdict(HELD, held[1]))
                    continue
                mine.append((key, owner, now + lease_ms))
                verdicts.append(Verdict(CLAIMED))
            db.executemany(UPSERT_CLAIM, mine)
        return verdicts

    def confirm(self, keys: Sequence[bytes], expires_ms: Sequence[int], accepted_ms: int) -> None:
        rows = [(key, accepted_ms, expires) for key, expires in zip(keys, expires_ms, strict=True)]
        with self._transaction() as db:
            db.executemany(UPSERT_SENT, rows)
            db.executemany("DELETE FROM ledger_claims WHERE key = ?", ((key,) for key in keys))

    def release(self, keys: Sequence[bytes], owner: str) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM ledger_claims WHERE key = ? AND owner = ?", ((key, owner) for key in keys))

    def seen(self, keys: Sequence[bytes]) -> list[int | None]:
        with self._transaction(write=False) as db:
            now = self._now_ms()
            sent = self._rows(db, "ledger_sent", keys)
        return [int(entry[0]) if (entry := sent.get(key)) and entry[1] > now else None for key in keys]

    def count(self) -> int:
        with self._transaction(write=False) as db:
            return int(
                db.execute("SELECT count(*) FROM ledger_sent WHERE expires > ?", (self._now_ms(),)).fetchone()[0]
            )

    def close(self) -> None:
        with self._guard:
            if self._db is not None:
                self._db.close()
                self._db = None
