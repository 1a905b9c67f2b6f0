"""The three sent-events ledgers behind one contract, against a real SQLite file and a real Redis server.

SQLite and the process ledger run on a clock the test moves; Redis runs on its server's clock (TIME), so its
leases and expiries are short and the test waits them out for real.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3
import time

import pytest
import redis

from destination_linkedin_capi.ledger.base import CLAIMED, HELD, SENT, LedgerUnavailable, Verdict, entry_key
from destination_linkedin_capi.ledger.process import ProcessLedger
from destination_linkedin_capi.ledger.redis_store import RedisLedger
from destination_linkedin_capi.ledger.sqlite_store import SqliteLedger
from unit_tests.redis_server import RedisServer, free_port

RULE = "urn:lla:llaPartnerConversion:111"
LONG_LEASE_MS = 60_000
SHORT_MS = 400  # a lease or an entry's life that the test waits out (for real with Redis)


def keys(count: int, start: int = 0) -> list[bytes]:
    return [entry_key(RULE, f"event-{n}") for n in range(start, start + count)]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def now_ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ServerClock:
    """Redis's own clock: the store reads TIME, so the test does too, and waits for real."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def now_ms(self) -> int:
        seconds, micros = self.client.time()
        return seconds * 1000 + micros // 1000

    def advance(self, seconds: float) -> None:
        time.sleep(seconds)


class Setup:
    def __init__(self, kind: str, open_store, clock) -> None:
        self.kind, self.open, self.clock = kind, open_store, clock


@pytest.fixture(params=["process", "sqlite", "redis"])
def setup(request, tmp_path, redis_server):
    """`open()` opens the same ledger anew, as another sync would; `clock` is the one the ledger reads."""
    kind, opened = request.param, []
    if kind == "process":
        clock = FakeClock()
        shared = ProcessLedger(clock=clock)

        def open_store():
            return shared
    elif kind == "sqlite":
        clock = FakeClock()

        def open_store():
            opened.append(SqliteLedger(str(tmp_path / "budget.sqlite"), clock=clock))
            return opened[-1]
    else:
        client = redis.Redis.from_url(redis_server.url)
        clock = ServerClock(client)
        prefix = f"test-{request.node.name}-{time.time_ns()}"

        def open_store():
            opened.append(RedisLedger(redis_server.url, prefix))
            return opened[-1]

    yield Setup(kind, open_store, clock)
    for store in opened:
        store.close()


def test_a_claim_is_held_against_other_owners_until_its_lease_ends(setup):
    first, second = setup.open(), setup.open()
    batch = keys(3)
    before = setup.clock.now_ms()
    assert first.claim(batch, "sync-a", LONG_LEASE_MS) == [Verdict(CLAIMED)] * 3
    after = setup.clock.now_ms()
    held = second.claim(batch, "sync-b", LONG_LEASE_MS)
    assert [v.status for v in held] == [HELD] * 3
    assert all(before + LONG_LEASE_MS <= v.at_ms <= after + LONG_LEASE_MS for v in held)
    setup.clock.advance(0.05)
    assert first.claim(batch, "sync-a", LONG_LEASE_MS) == [Verdict(CLAIMED)] * 3  # the owner extends its claim
    extended = second.claim(batch[:1], "sync-b", LONG_LEASE_MS)[0]
    assert extended.status == HELD and extended.at_ms >= held[0].at_ms + 50


def test_a_claim_whose_lease_ran_out_is_taken_over(setup):
    first, second = setup.open(), setup.open()
    batch = keys(2)
    first.claim(batch, "died", SHORT_MS)
    setup.clock.advance(SHORT_MS / 1000 + 0.1)
    assert second.claim(batch, "sync-b", LONG_LEASE_MS) == [Verdict(CLAIMED)] * 2
    assert [v.status for v in first.claim(batch, "died", SHORT_MS)] == [HELD] * 2  # the dead owner lost it


