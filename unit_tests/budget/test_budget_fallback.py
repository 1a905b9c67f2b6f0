"""The request budget when its shared store goes away and comes back: the sync never stops or loses a request,
it goes on with a conservative local budget, says so, and rejoins — adding what it sent meanwhile."""

from __future__ import annotations

import logging
import types

import pytest

from destination_linkedin_capi.budget import sqlite_store
from destination_linkedin_capi.budget.base import Grant, StoreUnavailable
from destination_linkedin_capi.budget.redis_store import RedisStore
from destination_linkedin_capi.budget.request_budget import RequestBudget
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
        for _ in range(5):  # the store saw one connection: half of 8 per window, so the fifth waits a window
            budget.acquire()
        assert budget.outages == 1
        assert any(w >= 2 for w in fake.slept)
        warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        assert "Redis at 127.0.0.1" in warning and "local budget of 4 requests per 2 s and 499 today" in warning
        assert "(50% of the shared limits, as 1 connection booked lately)" in warning
        server.start()  # same port: the store is back
        fake.now += 3
        budget.acquire()
    assert any("answers again" in r.getMessage() for r in caplog.records)
    # The killed server (no persistence) forgot the first request; the five sent on the local budget were
    # added on rejoin, then one more.
    assert budget.usage().used_today == 6 == budget.used_today


def fleet(store_url: str, count: int, per_minute: int, per_day: int, window: float = 60.0) -> list:
    """`count` syncs of one member, each its own connection and clock, each having booked twice in the store: once
    to start, once after all had started (running syncs book all the time, so each knows how many run)."""
    syncs = []
    for number in range(count):
        fake = FakeTime(1_800_000_000.0)
        budget = RequestBudget(
            per_minute,
            per_day,
            window_seconds=window,
            clock=fake.clock,
            sleep=fake.sleep,
            store=RedisStore(store_url, "fleet", timeout=0.5),
            key="m",
            sync_key=f"m:connection-{number}",
        )
        budget.acquire()
        syncs.append((budget, fake))
    for budget, _fake in syncs:
        budget.acquire()
    return syncs


def test_syncs_that_lose_the_store_together_share_the_minute_not_each_a_quarter_of_it(server):
    """Eight syncs lose Redis at once. Each used to take a quarter of the minute: 200% together. Now each takes a
    ninth (eight connections booked lately, plus one share for a sync starting meanwhile)."""
    syncs = fleet(server.url, 8, per_minute=600, per_day=300_000)
    server.kill()
    sent = 0
    for budget, fake in syncs:
        while not fake.slept:  # everything one sync sends before it has to wait for the window
            budget.acquire()
            sent += 1
        sent -= 1  # the last one waited
    assert sent == 8 * (600 // 9)
    assert sent + 16 <= 600  # with the sixteen sent through the store


def test_syncs_that_lose_the_store_together_share_the_rest_of_the_day(server):
    """Three syncs in an outage used to take the whole rest of the day each: 300%."""
    syncs = fleet(server.url, 3, per_minute=600, per_day=1_000, window=1.0)
    server.kill()
    sent = 0
    for budget, _fake in syncs:
        with pytest.raises(DailyBudgetExhaustedError, match="share of the daily request budget while the request"):
            while True:
                budget.acquire()
                sent += 1
    assert sent <= 1_000 * 3 // 4, sent  # a quarter of what the day had left each


def test_requests_sent_on_the_local_budget_count_in_the_window_after_the_rejoin(server):
    """A sync sends on its local budget, the store comes back: another sync must not get the whole window too."""
    ((budget, fake),) = fleet(server.url, 1, per_minute=8, per_day=1_000)
    server.kill()
    for _ in range(4):  # half of the window: the store saw one connection
        budget.acquire()
    assert fake.slept == []
    server.start()  # empty: it forgot every booking
    fake.now += 15  # the rejoin; the four local requests are 15 s old, inside the 60 s window
    budget.acquire()
    other = RedisStore(server.url, "fleet", timeout=0.5)
    grants = [other.reserve("m", "m:other", budget.limits, fake.now) for _ in range(8)]
    assert sum(1 for grant in grants if grant.wait == 0) == 8 - 4 - 1, [grant.wait for grant in grants]


class PausedForEver:
    """A store that keeps every sync paused (a pause renewed without end): nothing hangs on it for ever."""

    description = "a store paused for ever"
    shared = True

    def __init__(self) -> None:
        self.asked = 0

    def reserve(self, key, sync_key, limits, now):
        self.asked += 1
        assert self.asked < 1_000, "acquire is still waiting on the store"
        return Grant(False, wait=600.0)

    def add_used(self, key, sync_key, count, now, ages=()):
        raise StoreUnavailable("still paused")


def test_acquire_gives_up_on_a_store_that_never_grants_and_goes_on_locally(caplog):
    fake = FakeTime(1_800_000_000.0)
    store = PausedForEver()
    budget = RequestBudget(600, 1_000, clock=fake.clock, sleep=fake.sleep, store=store, key="m", rng=lambda: 0)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        budget.acquire()
    assert budget.outages == 1 and budget.used_today == 1
    assert 3_600 <= fake.now - 1_800_000_000.0 <= 3_600 + 660
    assert "gave no request slot within 3660 s" in caplog.text


@pytest.mark.parametrize("value", ["inf", str(10**17), "1e400"])
def test_a_pause_holding_garbage_neither_hangs_write_nor_crashes_it(server, caplog, value):
    fake = FakeTime(1_800_000_000.0)
    store = RedisStore(server.url, "garbage", timeout=0.5)
    store._redis.set("garbage:m:pause", value)
    budget = RequestBudget(60, 1_000, clock=fake.clock, sleep=fake.sleep, store=store, key="m", rng=lambda: 0)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(3):
            budget.acquire()
    assert fake.slept == [] and budget.outages == 1 and budget.used_in_window() == 3
    assert "holds a value the connector did not write under key garbage:m:pause" in caplog.text


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


def test_a_store_that_answers_the_rejoin_but_not_the_booking_ends_the_sync_cleanly(server):
    """The window holds garbage, the day counters do not: the rejoin works, the booking does not. With this sync's
    share of the day spent, the sync stops with its sentence (it recursed until RecursionError)."""
    fake = FakeTime(1_800_000_000.0)
    store = RedisStore(server.url, "half", timeout=0.5)
    store._redis.zadd("half:m:win", {"planted": 1e17})
    budget = RequestBudget(1, 3, clock=fake.clock, sleep=fake.sleep, store=store, key="m", rng=lambda: 0)
    with pytest.raises(DailyBudgetExhaustedError, match="share of the daily request budget"):
        budget.acquire()  # a quarter of a day of 3 is no request
    assert budget.outages == 2


def test_a_store_that_comes_and_goes_does_not_give_a_fresh_local_window_each_time(server):
    fake = FakeTime(1_800_000_000.0)
    store = RedisStore(server.url, "flaky", timeout=0.5)
    budget = RequestBudget(8, 1_000, clock=fake.clock, sleep=fake.sleep, store=store, key="m", sync_key="m:c")
    budget.acquire()
    server.kill()
    for _ in range(4):
        budget.acquire()  # the local half of the window
    server.start()
    fake.now += 15
    budget._try_rejoin(fake.now)  # back...
    server.kill()  # ...and gone again before this sync booked
    budget.acquire()
    assert fake.slept and fake.slept[0] >= 60 - 15, fake.slept  # the four local requests still fill the window
