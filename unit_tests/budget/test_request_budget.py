"""The request budget, proven with an injected clock: no window ever holds more than the limit."""

import bisect
import datetime as dt

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
