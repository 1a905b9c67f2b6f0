"""The retry policy and the one retry loop every caller uses: LinkedIn's API (`client`), the token issuers
(`auth`) and the elements LinkedIn could not record inside a 200 (`write.delivery`).

Exponential backoff with full jitter (a random pause between 0 and `base · 2^n`, capped), a `Retry-After`
the server sends is honoured instead, and retrying stops at a deadline (`max_seconds` since the first
attempt) or after `max_attempts`. The policy also carries the connect/read timeouts of each attempt.

Why not urllib3's `Retry` on the adapter, or tenacity: each attempt at LinkedIn must first take a slot of
the shared request budget and a current token, and a 401 gets one token refresh, which is not a retry;
an adapter-level retry would bypass both, and a decorator library would still need all of it written
around it. What a library does well here, reading `Retry-After` (seconds or an HTTP date), is urllib3's.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

CONNECT_TIMEOUT = 10.0
#: The shortest timeout an attempt gets when the deadline bounds it (an attempt of 0 s could never succeed).
MIN_ATTEMPT_SECONDS = 1.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0

T = TypeVar("T")


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header as seconds to wait (it may be a number of seconds or an HTTP date); None when
    absent or unreadable."""
    if value is None:
        return None
    try:
        return max(0.0, float(Retry().parse_retry_after(value.strip())))
    except (InvalidHeader, ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """How one logical request is retried; `attempts()` starts the bookkeeping of one request."""

    max_seconds: float = 600.0
    max_attempts: int | None = None
    base: float = BACKOFF_BASE
    cap: float = BACKOFF_CAP
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = 60.0
    #: True: no attempt may wait past the deadline either (`check`, which promises an answer within it); a
    #: sync's attempts keep their full timeouts, as a slow answer from LinkedIn is still an answer.
    deadline_bounds_attempts: bool = False

    @property
    def timeout(self) -> tuple[float, float]:
        """`(connect, read)` seconds, as `requests` takes them."""
        return (self.connect_timeout, self.read_timeout)

    def backoff(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """The pause before retry number `retry` (1, 2, …) without `Retry-After`: full jitter below the cap."""
        return rng() * min(self.cap, self.base * 2**retry)

    def once(self) -> RetryPolicy:
        """The same timeouts, no retry (for non-idempotent requests whose outcome must be looked up first)."""
        return dataclasses.replace(self, max_seconds=0.0, max_attempts=1, deadline_bounds_attempts=False)

    def attempts(
        self, *, clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random
    ) -> Attempts:
        return Attempts(self, clock, rng)


class Attempts:
    """The retries of one logical request: after each failed attempt, `next_wait` says how long to pause, or
    None when the policy gives up."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float], rng: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self._rng = rng
        self.started = clock()
        self.count = 0  # attempts that failed so far
        self.refused_wait: float | None = None  # the pause that would have passed the deadline, once given up

    @property
    def elapsed(self) -> float:
        return self._clock() - self.started

    @property
    def timeout(self) -> tuple[float, float]:
        """`(connect, read)` seconds for the next attempt: the policy's, cut to the time left before the deadline
        when the policy says so (then a hanging server costs the deadline, not a whole read timeout more)."""
        policy = self.policy
        if not policy.deadline_bounds_attempts:
            return policy.timeout
        left = max(policy.max_seconds - self.elapsed, MIN_ATTEMPT_SECONDS)
        return (min(policy.connect_timeout, left), min(policy.read_timeout, left))

    def next_wait(self, retry_after: float | None = None) -> float | None:
        """Count a failed attempt; the pause before the next one, or None when it would pass the deadline or the
        attempt limit. A server's `retry_after` replaces the backoff (it is not capped: the deadline bounds it)."""
        self.count += 1
        policy = self.policy
        if policy.max_attempts is not None and self.count >= policy.max_attempts:
            return None
        wait = retry_after if retry_after is not None else policy.backoff(self.count, self._rng)
        if self.elapsed + wait > policy.max_seconds:
            self.refused_wait = wait
            return None
        return wait

    def gave_up(self) -> str:
        """Why `next_wait` said None, true to the numbers: "1 attempt", and a deadline not yet reached is not called
        reached (a pause of 3 s after 1 s of a 4 s limit would end past it)."""
        tried = plural(self.count, "attempt")
        if self.refused_wait is None:
            return f"gave up after {tried}, the most this request may take"
        limit = self.policy.max_seconds
        if self.elapsed >= limit:
            return f"gave up after {tried}: the retry time limit of {limit:.0f} s had passed"
        return (
            f"gave up after {tried}: the next retry, due in {self.refused_wait:.0f} s, would have passed the retry "
            f"time limit of {limit:.0f} s"
        )


def plural(count: int, noun: str) -> str:
    """`1 attempt`, `2 attempts`."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class Retryable:
    """An attempt worth making again: what went wrong (for the log and the giving-up sentence), the pause the
    server asked for, and the error to chain to the giving-up error."""

    reason: str
    retry_after: float | None = None
    error: Exception | None = None


def retry_loop(
    policy: RetryPolicy,
    attempt: Callable[[Attempts], T | Retryable],
    *,
    announce: Callable[[Retryable, Attempts, float], None],
    give_up: Callable[[Retryable, Attempts], Exception],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
    first: Retryable | None = None,
) -> T:
    """Make `attempt` until it returns something other than `Retryable`, pausing as the policy says; `announce` hears
    of each pause before it, and `give_up` words the error raised once the policy stops. `first`: an attempt
    already made and failed, whose time the deadline does not count."""
    attempts = policy.attempts(clock=clock, rng=rng)
    outcome = first if first is not None else attempt(attempts)
    while isinstance(outcome, Retryable):
        wait = attempts.next_wait(outcome.retry_after)
        if wait is None:
            raise give_up(outcome, attempts) from outcome.error
        announce(outcome, attempts, wait)
        sleep(wait)
        outcome = attempt(attempts)
    return outcome
