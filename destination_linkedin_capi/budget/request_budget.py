"""The request budget: never more than `per_minute` requests in any sliding window, nor `per_day` per UTC day —
counted in a store shared by every sync of one LinkedIn member (budget/), or in this process alone.

LinkedIn meters per member, across all of its tokens (docs/linkedin-facts.md §3), so the limits are the member's
totals; its daily quotas reset at midnight UTC. A shared store that stops answering (or holds values the connector
never writes) never stops the sync: it goes on with a local budget limited to its share of the limits — one part
for each connection the store saw booking lately, and one for a sync starting meanwhile — says so, and rejoins the
store once it is back, adding what it sent meanwhile to the day and its latest requests to the window. Clock and
sleep are injectable so tests can prove the bound without waiting.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable

from destination_linkedin_capi.budget.base import (
    LONGEST_PAUSE_SECONDS,
    LONGEST_WAIT_SECONDS,
    BudgetStore,
    Grant,
    Limits,
    StoreUnavailable,
    Usage,
    next_utc_midnight,
)
from destination_linkedin_capi.budget.process import ProcessStore
from destination_linkedin_capi.errors import DailyBudgetExhaustedError

__all__ = ["RequestBudget", "next_utc_midnight"]

logger = logging.getLogger("airbyte")

#: While the shared store is unreachable, a sync that never reached it takes this share of the limits (as if three
#: other connections were running); one that did takes 1 / (connections the store saw booking + 1).
FALLBACK_SHARE = 0.25
#: How often a sync on its local budget tries the shared store again (at most; at least once a window).
REJOIN_SECONDS = 15.0
#: A wait for a request slot longer than this is said in one line: a throttled sync is waiting, not stuck.
WAIT_NOTICE_SECONDS = 10.0


class RequestBudget:
    """Blocks until one more request fits; raises `DailyBudgetExhaustedError` once today's budget is spent."""

    def __init__(
        self,
        per_minute: int,
        per_day: int,
        *,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        store: BudgetStore | None = None,
        key: str = "this-sync",
        sync_key: str | None = None,
        sync_per_day: int | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self.window_seconds = window_seconds
        self.limits = Limits(per_minute, window_seconds, per_day, sync_per_day)
        self.store: BudgetStore = store or ProcessStore()
        self.key = key
        self.sync_key = sync_key or f"{key}:sync:{uuid.uuid4().hex[:12]}"
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._lock = threading.Lock()
        self._local: ProcessStore | None = None  # the fallback while the shared store is away
        # Kept across outages, so that a store that comes and goes does not give this sync a fresh window each time.
        self._fallback = ProcessStore()
        self._local_day_share = 0
        self._local_limits = self.limits
        self._local_sent = 0
        self._local_times: deque[float] = deque()  # the latest requests sent on the local budget
        self._syncs_seen = 0  # connections of the member the store saw booking lately (0: never reached it)
        self._rejoin_at = 0.0
        self.used_today = 0
        self.sync_used_today = 0
        self.outages = 0  # how many times the shared store was lost during this sync

    # -- the shared store, and the local budget while it is away ---------------------------------------

    def _share(self) -> float:
        """This sync's share of the limits while the store is away: syncs that saw the same connections together take
        at most all but one share, leaving that one to a sync that starts meanwhile (which takes FALLBACK_SHARE)."""
        return 1 / (self._syncs_seen + 1) if self._syncs_seen else FALLBACK_SHARE

    def _why_share(self) -> str:
        seen = self._syncs_seen
        if not seen:
            return "it never reached the store"
        return f"{seen} connection{'' if seen == 1 else 's'} booked lately"

    def _lose_store(self, problem: StoreUnavailable, now: float) -> None:
        share = self._share()
        # The fallback's own day counters hold what earlier outages sent (since counted in the store too).
        sent_before = self._fallback.usage(self.key, self.limits, now).used_today
        sync_sent_before = self._fallback.usage(self.sync_key, self.limits, now).used_today
        cap = self.limits.sync_per_day
        sync_left = None if cap is None else sync_sent_before + max(0, cap - self.sync_used_today)
        self._local_day_share = int(max(0, self.per_day - self.used_today) * share)
        self._local_limits = Limits(
            max(1, int(self.per_minute * share)), self.window_seconds, sent_before + self._local_day_share, sync_left
        )
        self._local = self._fallback
        self._local_sent = 0
        self._local_times = deque(maxlen=self._local_limits.per_window)  # no more fit in one window
        self._rejoin_at = now + min(REJOIN_SECONDS, max(1.0, self.window_seconds))
        self.outages += 1
        logger.warning(
            "The request budget store is unreachable: %s. This sync goes on with a local budget of %d requests "
            "per %g s and %s today (%d%% of the shared limits, as %s) and rejoins the store when it answers again.",
            problem,
            self._local_limits.per_window,
            self.window_seconds,
            f"{self._local_day_share:,}",
            int(share * 100),
            self._why_share(),
        )

    def _try_rejoin(self, now: float) -> bool:
        """Share the store again if it answers (and holds nothing the connector never writes); True when it does."""
        window = self.limits.window_with_margin
        ages = [now - sent for sent in self._local_times if now - sent < window]
        try:
            self.store.add_used(self.key, self.sync_key, self._local_sent, now, ages)
        except StoreUnavailable:
            self._rejoin_at = now + min(REJOIN_SECONDS, max(1.0, self.window_seconds))
            return False
        logger.info(
            "The request budget store (%s) answers again; this sync shares its budget again (%d requests sent on "
            "the local budget meanwhile were added to today's count, %d of them to the current window).",
            self.store.description,
            self._local_sent,
            len(ages),
        )
        self._local = None
        return True

    def _from_store(self, now: float) -> Grant:
        """The store's answer, when it is one the connector could have written: a wait that is no number, or longer
        than any pause or queue, means the store holds garbage (or its clock jumped), so it is not waited out."""
        grant = self.store.reserve(self.key, self.sync_key, self.limits, now)
        if not (math.isfinite(grant.wait) and 0 <= grant.wait <= LONGEST_WAIT_SECONDS):
            raise StoreUnavailable(f"{self.store.description} asked for a wait of {grant.wait:g} s, which no sync sets")
        if grant.syncs_seen:
            self._syncs_seen = grant.syncs_seen
        return grant

    def _reserve(self, now: float) -> Grant:
        if self._local is not None and now >= self._rejoin_at:
            self._try_rejoin(now)
        if self._local is None:
            try:
                return self._from_store(now)
            except StoreUnavailable as problem:
                self._lose_store(problem, now)
        assert self._local is not None
        grant = self._local.reserve(self.key, self.sync_key, self._local_limits, now)
        if grant.granted:
            self._local_sent += 1
            self._local_times.append(now)
            return Grant(True, grant.wait, self.used_today + 1, self.sync_used_today + 1)
        if grant.exhausted == "member" and self._try_rejoin(now):  # only this sync's share is spent: ask the store
            try:
                return self._from_store(now)
            except StoreUnavailable as problem:
                self._lose_store(problem, now)
        return grant

    # -- the API the client uses ------------------------------------------------------------------------

    def _exhausted(self, grant: Grant, now: float) -> DailyBudgetExhaustedError:
        day_end = next_utc_midnight(now)
        reset = f"{dt.datetime.fromtimestamp(day_end, tz=dt.timezone.utc):%Y-%m-%d %H:%M}"
        if grant.exhausted == "member" and self._local is not None:
            message = (
                f"This sync's share of the daily request budget while the request budget store is unreachable "
                f"({self._local_day_share:,} requests) is spent. Airbyte retries the sync, which shares the "
                "store's budget again once it answers."
            )
        elif grant.exhausted == "sync":
            message = (
                f"This connection's daily request cap ({self.limits.sync_per_day:,} requests, Requests per day for "
                f"this connection) is spent; it resets at {reset} UTC. The next sync continues where this one stopped."
            )
        elif self.store.shared:
            message = (
                f"The daily request budget ({self.per_day:,} requests, shared by every sync of this LinkedIn member) "
                f"is spent; it resets at {reset} UTC. The next sync continues where this one stopped."
            )
        else:
            message = (
                f"The daily request budget ({self.per_day:,} requests) is spent; it resets at {reset} UTC. The next "
                "sync continues where this one stopped."
            )
        return DailyBudgetExhaustedError(message, day_end)

    def _late(self, slot: float) -> bool:
        """Woken so long after the booked slot (a loaded machine) that the request could arrive inside a window
        the store already filled after it: give the stale slot back and book a fresh one instead."""
        return self._clock() - slot > (self.limits.window_with_margin - self.window_seconds) / 2

    def _release(self, booking: str) -> None:
        """Give back a slot that no request will use, and its count in the day."""
        with contextlib.suppress(StoreUnavailable):
            (self._local or self.store).release(self.key, self.sync_key, booking, self._clock())

    def acquire(self) -> None:
        """Wait for a slot. A store that keeps this sync waiting longer than any pause or queue could (LONGEST_WAIT)
        is given up for the local budget: a sync never waits for ever on values it did not write."""
        rebooked = False
        with self._lock:
            deadline = self._clock() + LONGEST_WAIT_SECONDS
            while True:
                now = self._clock()
                if now > deadline and self._local is None:
                    late = f"{self.store.description} gave no request slot within {LONGEST_WAIT_SECONDS:.0f} s"
                    self._lose_store(StoreUnavailable(late), now)
                grant = self._reserve(now)
                if grant.exhausted:
                    raise self._exhausted(grant, now)
                if grant.granted:
                    self.used_today, self.sync_used_today = grant.used_today, grant.sync_used_today
                    if grant.wait > 0:
                        slot = self._clock() + grant.wait  # the wait counts from the store's answer
                        self._say_wait(grant.wait)
                        self._sleep(grant.wait)
                        if self._late(slot) and not rebooked and grant.booking is not None:
                            rebooked = True  # see _late
                            self._release(grant.booking)
                            continue
                        self._wait_out_pause()
                    return
                # Paused by the fleet, or the local window is full: wait, with a little jitter so that
                # syncs released by the same pause do not all ask again at the same instant.
                self._say_wait(grant.wait)
                self._sleep(max(grant.wait, 0.001) + self._rng() * min(0.1, self.window_seconds * 0.01))

    def _say_wait(self, seconds: float) -> None:
        """One INFO line for a wait longer than WAIT_NOTICE_SECONDS, with the limit that causes it."""
        if seconds <= WAIT_NOTICE_SECONDS:
            return
        limits = self._local_limits if self._local is not None else self.limits
        per = "a minute" if limits.window_seconds == 60 else f"per {limits.window_seconds:g} s"
        shared = ", shared by every sync of this LinkedIn member" if self._local is None and self.store.shared else ""
        requests = f"{limits.per_window} request{'' if limits.per_window == 1 else 's'}"
        logger.info("Waiting %.0f s for the request budget: %s %s%s.", seconds, requests, per, shared)

    def _wait_out_pause(self) -> None:
        """A slot booked ahead may fall into a cool-down another sync started meanwhile: wait that out too."""
        if self._local is not None or not self.store.shared:
            return
        now = self._clock()
        try:
            until = self.store.paused_until(self.key, now)
        except StoreUnavailable:
            return
        if now < until <= now + LONGEST_WAIT_SECONDS:
            self._say_wait(until - now)
            self._sleep(until - now)

    def pause(self, seconds: float) -> None:
        """LinkedIn answered 429 although the budget had room (another tool uses the member's quota): every sync
        sharing the budget waits `seconds` instead of each finding out with its own 429."""
        now = self._clock()
        # When the store is away this sync still waits (the client sleeps); the others meet their own 429.
        with contextlib.suppress(StoreUnavailable):
            (self._local or self.store).pause(self.key, min(seconds, LONGEST_PAUSE_SECONDS), now)

    def usage(self) -> Usage:
        """The member's use (window and today) as the store sees it; raises StoreUnavailable when it cannot say."""
        return self.store.usage(self.key, self.limits, self._clock())

    def used_in_window(self) -> int:
        """Requests sent in the current sliding window (for progress lines). Takes no lock of the budget: `acquire`
        holds it while it waits for a slot, and the progress lines must not wait with it."""
        local = self._local
        store, limits = (local, self._local_limits) if local is not None else (self.store, self.limits)
        try:
            return store.usage(self.key, limits, self._clock()).in_window
        except StoreUnavailable:
            return 0
