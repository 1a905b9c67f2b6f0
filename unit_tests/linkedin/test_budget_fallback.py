"""The request budget when its shared store goes away and comes back: the sync never stops or loses a request,
it goes on with a conservative local budget, says so, and rejoins — adding what it sent meanwhile."""

from __future__ import annotations

import logging
import types

import pytest

from destination_linkedin_capi.budget import sqlite_store
from destination_linkedin_capi.budget.redis_store import RedisStore
from destination_linkedin_capi.budget.request_budget import FALLBACK_SHARE, RequestBudget
from destination_linkedin_capi.budget.sqlite_store import SqliteStore
from destination_linkedin_capi.errors import DailyBudgetExhaustedError
from destination_linkedin_capi.linkedin.auth import StaticTokenProvider
from destination_linkedin_capi.linkedin.client import BatchAnswer, LinkedInClient
from unit_tests.linkedin_mocks import Batch
from unit_tests.redis_server import RedisServer


class FakeTime:
    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def server(tmp_path):
    running = RedisServer(tmp_path).start()
    yield running
    running.stop()  # also when the test failed


def test_a_lost_redis_means_a_local_share_a_warning_and_a_rejoin(server, caplog):
    fake = FakeTime(1_800_000_000.0)
    store = RedisStore(server.url, "fallback", timeout=0.5)
    budget = RequestBudget(
        8, 1000, window_seconds=2, clock=fake.clock, sleep=fake.sleep, store=store, key="m", sync_key="m:c"
    )
    budget.acquire()
    assert budget.used_today == 1
    server.kill()
    with caplog.at_level(logging.INFO, logger="airbyte"):
        for _ in range(5):  # the local budget is a quarter of 8 per window: the third waits a window
            budget.acquire()
        assert budget.outages == 1
        assert any(w >= 2 for w in fake.slept)
        warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        assert "Redis at 127.0.0.1" in warning and "local budget of 2 requests per 2 s" in warning
        server.start()  # same port: the store is back
        fake.now += 3
        budget.acquire()
    assert any("answers again" in r.getMessage() for r in caplog.records)
    # The killed server (no persistence) forgot the first request; the five sent on the local budget were
    # added on rejoin, then one more.
    assert budget.usage().used_today == 6 == budget.used_today
    assert int(8 * FALLBACK_SHARE) == 2


def test_a_spent_shared_day_stops_the_sync_with_the_reset_time(tmp_path):
    path = str(tmp_path / "b.sqlite")
    first = RequestBudget(600, 3, store=SqliteStore(path), key="m", sync_key="m:first")
    for _ in range(2):
        first.acquire()
    second = RequestBudget(600, 3, store=SqliteStore(path), key="m", sync_key="m:second")
    second.acquire()
    with pytest.raises(DailyBudgetExhaustedError, match=r"shared by every sync of this LinkedIn member.*resets at"):
        second.acquire()


def test_one_connections_cap_names_itself(tmp_path):
    budget = RequestBudget(600, 100, store=SqliteStore(str(tmp_path / "b.sqlite")), key="m", sync_per_day=1)
    budget.acquire()
    with pytest.raises(DailyBudgetExhaustedError, match="This connection's daily request cap"):
        budget.acquire()


def test_a_429_pauses_the_other_syncs_of_the_budget(tmp_path):
    path = str(tmp_path / "b.sqlite")
    fake = FakeTime(1_800_000_000.0)
    one = RequestBudget(600, 100, clock=fake.clock, sleep=fake.sleep, store=SqliteStore(path), key="m", rng=lambda: 0)
    other = RequestBudget(600, 100, clock=fake.clock, sleep=fake.sleep, store=SqliteStore(path), key="m", rng=lambda: 0)
    one.pause(7.0)
    other.acquire()
    assert sum(fake.slept) == pytest.approx(7.0, abs=0.01)  # the pause, counted on this host's clock


def test_a_429_the_budget_did_not_predict_pauses_every_sync_of_the_member(tmp_path, requests_mock):
    """The client writes LinkedIn's Retry-After to the shared store; another sync's next request waits it out."""
    base = "https://api.example.test"
    requests_mock.post(
        f"{base}/rest/conversionEvents",
        [
            {"status_code": 429, "json": {"status": 429}, "headers": {"Retry-After": "7"}},
            {"status_code": 200, "json": {"elements": [{"status": 201}]}},
        ],
    )
    fake = FakeTime(1_800_000_000.0)
    path = str(tmp_path / "b.sqlite")

    def budget() -> RequestBudget:
        store = SqliteStore(path)
        return RequestBudget(600, 100, clock=fake.clock, sleep=fake.sleep, store=store, key="m", rng=lambda: 0)

    client = LinkedInClient(
        base,
        "202607",
        StaticTokenProvider("budget-test-token-SECRET"),
        budget(),
        sleep=fake.sleep,
        monotonic=fake.clock,
    )
    other = budget()
    assert client.send_events(Batch([{"eventId": "e1"}])) == BatchAnswer()
    assert fake.slept == [7.0]  # this sync waited LinkedIn's Retry-After itself...
    fake.now -= 7.0  # ...and another sync of the member, asking at the moment of the 429, waits it out too
    other.acquire()
    assert sum(fake.slept[1:]) == pytest.approx(7.0, abs=0.01)


def test_a_sync_woken_late_gives_its_stale_slot_back_and_books_anew(tmp_path, monkeypatch):
    """On a loaded machine a sync may wake well after its slot; sending then could put one request too many
    into a window the store already filled after it, so it books again, without counting twice."""
    fake = FakeTime(1_800_000_000.0)
    overshoot = [1.0]
    # The store moves a booking's `now` on by the real time its transaction waited for the write lock; on the
    # fake clock here, so that time spent in SQLite on a loaded machine does not shift the expected sleep.
    monkeypatch.setattr(sqlite_store, "time", types.SimpleNamespace(monotonic=fake.clock, time=fake.clock))

    def sleep(seconds: float) -> None:
        fake.sleep(seconds + (overshoot.pop() if overshoot else 0.0))

    store = SqliteStore(str(tmp_path / "b.sqlite"))
    budget = RequestBudget(1, 100, window_seconds=10, clock=fake.clock, sleep=sleep, store=store, key="m")
    budget.acquire()
    budget.acquire()  # booked 10.1 s ahead (window + 1%), woken 1 s late: rebooked, sent at once
    assert fake.slept == [pytest.approx(11.1, abs=0.1)]
    usage = store.usage("m", budget.limits, fake.now)
    assert (usage.in_window, usage.used_today, budget.used_today) == (1, 2, 2)
