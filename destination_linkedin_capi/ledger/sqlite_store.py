"""The sent-events ledger in the request budget's SQLite file, shared by every sync naming that file.

Two tables of its own: `ledger_sent` (key → when LinkedIn accepted it, when the entry expires; epoch ms) and
`ledger_claims` (key → owner, lease end). Each call is one transaction — a claim one `BEGIN IMMEDIATE`, which takes
the write lock first, so two syncs never both claim a key — with a few statements for the whole batch. Expired
entries count as absent; each claim also deletes up to `PURGE_ROWS` of them (found by the index on expiry) and the
claims whose lease ended, so the file stays bounded without a pass over it. Times are this host's clock (syncs
sharing a file share a host or a volume); a lease ending implausibly far ahead is taken over (`LONGEST_LEASE_MS`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from destination_linkedin_capi.budget.base import garbage
from destination_linkedin_capi.budget.sqlite_store import connect, transaction
from destination_linkedin_capi.ledger.base import CLAIMED_VERDICT, HELD, SENT, LedgerUnavailable, Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_sent (key BLOB PRIMARY KEY, accepted INTEGER NOT NULL, expires INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_sent_by_expiry ON ledger_sent (expires);
CREATE TABLE IF NOT EXISTS ledger_claims (key BLOB PRIMARY KEY, owner TEXT NOT NULL, lease_end INTEGER NOT NULL)
  WITHOUT ROWID;
"""
#: Longer than any lease a sync asks for (Maximum retry time, at most an hour, plus the read timeout, at most ten
#: minutes). A claim ending later than this from now was written by a clock since stepped back (or one ahead of
#: this host's): it is taken over rather than waited for.
LONGEST_LEASE_MS = 2 * 3600 * 1000
#: Expired entries a claim deletes at most: as many as a batch can add, so the purge keeps up with the inflow.
PURGE_ROWS = 5000

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
                with transaction(self._db, write) as db:
                    yield db
            except sqlite3.Error as error:
                raise LedgerUnavailable(f"{self.description} failed ({type(error).__name__}: {error})") from None

    def _read(self, db: sqlite3.Connection, keys: Sequence[bytes], claims: bool = True) -> dict[bytes, list[Any]]:
        """key → (accepted, expires, owner, lease end) of `keys` (None where absent), in one statement: the keys go
        to a temporary table joined to the ledger's (faster than `IN (…)` lists; measured in bench/ledger_size.py).
        Each value is checked to be one the connector wrote."""
        db.execute("CREATE TEMP TABLE IF NOT EXISTS ledger_batch (key BLOB PRIMARY KEY) WITHOUT ROWID")
        db.execute("DELETE FROM ledger_batch")
        db.executemany("INSERT OR IGNORE INTO ledger_batch (key) VALUES (?)", ((key,) for key in keys))
        claim_columns = ", c.owner, c.lease_end" if claims else ", NULL, NULL"
        claim_join = " LEFT JOIN ledger_claims c ON c.key = b.key" if claims else ""
        found = {}
        for key, *row in db.execute(
            f"SELECT b.key, s.accepted, s.expires{claim_columns} FROM ledger_batch b "
            f"LEFT JOIN ledger_sent s ON s.key = b.key{claim_join}"
        ):
            accepted, expires, owner, lease_end = row
            if (accepted is not None and (type(accepted) is not int or type(expires) is not int)) or (
                owner is not None and (type(owner) is not str or type(lease_end) is not int)
            ):
                raise self._garbage()
            found[key] = row
        return found

    def _garbage(self) -> LedgerUnavailable:
        return LedgerUnavailable(str(garbage(self.description, "its tables ledger_sent / ledger_claims")))

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
            verdicts, mine = [], []
            found = self._read(db, keys)
            for key in keys:
                accepted, expires, holder, lease_end = found[key]
                if expires is not None and expires > now:
                    verdicts.append(Verdict(SENT, accepted))
                elif holder is not None and holder != owner and now < lease_end <= now + LONGEST_LEASE_MS:
                    verdicts.append(Verdict(HELD, lease_end))
                else:
                    mine.append((key, owner, now + lease_ms))
                    verdicts.append(CLAIMED_VERDICT)
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
            found = self._read(db, keys, claims=False)
        return [row[0] if row[1] is not None and row[1] > now else None for row in (found[key] for key in keys)]

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