def test_a_confirmed_event_is_sent_for_everyone_and_seen(setup):
    first, second = setup.open(), setup.open()
    batch = keys(3)
    accepted = setup.clock.now_ms()
    first.claim(batch, "sync-a", LONG_LEASE_MS)
    first.confirm(batch[:2], [accepted + 86_400_000] * 2, accepted)
    first.release(batch[2:], "sync-a")
    for owner, store in (("sync-a", first), ("sync-b", second), ("sync-c", second)):
        assert store.claim(batch[:2], owner, LONG_LEASE_MS) == [Verdict(SENT, accepted)] * 2
    assert second.seen(batch) == [accepted, accepted, None]
    assert second.claim(batch[2:], "sync-b", LONG_LEASE_MS) == [Verdict(CLAIMED)]  # released: free to claim
    assert second.count() == 2


def test_release_frees_only_the_owners_claims(setup):
    first, second = setup.open(), setup.open()
    batch = keys(2)
    first.claim(batch, "sync-a", LONG_LEASE_MS)
    second.release(batch, "sync-b")  # not its claims: nothing happens
    assert [v.status for v in second.claim(batch, "sync-b", LONG_LEASE_MS)] == [HELD] * 2
    first.release(batch, "sync-a")
    assert second.claim(batch, "sync-b", LONG_LEASE_MS) == [Verdict(CLAIMED)] * 2
    assert first.count() == 0 and first.seen(batch) == [None, None]  # a claim is no entry


def test_an_entry_expires_with_its_conversion(setup):
    store = setup.open()
    lasting, expiring = keys(1), keys(2, start=1)
    now = setup.clock.now_ms()
    store.claim(lasting + expiring, "sync-a", LONG_LEASE_MS)
    store.confirm(lasting + expiring, [now + 86_400_000, now + 2000, now + 2000], now)
    assert store.count() == 3 and store.seen(expiring) == [now, now]
    setup.clock.advance(2.1)
    assert store.count() == 1 and store.seen(lasting + expiring) == [now, None, None]
    assert store.claim(expiring, "sync-b", LONG_LEASE_MS) == [Verdict(CLAIMED)] * 2  # absent: sent again


def test_an_already_expired_entry_is_never_sent_again_wrongly_or_counted(setup):
    store = setup.open()
    now = setup.clock.now_ms()
    store.claim(keys(1), "sync-a", LONG_LEASE_MS)
    store.confirm(keys(1), [now - 1], now - 10)
    assert store.count() == 0 and store.seen(keys(1)) == [None]


def test_an_empty_batch_is_answered_without_a_change(setup):
    store = setup.open()
    assert store.claim([], "sync-a", LONG_LEASE_MS) == [] and store.seen([]) == []
    store.confirm([], [], 1)
    store.release([], "sync-a")
    assert store.count() == 0


def test_five_thousand_keys_in_one_call_each(setup):
    store = setup.open()
    batch = keys(5000)
    now = setup.clock.now_ms()
    assert {v.status for v in store.claim(batch, "sync-a", LONG_LEASE_MS)} == {CLAIMED}
    store.confirm(batch, [now + 86_400_000] * 5000, now)
    assert store.claim(batch, "sync-b", LONG_LEASE_MS) == [Verdict(SENT, now)] * 5000
    assert store.seen(batch) == [now] * 5000
    assert store.count() == 5000


def test_the_sqlite_ledger_answers_a_batch_in_one_transaction(tmp_path):
    store = SqliteLedger(str(tmp_path / "budget.sqlite"))
    store.count()  # opens the file
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    batch = keys(5000)
    store.claim(batch, "sync-a", LONG_LEASE_MS)
    store.confirm(batch, [int(time.time() * 1000) + 60_000] * 5000, 1)
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == ["BEGIN IMMEDIATE", "COMMIT"] * 2
    assert len([s for s in statements if s.startswith("SELECT")]) == 1  # entries and claims of every key at once
    store.close()


def test_the_redis_ledger_answers_a_batch_in_one_round_trip(redis_server):
    store = RedisLedger(redis_server.url, f"trips-{time.time_ns()}")
    batch = keys(5000)
    store.claim(batch[:1], "warm-up", 1000)  # loads the scripts, as a sync's first batch does
    store.confirm(batch[:1], [int(time.time() * 1000) + 600_000], 1)
    store.release(batch[1:2], "warm-up")
    sent: list[object] = []
    passthrough = store._redis.execute_command

    def counting(*args, **options):
        sent.append(args[0])
        return passthrough(*args, **options)

    store._redis.execute_command = counting
    store.claim(batch, "sync-a", LONG_LEASE_MS)
    store.confirm(batch, [int(time.time() * 1000) + 600_000] * 5000, 1)
    store.release(batch, "sync-a")
    store.seen(batch)
    assert sent == ["EVALSHA", "EVALSHA", "EVALSHA", "MGET"]
    store.close()


