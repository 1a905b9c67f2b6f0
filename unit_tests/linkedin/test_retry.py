"""The retry policy, deterministic: an injected random source, clock and no real sleeping."""

from __future__ import annotations

import email.utils
import time

import pytest

from destination_linkedin_capi.linkedin.retry import BACKOFF_CAP, CONNECT_TIMEOUT, RetryPolicy, retry_after_seconds


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
