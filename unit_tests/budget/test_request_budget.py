"""The request budget, proven with an injected clock: no window ever holds more than the limit."""

import bisect
import datetime as dt
import logging
import threading

import pytest

from destination_linkedin_capi.budget.request_budget import RequestBudget, next_utc_midnight
from destination_linkedin_capi.errors import DailyBudgetExhaustedError


class FakeTime:
    def __init__(self, start: float) -> None:
        self.now = start

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def max_in_any_window(stamps: list[float], window: float) -> int:
    """The largest number of stamps inside any half-open window [t, t + window)."""
    return max(bisect.bisect_left(stamps, start + window) - i for i, start in enumerate(stamps))


@pytest.mark.parametrize("per_minute, window", [(600, 60.0), (7, 1.0), (1, 5.0)])
def test_no_window_exceeds_the_limit(per_minute, window):
    fake = FakeTime(1_800_000_000.0)
    budget = RequestBudget(per_minute, 10**9, window_seconds=window, clock=fake.clock, sleep=fake.sleep)
    stamps = []
    requests = per_minute * 5 + 3
    for _ in range(requests):
        budget.acquire()
        stamps.append(fake.now)
    assert max_in_any_window(stamps, window) == per_minute
    # and the budget is used, not wasted: only a small safety margin (≤ 5%) separates the windows
    full_windows = (requests - 1) // per_minute
    assert window * full_windows <= stamps[-1] - stamps[0] <= window * full_windows * 1.06


def test_daily_budget_stops_and_says_when_it_resets():
    start = dt.datetime(2026, 11, 28, 23, 59, 0, tzinfo=dt.timezone.utc).timestamp()
    fake = FakeTime(start)
    budget = RequestBudget(600, 3, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        budget.acquire()
    with pytest.raises(DailyBudgetExhaustedError) as raised:
        budget.acquire()
    assert "2026-11-29 00:00 UTC" in str(raised.value)
    assert raised.value.resets_at == dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc).timestamp()
    fake.now = raised.value.resets_at + 1  # a new UTC day: the budget is back
    budget.acquire()
    assert budget.used_today == 1


def test_next_utc_midnight():
    noon = dt.datetime(2026, 2, 28, 12, tzinfo=dt.timezone.utc).timestamp()
    assert next_utc_midnight(noon) == dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc).timestamp()


def test_used_in_window_counts_recent_requests():
    fake = FakeTime(1000.0)
    budget = RequestBudget(10, 100, window_seconds=2, clock=fake.clock, sleep=fake.sleep)
    for _ in range(4):
        budget.acquire()
    assert budget.used_in_window() == 4
    fake.now += 3
    assert budget.used_in_window() == 0


def test_used_in_window_answers_while_a_request_waits_for_its_slot():
    """The progress lines ask for the window's use while the sender waits for a slot: the answer must not wait."""
    fake = FakeTime(1000.0)
    waiting, released = threading.Event(), threading.Event()

    def sleep(seconds):
        waiting.set()
        released.wait(30)
        fake.now += seconds

    budget = RequestBudget(2, 100, window_seconds=60, clock=fake.clock, sleep=sleep)
    budget.acquire()
    budget.acquire()
    sender = threading.Thread(target=budget.acquire)  # the third waits for the window to free a slot
    sender.start()
    try:
        assert waiting.wait(30)
        answers = []
        asker = threading.Thread(target=lambda: answers.append(budget.used_in_window()))
        asker.start()
        asker.join(20)  # a generous bound: without waiting for the slot, the answer takes microseconds
        assert answers == [2]
    finally:
        released.set()
        sender.join(30)


@pytest.mark.parametrize(
    "per_minute, window, said",
    [
        (2, 60.0, "Waiting 61 s for the request budget: 2 requests a minute."),  # the window has a 1% margin
        (2, 30.0, "Waiting 30 s for the request budget: 2 requests per 30 s."),
    ],
)
def test_a_long_wait_for_the_budget_is_said_in_one_line(caplog, per_minute, window, said):
    fake = FakeTime(1000.0)
    budget = RequestBudget(per_minute, 100, window_seconds=window, clock=fake.clock, sleep=fake.sleep)
    with caplog.at_level(logging.INFO, logger="airbyte"):
        for _ in range(3):  # two fit in the window; the third waits for it
            budget.acquire()
    lines = [r.getMessage() for r in caplog.records if "for the request budget" in r.getMessage()]
    assert lines == [said]


def test_short_waits_for_the_budget_are_not_said(caplog):
    fake = FakeTime(1000.0)
    budget = RequestBudget(10, 1000, window_seconds=5, clock=fake.clock, sleep=fake.sleep)
    with caplog.at_level(logging.INFO, logger="airbyte"):
        for _ in range(35):  # three full windows of 5 s: each wait is at most 5 s
            budget.acquire()
    assert fake.now > 1015
    assert not [r for r in caplog.records if "for the request budget" in r.getMessage()]
