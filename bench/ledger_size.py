"""The sent-events ledger: bytes per entry in SQLite and in Redis, and the rate of 5,000-key batches.

Each store gets `entries` entries the way a sync writes them (claim, then confirm, 5,000 keys a call), timed; then
the same keys are claimed again, all already sent (a full refresh's path), timed. SQLite's size is the file's after
VACUUM, divided by the entries; Redis's is the growth of `INFO memory` used_memory, divided by the entries. For
Redis the layout the store does not use is measured too: hash buckets of about 100 fields each (a field per entry,
its value holding the acceptance and expiry times, as a server without per-field expiry would need).
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench import common
from destination_linkedin_capi.ledger.base import LedgerStore
from destination_linkedin_capi.ledger.redis_store import RedisLedger
from destination_linkedin_capi.ledger.sqlite_store import SqliteLedger
from unit_tests.redis_server import RedisServer

DAY_MS = 86_400_000
TEN_MILLION = 10_000_000
BUCKET_FIELDS = 100


def _keys(count: int) -> list[bytes]:
    return [
        hashlib.blake2b(f"urn:lla:llaPartnerConversion:1\0order-{n}".encode(), digest_size=16).digest()
        for n in range(count)
    ]


def _rates(store: LedgerStore, keys: list[bytes], batch: int, now_ms: int) -> dict[str, float]:
    """Keys a second written (claim + confirm), claimed again once all were sent, and counted (`check`)."""
    started = common.clock()
    for first in range(0, len(keys), batch):
        part = keys[first : first + batch]
        store.claim(part, "bench", 60_000)
        store.confirm(part, [now_ms + 90 * DAY_MS] * len(part), now_ms)
    written = common.clock() - started
    started = common.clock()
    for first in range(0, len(keys), batch):
        store.claim(keys[first : first + batch], "again", 60_000)
    again = common.clock() - started
    started = common.clock()
    if store.count() != len(keys):
        raise RuntimeError(f"the ledger counts {store.count()} entries, not {len(keys)}")
    counted = common.clock() - started
    return {
        "count_entries_per_s": round(len(keys) / counted),
        "claim_confirm_keys_per_s": round(len(keys) / written),
        "claim_all_sent_keys_per_s": round(len(keys) / again),
    }


def _sqlite(keys: list[bytes], batch: int, directory: Path) -> dict[str, Any]:
    path = directory / "budget.sqlite"
    store = SqliteLedger(str(path))
    rates = _rates(store, keys, batch, int(time.time() * 1000))
    with store._transaction(write=False) as db:
        sqlite_version = db.execute("SELECT sqlite_version()").fetchone()[0]
    store.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    db.close()
    size = path.stat().st_size
    return {
        "sqlite_version": sqlite_version,
        "file_bytes": size,
        "bytes_per_entry": round(size / len(keys), 1),
        **rates,
    }


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _hash_buckets(client: redis.Redis, keys: list[bytes], now_ms: int) -> None:
    buckets = max(1, len(keys) // BUCKET_FIELDS)
    pipe = client.pipeline(transaction=False)
    for n, key in enumerate(keys):
        bucket = int.from_bytes(key[:4], "big") % buckets
        pipe.hset(f"linkedin-capi:ledger:h:{bucket}", key[4:], f"{now_ms}:{now_ms + 90 * DAY_MS}")
        if n % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def _redis(keys: list[bytes], batch: int, directory: Path) -> dict[str, Any]:
    server = RedisServer(directory).start()
    try:
        client = redis.Redis.from_url(server.url)
        version = client.info("server")["redis_version"]
        store = RedisLedger(server.url)
        now_ms = int(time.time() * 1000)
        client.flushall()
        before = _used_memory(client)
        rates = _rates(store, keys, batch, now_ms)
        per_key = round((_used_memory(client) - before) / len(keys), 1)
        store.close()
        client.flushall()
        before = _used_memory(client)
        _hash_buckets(client, keys, now_ms)
        buckets = round((_used_memory(client) - before) / len(keys), 1)
        major, minor = (int(part) for part in version.split(".")[:2])
        client.close()
    finally:
        server.stop()
    return {
        "redis_version": version,
        "per_field_expiry_available": (major, minor) >= (7, 4),
        "bytes_per_entry": per_key,
        "hash_buckets_bytes_per_entry": buckets,
        **rates,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args(argv)
    keys = _keys(args.entries)
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        directory = Path(tmp)
        (directory / "redis").mkdir()
        sqlite = _sqlite(keys, args.batch, directory)
        redis_result = _redis(keys, args.batch, directory / "redis")
    result = {
        "command": ("python -m bench.ledger_size " + " ".join(argv if argv is not None else sys.argv[1:])).strip(),
        "entries": args.entries,
        "batch": args.batch,
        "sqlite": sqlite,
        "redis": redis_result,
        "ten_million_mib": {
            "sqlite": round(sqlite["bytes_per_entry"] * TEN_MILLION / 2**20),
            "redis": round(redis_result["bytes_per_entry"] * TEN_MILLION / 2**20),
        },
    }
    path = common.save_result("ledger_size", result)
    for name, figures in (("SQLite", sqlite), ("Redis", redis_result)):
        print(
            f"ledger {name}: {figures['bytes_per_entry']} bytes an entry, {figures['claim_confirm_keys_per_s']:,} "
            f"keys/s claimed + confirmed, {figures['claim_all_sent_keys_per_s']:,} keys/s already sent",
            file=sys.stderr,
        )
    print(f"ledger → {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
