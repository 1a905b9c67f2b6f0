"""Request quotas per member: N per sliding window and M per day, shared by every token of one member
(`Token.quota_key`: the grant a token was minted from, or a seeded token's `member`), as LinkedIn meters them.

The window slides (no more than N requests in any `window_seconds` span), which is stricter
than a fixed minute: a client that keeps it also keeps LinkedIn's. The day is a fixed UTC day
(`day_seconds` buckets counted from the epoch), because LinkedIn's quotas reset at midnight UTC.
Only admitted requests count; a 429 does not use up quota.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable


class Quotas:
    """Admit or refuse one request for a member (its quota key); `None` limits mean unlimited."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        per_window: int | None,
        per_day: int | None,
        window_seconds: float,
        day_seconds: float,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}
        self._days: dict[str, tuple[int, int]] = {}  # member → (day number, requests that day)
        self.configure(per_window=per_window, per_day=per_day, window_seconds=window_seconds, day_seconds=day_seconds)

    def configure(
        self, *, per_window: int | None, per_day: int | None, window_seconds: float, day_seconds: float
    ) -> None:
        """Change the limits at run time; counts already made are kept."""
        for name, value in (("per_window", per_window), ("per_day", per_day)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None (unlimited)")
        if window_seconds <= 0 or day_seconds <= 0:
            raise ValueError("window_seconds and day_seconds must be > 0")
        with self._lock:
            self.per_window, self.per_day = per_window, per_day
            self.window_seconds, self.day_seconds = window_seconds, day_seconds

    def admit(self, token: str) -> bool:
        """Count the request and return True, or return False when a quota is used up."""
        now = self._clock()
        with self._lock:
            recent = self._recent.setdefault(token, deque())
            horizon = now - self.window_seconds
            while recent and recent[0] <= horizon:
                recent.popleft()
            if self.per_window is not None and len(recent) >= self.per_window:
                return False
            day = int(now // self.day_seconds)
            day_seen, used = self._days.get(token, (day, 0))
            if day_seen != day:
                used = 0
            if self.per_day is not None and used >= self.per_day:
                return False
            recent.append(now)
            self._days[token] = (day, used + 1)
            return True
