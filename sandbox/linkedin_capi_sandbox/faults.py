"""Fault injection: scheduled faults (the next N matching requests) and a random failure rate.

Faults act before anything else, like a failing load balancer or gateway would: a faulted
request is not authenticated, counted against quota, or stored.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

FAULT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class Fault:
    """What to do to one request: wait `delay` s, then drop it, answer `status`, or go on normally."""

    status: int | None
    delay: float = 0.0
    drop: bool = False
    retry_after: float | None = None


@dataclass
class _Scheduled:
    fault: Fault
    count: int
    after: int
    path_prefix: str


@dataclass
class _Rate:
    rate: float
    statuses: tuple[int, ...]
    drop_share: float
    delay: float
    path_prefix: str
    rng: random.Random


def _check_status(status: int | None) -> None:
    if status is not None and status not in FAULT_STATUSES:
        raise ValueError(f"fault status must be one of {sorted(FAULT_STATUSES)}, not {status}")


class FaultPlan:
    """Decides, per request path, whether a fault applies; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scheduled: list[_Scheduled] = []
        self._rate: _Rate | None = None

    def add(
        self,
        status: int | None,
        *,
        count: int,
        after: int,
        path_prefix: str,
        delay: float,
        drop: bool,
        retry_after: float | None,
    ) -> None:
        _check_status(status)
        if count < 1 or after < 0 or delay < 0:
            raise ValueError("count must be >= 1, after >= 0 and delay >= 0")
        if status is None and not drop and delay == 0:
            raise ValueError("a fault needs a status, drop=True or a delay")
        with self._lock:
            self._scheduled.append(_Scheduled(Fault(status, delay, drop, retry_after), count, after, path_prefix))

    def set_rate(
        self,
        rate: float,
        *,
        statuses: tuple[int, ...],
        drop_share: float,
        delay: float,
        seed: int,
        path_prefix: str,
    ) -> None:
        if not 0 <= rate <= 1 or not 0 <= drop_share <= 1 or delay < 0:
            raise ValueError("rate and drop_share must be within [0, 1] and delay >= 0")
        for status in statuses:
            _check_status(status)
        if rate > 0 and drop_share < 1 and not statuses:
            raise ValueError("statuses must not be empty")
        with self._lock:
            self._rate = (
                None if rate == 0 else _Rate(rate, tuple(statuses), drop_share, delay, path_prefix, random.Random(seed))
            )

    def clear(self) -> None:
        with self._lock:
            self._scheduled.clear()
            self._rate = None

    def pick(self, path: str) -> Fault | None:
        """The fault for this request, if any. Every scheduled fault whose prefix matches counts
        the request towards its `after`; the first one past its `after` fires."""
        with self._lock:
            fired: Fault | None = None
            for entry in list(self._scheduled):
                if not path.startswith(entry.path_prefix):
                    continue
                if entry.after > 0:
                    entry.after -= 1
                elif fired is None:
                    fired = entry.fault
                    entry.count -= 1
                    if entry.count == 0:
                        self._scheduled.remove(entry)
            if fired is not None:
                return fired
            rate = self._rate
            if rate is None or not path.startswith(rate.path_prefix) or rate.rng.random() >= rate.rate:
                return None
            if rate.rng.random() < rate.drop_share:
                return Fault(None, rate.delay, drop=True)
            return Fault(rate.rng.choice(rate.statuses), rate.delay)
