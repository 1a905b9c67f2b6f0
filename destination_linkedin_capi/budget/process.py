"""The budget of this sync alone (the default `process` store): pyrate-limiter's in-memory sliding window
plus a UTC-day counter, both forgotten at exit. Also the local fallback while a shared store is away."""

from __future__ import annotations

import bisect
import contextlib
import threading
from collections.abc import Sequence

from pyrate_limiter import Rate, RateItem
from pyrate_limiter.buckets import InMemoryBucket

from destination_linkedin_capi.budget.base import Grant, Limits, Usage, no_lock, refusal, utc_day


class ProcessStore:
    description = "this process"
    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, int, float], InMemoryBucket] = {}
        self._days: dict[str, tuple[str, int]] = {}
        self._pauses: dict[str, float] = {}

    def _bucket(self, key: str, limits: Limits) -> InMemoryBucket:
        shape = (key, limits.per_window, limits.window_seconds)
        if shape not in self._buckets:
            self._buckets[shape] = InMemoryBucket([Rate(limits.per_window, int(limits.window_with_margin * 1000))])
        return self._buckets[shape]

    def _leak(self, bucket: InMemoryBucket, limits: Limits, now: float) -> None:
        """Forget requests older than the window, and those stamped later than a window from now: the clock was
        stepped back since (NTP), and waiting for them would stall the sync by the step."""
        now_ms = int(now * 1000)
        bucket.leak(now_ms)
        horizon = now_ms + int(limits.window_with_margin * 1000)
        while bucket.items and bucket.items[-1].timestamp > horizon:
            bucket.items.pop()

    def _used(self, key: str, now: float) -> int:
        day, used = self._days.get(key, ("", 0))
        return used if day == utc_day(now) else 0

    def reserve(self, key: str, sync_key: str, limits: Limits, now: float) -> Grant:
        with self._lock:
            used, sync_used = self._used(key, now), self._used(sync_key, now)
            refused = refusal(self._pauses.get(key, 0.0), used, sync_used, limits, now)
            if refused is not None:
                return refused
            bucket = self._bucket(key, limits)
            item = RateItem("linkedin", int(now * 1000))
            self._leak(bucket, limits, now)
            if not bucket.put(item):
                return Grant(False, wait=max(bucket.waiting(item), 1) / 1000, used_today=used)
            today = utc_day(now)
            self._days[key] = (today, used + 1)
            if sync_key != key:
                self._days[sync_key] = (today, sync_used + 1)
            return Grant(True, used_today=used + 1, sync_used_today=sync_used + 1)

    def pause(self, key: str, seconds: float, now: float) -> None:
        with self._lock:
            self._pauses[key] = max(now + seconds, self._pauses.get(key, 0.0))

    def release(self, key: str, sync_key: str, booking: str, now: float) -> None:
        return None  # nothing is booked ahead here: a slot is granted only when it is free now

    def paused_until(self, key: str, now: float) -> float:
        with self._lock:
            return self._pauses.get(key, 0.0)

    def usage(self, key: str, limits: Limits, now: float) -> Usage:
        with self._lock:
            bucket = self._bucket(key, limits)
            self._leak(bucket, limits, now)
            return Usage(bucket.count(), self._used(key, now), self._pauses.get(key, 0.0))

    def add_used(self, key: str, sync_key: str, count: int, now: float, ages: Sequence[float] = ()) -> None:
        with self._lock:
            for name in {key, sync_key}:
                self._days[name] = (utc_day(now), self._used(name, now) + count)
            for bucket in (bucket for (name, *_), bucket in self._buckets.items() if name == key):
                for age in ages:
                    item = RateItem("linkedin", int((now - age) * 1000))
                    bisect.insort(bucket.items, item, key=lambda stamped: stamped.timestamp)

    def lock(self, name: str, lease_seconds: float, wait_seconds: float) -> contextlib.AbstractContextManager[bool]:
        return no_lock()

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
