"""Many syncs on one member's budget (issue 11): N = 1, 2, 4, 8 parallel `python main.py write` processes
against one sandbox process metering that member, each sync with its own events, with and without a shared
request budget store (a real Redis, an SQLite file).

Figures per run: aggregate quota use (accepted requests per second / the member's limit, measured while
every sync is sending; target ≥ 0.95 with a store), 429s (target 0), fairness (max/min of the syncs'
accepted requests in that same span; target ≤ 1.5), wall time. Without a store each sync believes it owns
the whole budget: that is the baseline the store is measured against. Each run starts with a new store, so it
starts only once the previous run's requests have left the sandbox's window: the sandbox meters the member
across runs, and requests the store never saw would meet the new fleet as another tool's would.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import requests

from bench import common
from devtools.sample_data import generate_lines
from unit_tests.redis_server import RedisServer


def sync_input(path: Path, index: int, records: int) -> None:
    """`records` sample records whose event IDs say which sync sent them (`s<index>-<n>`)."""
    with open(path, "wb") as out:
        for n, line in enumerate(generate_lines(records, seed=index, bad=False, state_every=50)):
            message = orjson.loads(line)
            if message["type"] == "RECORD":
                message["record"]["data"]["event_id"] = f"s{index}-{n}"
            out.write(orjson.dumps(message) + b"\n")


def arrivals(url: str) -> list[tuple[float, int]]:
    """(arrival time, sync index) of every accepted request (every event of a batch shares one arrival)."""
    events = requests.get(f"{url}/_sandbox/events", timeout=60).json()["elements"]
    batches = {(event["_received_at"], int(event["eventId"].split("-")[0][1:])) for event in events}
    return sorted(batches)


def figures(batches: list[tuple[float, int]], syncs: int, limit: int, window: float) -> dict[str, Any]:
    """Aggregate quota use as in bench/quota.py: after the first window's burst of `limit` requests, a perfect
    fleet gets `limit` more accepted every window. Fairness: each sync's accepted requests while all of them were
    sending (from the last sync's first accepted request to the first sync's last one)."""
    times = [at for at, _ in batches]
    steady = times[limit:]
    span = times[-1] - times[limit - 1] if len(times) > limit else 0.0
    result: dict[str, Any] = {
        "steady_state_requests": len(steady),
        "steady_state_span_seconds": round(span, 3),
        "quota_use": round(len(steady) / span / (limit / window), 4) if span > 0 else None,
    }
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for at, sync in batches:
        first.setdefault(sync, at)
        last[sync] = at
    start, end = max(first.values()), min(last.values())
    per_sync = Counter(sync for at, sync in batches if start <= at <= end)
    shares = [per_sync.get(i, 0) for i in range(syncs)]
    result["overlap_seconds"] = round(end - start, 3)
    result["requests_per_sync_in_overlap"] = shares
    result["fairness_max_min"] = round(max(shares) / min(shares), 3) if syncs > 1 and min(shares) > 0 else None
    return result


def run_fleet(directory: Path, url: str, syncs: int, store: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    config = common.connector_config(
        url,
        batch_size=args.batch,
        requests_per_minute=args.limit,
        throttle_window_seconds=args.window,
        request_budget=store,
        max_retry_seconds=600,
    )
    config_path, catalog_path = common.write_files(directory, config)
    common.sandbox_reset(url)
    procs = []
    started = common.clock()
    for index in range(syncs):
        input_path = directory / f"input-{index}.jsonl"
        sync_input(input_path, index, args.requests * args.batch)
        command = [sys.executable, "main.py", "write", "--config", str(config_path), "--catalog", str(catalog_path)]
        with open(input_path, "rb") as stdin:
            procs.append(
                subprocess.Popen(
                    command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=common.ROOT
                )
            )
    failures = [proc.stderr.read().decode()[-500:] for proc in procs if proc.wait() != 0 and proc.stderr]
    elapsed = common.clock() - started
    stats = common.sandbox_stats(url)
    batches = arrivals(url)
    result = {
        "syncs": syncs,
        "store": store["store"],
        "wall_seconds": round(elapsed, 2),
        "requests_accepted": len(batches),
        "requests_429": stats["throttled"],
        "failed_syncs": len(failures),
        **figures(batches, syncs, args.limit, args.window),
    }
    print(json.dumps(result), file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=20, help="the member's requests per window")
    parser.add_argument("--window", type=float, default=2.0, help="window length in seconds")
    parser.add_argument("--requests", type=int, default=40, help="requests each sync sends")
    parser.add_argument("--batch", type=int, default=5, help="events per request")
    parser.add_argument("--syncs", default="1,2,4,8", help="how many parallel syncs, comma-separated")
    parser.add_argument("--stores", default="process,redis,sqlite", help="which budget stores, comma-separated")
    args = parser.parse_args(argv)
    runs = []
    quiet_at = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        directory = Path(tmp)
        redis = RedisServer(directory).start()
        try:
            with common.sandbox_process(
                directory, per_minute=str(args.limit), per_day="unlimited", window_seconds=args.window
            ) as sandbox:
                for kind in args.stores.split(","):
                    for syncs in (int(n) for n in args.syncs.split(",")):
                        store: dict[str, Any] = {"store": kind}
                        if kind == "redis":
                            store.update(url=redis.url, key_prefix=f"bench-{kind}-{syncs}")
                        elif kind == "sqlite":
                            store["path"] = str(directory / f"budget-{syncs}.sqlite")
                        time.sleep(max(0.0, quiet_at - time.time()))
                        runs.append(run_fleet(directory, sandbox.url, syncs, store, args))
                        quiet_at = time.time() + args.window  # this run's requests out of the window by then
        finally:
            redis.stop()
    result = {
        "limit_requests": args.limit,
        "window_seconds": args.window,
        "limit_requests_per_s": args.limit / args.window,
        "requests_per_sync": args.requests,
        "batch_size": args.batch,
        "targets": {"quota_use_with_store": 0.95, "requests_429": 0, "fairness_max_min": 1.5},
        "command": "python -m bench.fleet " + " ".join(argv if argv is not None else sys.argv[1:]),
        "runs": runs,
    }
    path = common.save_result("fleet", result)
    print(f"fleet → {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