# -- a store that cannot answer ----------------------------------------------------------------------------------


def test_an_sqlite_path_that_is_a_directory_or_no_database_is_named(tmp_path):
    not_a_database = tmp_path / "budget.sqlite"
    not_a_database.write_bytes(os.urandom(4096))
    for path in (tmp_path, not_a_database):
        store = SqliteLedger(str(path))
        for call in (lambda s=store: s.claim(keys(1), "a", 1000), store.count, lambda s=store: s.seen(keys(1))):
            with pytest.raises(LedgerUnavailable, match=f"^SQLite file {path} failed") as raised:
                call()
            assert "Traceback" not in str(raised.value)


def test_an_sqlite_file_locked_beyond_the_timeout_is_reported(tmp_path, monkeypatch):
    import destination_linkedin_capi.budget.sqlite_store as budget_sqlite

    monkeypatch.setattr(budget_sqlite, "BUSY_TIMEOUT_SECONDS", 0.2)
    path = tmp_path / "budget.sqlite"
    store = SqliteLedger(str(path))
    store.count()
    store.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(LedgerUnavailable, match=f"SQLite file {path} failed.*locked"):
        store.claim(keys(1), "a", 1000)
    holder.execute("ROLLBACK")
    assert store.claim(keys(1), "a", 1000) == [Verdict(CLAIMED)]
    holder.close()
    store.close()


