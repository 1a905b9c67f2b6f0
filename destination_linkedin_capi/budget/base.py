"""What every request-budget store answers: reserve a request slot, pause the fleet, report use, lock.

A store counts for a *key* (one LinkedIn member's budget) and a *sync key* (one connection's own daily
cap). `reserve` is one atomic step on the store: it refuses when the day is spent or the fleet is
paused, otherwise it books the earliest slot that keeps every sliding window within the limit and
says how long to wait for it. Booking a slot, rather than asking "may I now?" and retrying, makes
waiting syncs queue in order instead of all waking at once when a slot frees (fair shares, no herd).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

WINDOW_MARGIN_SECONDS = 0.05
#: The longest fleet pause a sync writes: its retry waits end within Maximum retry time, at most an hour.
LONGEST_PAUSE_SECONDS = 3600.0
#: The longest wait a store may ask for: the longest pause, plus a minute for a slot booked behind it. A longer
#: one (or a wait that is no number) was not written by the connector: the store is treated as unusable.
LONGEST_WAIT_SECONDS = LONGEST_PAUSE_SECONDS + 60
#: A day counter beyond this, either way, or not a whole number, was not written by the connector (a day's
#: limit is at most 1,000,000; a counter dips below zero only by the few slots released around midnight).
COUNT_LIMIT = 10**9
#: How long a connection counts as running after its last booking: while the store is away, each sync takes a
#: share of the limits by the number of connections the store had seen booking in this time.
SEEN_SECONDS = 600.0


class StoreUnavailable(Exception):
    """The shared store did not answer or refused; `str()` names the store (host:port or path), never a password."""


def garbage(description: str, where: str) -> StoreUnavailable:
    """The store holds, under `where`, a value the connector never writes (by hand, or another program's key)."""
    return StoreUnavailable(
        f"{description} holds a value the connector did not write under {where}; delete it, or give the "
        "connector a key prefix (or file) of its own"
    )


def stored_count(value: object) -> int | None:
    """A day counter as stored, or None when it is not one the connector could have written."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if type(value) is not int or abs(value) > COUNT_LIMIT:
        return None
    return value


@dataclass(frozen=True)
class Limits:
    per_window: int
    window_seconds: float
    per_day: int
    sync_per_day: int | None = None

    @property
    def window_with_margin(self) -> float:
        """The window plus a margin, so requests that arrive closer together than they were sent (network
        jitter, a sync descheduled between booking its slot and sending) never put `per_window + 1` into one of
        LinkedIn's windows: 1% of it (0.6 s of LinkedIn's minute), at least 50 ms."""
        return self.window_seconds + max(WINDOW_MARGIN_SECONDS, self.window_seconds * 0.01)


@dataclass(frozen=True)
class Grant:
    """A store's answer. `granted`: a slot is booked `wait` seconds from now. Not granted: `exhausted` names
    the spent day ("member" or "sync"), or else the fleet is paused and the caller tries again after `wait`."""

    granted: bool
    wait: float = 0.0
    used_today: int = 0
    sync_used_today: int = 0
    exhausted: str | None = None
    #: The booked slot's name in the store, to `release` it when the sync wakes too late to use it.
    booking: str | None = None
    #: How many connections of the member booked in the last SEEN_SECONDS, this one included (0: not known).
    syncs_seen: int = 0


@dataclass(frozen=True)
class Usage:
    in_window: int
    used_today: int
    paused_until: float = 0.0


def refusal(paused_until: float, used: int, sync_used: int, limits: Limits, now: float) -> Grant | None:
    """What `reserve` answers without booking, in this order: the fleet is paused (wait), the member's day is spent,
    this connection's day is spent. None: a slot may be booked. (The Redis store says the same in its Lua script.)"""
    if paused_until > now:
        return Grant(False, wait=paused_until - now)
    if used >= limits.per_day:
        return Grant(False, used_today=used, sync_used_today=sync_used, exhausted="member")
    if limits.sync_per_day is not None and sync_used >= limits.sync_per_day:
        return Grant(False, used_today=used, sync_used_today=sync_used, exhausted="sync")
    return None


def utc_day(now: float) -> str:
    """The UTC calendar day of `now`, e.g. 2026-12-01: LinkedIn's daily quotas reset at midnight UTC."""
    return dt.datetime.fromtimestamp(now, tz=dt.timezone.utc).strftime("%Y-%m-%d")


def next_utc_midnight(now: float) -> float:
    """Epoch seconds of the midnight UTC after `now`."""
    day = dt.datetime.fromtimestamp(now, tz=dt.timezone.utc).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc).timestamp()


class BudgetStore(Protocol):
    """One of `ProcessStore` (this sync alone), `SqliteStore` (one host) and `RedisStore` (a fleet)."""

    #: "this process", "SQLite file /path" or "Redis at host:port": for logs and `check`, never a secret.
    description: str
    #: False for the process store: nothing is shared, so there is nothing to lose or rejoin.
    shared: bool

    def reserve(self, key: str, sync_key: str, limits: Limits, now: float) -> Grant: ...

    def pause(self, key: str, seconds: float, now: float) -> None:
        """Every sync of `key` waits `seconds` from now before its next request."""

    def paused_until(self, key: str, now: float) -> float: ...

    def release(self, key: str, sync_key: str, booking: str, now: float) -> None:
        """Forget a booked slot that will not be used (no request will arrive for it), and its count in the day."""

    def usage(self, key: str, limits: Limits, now: float) -> Usage: ...

    def add_used(self, key: str, sync_key: str, count: int, now: float, ages: Sequence[float] = ()) -> None:
        """Add requests sent without the store (while it was unreachable) to today's counts, and those of them sent
        `ages` seconds ago to the window, so that the syncs sharing the store leave room for them."""

    def lock(self, name: str, lease_seconds: float, wait_seconds: float) -> contextlib.AbstractContextManager[bool]:
        """Hold the named lock (True), or give up after `wait_seconds` (False). The lease ends by itself after
        `lease_seconds`, so a killed holder never blocks the others."""

    def ping(self) -> None: ...

    def close(self) -> None: ...


@contextlib.contextmanager
def no_lock() -> Iterator[bool]:
    """The process store's lock: nothing else shares it, so there is nobody to exclude."""
    yield False


def poll(take: Callable[[], bool], wait_seconds: float) -> bool:
    """Call `take` until it succeeds (True) or `wait_seconds` have passed (False), pausing 50-150 ms between
    tries: jittered, so waiters do not retry in step."""
    deadline = time.monotonic() + wait_seconds
    while not take():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05 + random.random() * 0.1)
    return True


@contextlib.contextmanager
def leased_lock(acquire: Callable[[str], bool], release: Callable[[str], None]) -> Iterator[bool]:
    """The shared stores' `lock`: `acquire(holder)` takes the lock for a fresh holder ID (or gives up), and
    `release(holder)` frees it only if that holder still has it. A store gone away by then is ignored: the
    lease ends by itself."""
    holder = uuid.uuid4().hex
    if not acquire(holder):
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(StoreUnavailable):
            release(holder)
