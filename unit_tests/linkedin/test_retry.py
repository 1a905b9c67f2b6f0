"""The retry policy, deterministic: an injected random source, clock and no real sleeping."""

from __future__ import annotations

import email.utils
import time

import pytest

from destination_linkedin_capi.linkedin.retry import (
    BACKOFF_CAP,
    CONNECT_TIMEOUT,
    Retryable,
    RetryPolicy,
    retry_after_seconds,
    retry_loop,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def waits_until_given_up(policy: RetryPolicy, rng, retry_after=None) -> list[float]:
    """Every pause the policy grants, sleeping on a fake clock, until it gives up."""
    clock = Clock()
    attempts = policy.attempts(clock=clock, rng=rng)
    waits = []
    while (wait := attempts.next_wait(retry_after)) is not None:
        waits.append(wait)
        clock.now += wait
        assert len(waits) < 1000, "the policy never gives up"
    return waits


def test_backoff_doubles_at_the_top_of_the_jitter_range():
    policy = RetryPolicy(max_seconds=30.0)
    assert waits_until_given_up(policy, rng=lambda: 1.0) == [2.0, 4.0, 8.0, 16.0]  # 30 s: 2+4+8+16, not 32 more


def test_full_jitter_scales_the_whole_range():
    policy = RetryPolicy(max_seconds=30.0)
    assert [policy.backoff(n, rng=lambda: 0.25) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert policy.backoff(5, rng=lambda: 0.0) == 0.0  # full jitter reaches down to no pause at all


def test_backoff_is_capped():
    policy = RetryPolicy(max_seconds=1e6)
    assert policy.backoff(30, rng=lambda: 1.0) == BACKOFF_CAP
    assert RetryPolicy(cap=5.0).backoff(10, rng=lambda: 1.0) == 5.0


def test_retry_after_replaces_the_backoff_and_is_bounded_by_the_deadline_only():
    policy = RetryPolicy(max_seconds=250.0)
    assert waits_until_given_up(policy, rng=lambda: 1.0, retry_after=120.0) == [120.0, 120.0]  # 3rd: 360 > 250


def test_the_deadline_counts_time_spent_outside_the_pauses():
    clock = Clock()
    attempts = RetryPolicy(max_seconds=10.0).attempts(clock=clock, rng=lambda: 1.0)
    clock.now += 7.0  # the first attempt itself took 7 s (a slow read): 7 + a 2 s pause still fits
    assert attempts.next_wait() == 2.0
    clock.now += 2.0 + 0.5  # the pause, then a quick second attempt: 9.5 + 4 would pass 10 s
    assert attempts.next_wait() is None
    assert attempts.count == 2 and attempts.elapsed == 9.5


def test_a_zero_time_limit_never_retries():
    assert waits_until_given_up(RetryPolicy(max_seconds=0.0), rng=lambda: 1.0) == []


def test_max_attempts_bounds_the_tries():
    policy = RetryPolicy(max_seconds=1e6, max_attempts=3)
    assert waits_until_given_up(policy, rng=lambda: 1.0) == [2.0, 4.0]  # three attempts, two pauses


def test_once_keeps_the_timeouts_and_allows_no_retry_even_without_a_pause():
    policy = RetryPolicy(max_seconds=600.0, read_timeout=7.0)
    once = policy.once()
    assert once.timeout == (CONNECT_TIMEOUT, 7.0)
    assert waits_until_given_up(once, rng=lambda: 0.0) == []  # a 0 s pause would fit any deadline: still none


def test_timeouts_are_connect_then_read():
    assert RetryPolicy(connect_timeout=3.0, read_timeout=40.0).timeout == (3.0, 40.0)


class Run:
    """One logical request through `retry_loop`: scripted outcomes, a fake clock its sleep advances, and what the
    loop told the caller."""

    def __init__(self, *outcomes, attempt_seconds: float = 0.0) -> None:
        self.outcomes = list(outcomes)
        self.attempt_seconds = attempt_seconds
        self.clock = Clock()
        self.sleeps: list[float] = []
        self.announced: list[tuple[str, int, float]] = []

    def attempt(self, attempts):
        self.clock.now += self.attempt_seconds
        return self.outcomes.pop(0)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.now += seconds

    def __call__(self, policy: RetryPolicy, first: Retryable | None = None):
        return retry_loop(
            policy,
            self.attempt,
            announce=lambda failed, attempts, wait: self.announced.append((failed.reason, attempts.count, wait)),
            give_up=lambda failed, attempts: RuntimeError(f"{failed.reason}: {attempts.gave_up()}"),
            sleep=self.sleep,
            clock=self.clock,
            rng=lambda: 1.0,
            first=first,
        )


def test_the_loop_pauses_between_failed_attempts_and_returns_the_first_success():
    run = Run(Retryable("HTTP 503"), Retryable("HTTP 429", retry_after=7.0), "answer")
    assert run(RetryPolicy(max_seconds=600.0)) == "answer"
    assert run.sleeps == [2.0, 7.0]  # the backoff, then the server's Retry-After
    assert run.announced == [("HTTP 503", 1, 2.0), ("HTTP 429", 2, 7.0)]


def test_the_loop_raises_the_callers_error_chained_to_the_last_failure():
    cause = ValueError("no answer")
    run = Run(Retryable("HTTP 503"), Retryable("no answer", error=cause))
    with pytest.raises(RuntimeError, match="no answer: gave up after 2 attempts, the most") as raised:
        run(RetryPolicy(max_attempts=2))
    assert raised.value.__cause__ is cause
    assert run.sleeps == [2.0] and run.outcomes == []


def test_an_attempt_already_made_is_counted_but_its_time_is_not():
    """`first`: the deadline starts when the loop does, though the failed attempt before it took 9 of 10 s."""
    run = Run("answer", attempt_seconds=9.0)
    run.clock.now += 9.0
    assert run(RetryPolicy(max_seconds=10.0), first=Retryable("status 500")) == "answer"
    assert run.announced == [("status 500", 1, 2.0)]
    with pytest.raises(RuntimeError, match="gave up after 1 attempt: the next retry, due in 2 s"):
        Run(attempt_seconds=9.0)(RetryPolicy(max_seconds=1.0), first=Retryable("status 500"))


@pytest.mark.parametrize(
    "header, seconds",
    [("7", 7.0), (" 12 ", 12.0), ("0", 0.0), (None, None), ("soon", None), ("-5", None), ("", None)],
)
def test_retry_after_in_seconds(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date():
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 50 <= retry_after_seconds(in_a_minute) <= 61
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no pause