def test_a_stopped_redis_is_named_without_its_password(tmp_path):
    server = RedisServer(tmp_path, password="hunter2-secret").start()
    store = RedisLedger(server.url, "down", timeout=0.5)
    try:
        assert store.claim(keys(1), "a", 1000) == [Verdict(CLAIMED)]
        server.stop()
        for call in (lambda: store.claim(keys(1), "a", 1000), store.count, lambda: store.seen(keys(1))):
            with pytest.raises(LedgerUnavailable) as raised:
                call()
            assert str(raised.value).startswith(f"Redis at 127.0.0.1:{server.port} did not answer")
            assert "hunter2" not in str(raised.value)
    finally:
        server.stop()
        store.close()
    never = RedisLedger(f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0", "x", timeout=0.5)
    with pytest.raises(LedgerUnavailable, match="did not answer") as raised:
        never.release(keys(1), "a")
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("value", ["soon", "-5", "1e400", "2.5", "nan"])
def test_a_redis_entry_the_connector_did_not_write_makes_the_ledger_unusable(redis_server, value):
    store = RedisLedger(redis_server.url, f"garbage-{time.time_ns()}")
    key = keys(1)[0]
    store._redis.set(store._sent + key, value)
    for call in (lambda: store.claim(keys(2), "a", 1000), lambda: store.seen(keys(2))):
        with pytest.raises(LedgerUnavailable, match=f"did not write under a key for entry {key.hex()}"):
            call()
    store.close()


def test_a_redis_claim_without_a_lease_end_makes_the_ledger_unusable(redis_server):
    store = RedisLedger(redis_server.url, f"garbage-{time.time_ns()}")
    store._redis.set(store._claims + keys(1)[0], "someone")  # no expiry: it would hold the event forever
    with pytest.raises(LedgerUnavailable, match="did not write"):
        store.claim(keys(1), "a", 1000)
    store.close()


@pytest.mark.parametrize(
    "update",
    [
        "UPDATE ledger_sent SET accepted = 'yesterday'",
        "UPDATE ledger_sent SET expires = 1.5e300",
        "UPDATE ledger_claims SET lease_end = 'later'",
        "UPDATE ledger_claims SET owner = x'00'",
    ],
)
def test_an_sqlite_row_the_connector_did_not_write_makes_the_ledger_unusable(tmp_path, update):
    store = SqliteLedger(str(tmp_path / "budget.sqlite"))
    store.claim(keys(2), "a", LONG_LEASE_MS)
    store.confirm(keys(1), [int(time.time() * 1000) + 60_000], 1)
    with store._transaction() as db:
        db.execute(update)
    with pytest.raises(LedgerUnavailable, match=r"did not write under its tables ledger_sent"):
        store.claim(keys(2), "b", 1000)
    store.close()


def test_an_sqlite_claim_from_a_clock_far_ahead_is_taken_over(tmp_path):
    """A sync whose clock was three hours ahead (or one stepped back since) wrote a lease ending hours from now: it
    is taken over, not waited for."""
    clock = FakeClock()
    path = str(tmp_path / "budget.sqlite")
    ahead = FakeClock()
    ahead.advance(3 * 3600)
    other = SqliteLedger(path, clock=ahead)
    other.claim(keys(1), "ahead", LONG_LEASE_MS)
    store = SqliteLedger(path, clock=clock)
    assert store.claim(keys(1), "sync-b", LONG_LEASE_MS) == [Verdict(CLAIMED)]
    ahead.advance(-3 * 3600 + 60)  # a lease from a clock just a minute ahead is still honoured
    other.claim(keys(1, start=1), "ahead", LONG_LEASE_MS)
    assert [v.status for v in store.claim(keys(1, start=1), "sync-b", LONG_LEASE_MS)] == [HELD]
    store.close()
    other.close()


def test_the_sqlite_ledger_purges_expired_entries_a_bounded_number_at_a_time(tmp_path):
    from destination_linkedin_capi.ledger.sqlite_store import PURGE_ROWS

    clock = FakeClock()
    store = SqliteLedger(str(tmp_path / "budget.sqlite"), clock=clock)
    old = keys(PURGE_ROWS + 10)
    store.confirm(old, [clock.now_ms() + 1000] * len(old), clock.now_ms())
    clock.advance(2)
    with store._transaction(write=False) as db:
        assert db.execute("SELECT count(*) FROM ledger_sent").fetchone()[0] == len(old)
    for left in (10, 0):
        store.claim(keys(1, start=10**6), "a", 1000)
        with store._transaction(write=False) as db:
            assert db.execute("SELECT count(*) FROM ledger_sent").fetchone()[0] == left
    store.close()


# -- two processes at once ---------------------------------------------------------------------------------------


def _claim_all(kind, where, prefix, owner, numbers, start, results):
    store = SqliteLedger(where) if kind == "sqlite" else RedisLedger(where, prefix)
    store.count()  # connected (and the SQLite file made) before the race starts
    start.wait(60)
    claimed = []
    for first in range(0, len(numbers), 100):
        part = numbers[first : first + 100]
        verdicts = store.claim([entry_key(RULE, f"event-{n}") for n in part], owner, LONG_LEASE_MS)
        claimed += [n for n, verdict in zip(part, verdicts, strict=True) if verdict.status == CLAIMED]
    store.close()
    results.put(claimed)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_claiming_overlapping_keys_each_key_goes_to_one(kind, tmp_path, redis_server):
    where = str(tmp_path / "budget.sqlite") if kind == "sqlite" else redis_server.url
    prefix = f"race-{time.time_ns()}"
    first, second = list(range(0, 3000)), list(range(1000, 4000))
    random.Random(1).shuffle(second)  # meet in a different order
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_claim_all, args=(kind, where, prefix, owner, numbers, start, results))
        for owner, numbers in (("a", first), ("b", second))
    ]
    for worker in workers:
        worker.start()
    claimed = [n for _ in workers for n in results.get(timeout=120)]
    for worker in workers:
        worker.join(30)
    assert sorted(claimed) == list(range(4000))  # each key claimed once, by one of the two


def test_a_redis_key_prefix_holding_glob_characters_counts_only_its_own_entries(redis_server):
    base = f"glob-{time.time_ns()}"
    star, plain = RedisLedger(redis_server.url, f"{base}*[x]"), RedisLedger(redis_server.url, f"{base}-shop[x]")
    expires = [int(time.time() * 1000) + 600_000] * 3
    star.confirm(keys(2), expires[:2], 1)
    plain.confirm(keys(3, start=10), expires, 1)
    assert (star.count(), plain.count()) == (2, 3)
    star.close()
    plain.close()
