"""The request budget: never more than `per_minute` requests in any sliding window, nor `per_day` per UTC day.

The sliding window is pyrate-limiter's in-memory bucket; the day is a fixed UTC calendar day because
LinkedIn's daily quotas reset at midnight UTC (docs/linkedin-facts.md §3). Clock and sleep are injectable so
tests can prove the bound without waiting.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from pyrate_limiter import Rate, RateItem
from pyrate_limiter.buckets import InMemoryBucket

from destination_linkedin_capi.errors import DailyBudgetExhaustedError


def next_utc_midnight(now: float) -> float:
    """Epoch seconds of the midnight UTC after `now`."""
    day = dt.datetime.fromtimestamp(now, tz=dt.timezone.utc).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc).timestamp()


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
    ) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        # A small margin so requests that arrive closer together than they were sent (network jitter)
        # still never put `per_minute + 1` into one of LinkedIn's windows.
        margin_ms = max(50, int(window_seconds * 10))
        self._bucket = InMemoryBucket([Rate(per_minute, int(window_seconds * 1000) + margin_ms)])
        self._lock = threading.Lock()
        self._day_end = 0.0
        self.used_today = 0

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self._clock()
                if now >= self._day_end:
                    self._day_end = next_utc_midnight(now)
                    self.used_today = 0
                if self.used_today >= self.per_day:
                    reset = dt.datetime.fromtimestamp(self._day_end, tz=dt.timezone.utc)
                    raise DailyBudgetExhaustedError(
                        f"The daily request budget ({self.per_day:,} requests) is spent; it resets at "
                        f"{reset:%Y-%m-%d %H:%M} UTC. The next sync continues where this one stopped.",
                        self._day_end,
                    )
                now_ms = int(now * 1000)
                item = RateItem("linkedin", now_ms)
                self._bucket.leak(now_ms)
                if self._bucket.put(item):
                    self.used_today += 1
                    return
                wait_ms = self._bucket.waiting(item)
                self._sleep(max(wait_ms, 1) / 1000)

    def used_in_window(self) -> int:
        """Requests sent in the current sliding window (for progress lines)."""
        with self._lock:
            now_ms = int(self._clock() * 1000)
            self._bucket.leak(now_ms)
            return self._bucket.count()
