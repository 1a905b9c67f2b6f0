"""Quota use: with the sandbox enforcing a known request limit, how close the connector
gets to it (achieved request rate / limit, target ≥ 0.95) and how many 429s it meets (target 0).

The window is short so the run takes seconds: the sandbox allows `--limit` requests in any sliding
`--window` seconds, and the connector is told the same through its hidden options
`requests_per_minute` and `throttle_window_seconds`. Small batches make requests the scarce thing.
The steady-state rate is measured from the sandbox's arrival times: after the first window's burst
of `limit` requests, a perfect client sends `limit` more every `window` seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests

from bench import common


def arrival_times(url: str) -> list[float]:
    """The distinct arrival times of accepted batches (every event of a batch shares one)."""
    events = requests.get(f"{url}/_sandbox/events", timeout=60).json()["elements"]
    times: list[float] = []
    for event in events:
        if not times or event["_received_at"] != times[-1]:
            times.append(event["_received_at"])
    return times


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=100, help="requests per window (sandbox and connector)")
    parser.add_argument("--window", type=float, default=2.0, help="window length in seconds")
    parser.add_argument("--windows", type=int, default=6, help="how many windows' worth of requests to send")
    parser.add_argument("--batch", type=int, default=20, help="events per request")
    args = parser.parse_args(argv)
    requests_wanted = args.limit * args.windows
    records = requests_wanted * args.batch
    with tempfile.TemporaryDirectory(prefix="bench-quota-") as tmp:
        directory = Path(tmp)
        input_path = directory / "input.jsonl"
        common.write_input(input_path, records)
        with common.sandbox_process(
            directory, per_minute=str(args.limit), per_day="unlimited", window_seconds=args.window
        ) as sandbox:
            url = sandbox.url
            config = common.connector_config(
                url,
                batch_size=args.batch,
                requests_per_minute=args.limit,
                throttle_window_seconds=args.window,
            )
            config_path, catalog_path = common.write_files(directory, config)
            common.sandbox_reset(url)
            command = [sys.executable, "main.py", "write", "--config", str(config_path), "--catalog", str(catalog_path)]
            with open(input_path, "rb") as stdin:
                started = common.clock()
                proc = subprocess.run(command, stdin=stdin, capture_output=True, cwd=common.ROOT, check=False)
                elapsed = common.clock() - started
            if proc.returncode != 0:
                raise RuntimeError(f"write failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
            stats = common.sandbox_stats(url)
            times = arrival_times(url)
    batches = len(stats["batch_sizes"])
    throttled = stats["throttled"]
    limit_rate = args.limit / args.window
    # After the first window's burst, `limit` requests per window at best.
    steady = times[args.limit :]
    span = times[-1] - times[args.limit - 1] if len(times) > args.limit else float("nan")
    achieved = len(steady) / span if span > 0 else float("nan")
    result = {
        "limit_requests": args.limit,
        "window_seconds": args.window,
        "limit_requests_per_s": limit_rate,
        "records": records,
        "batch_size": args.batch,
        "requests_total": stats["requests"],
        "event_requests_accepted": batches,
        "requests_429": throttled,
        "by_status": stats["by_status"],
        "write_seconds": round(elapsed, 3),
        "steady_state_requests": len(steady),
        "steady_state_span_seconds": round(span, 3),
        "achieved_requests_per_s": round(achieved, 3),
        "quota_use": round(achieved / limit_rate, 4),
        "target_quota_use": 0.95,
        "target_429s": 0,
        "command": "python -m bench.quota " + " ".join(argv if argv is not None else sys.argv[1:]),
        "connector_config": {
            k: v for k, v in config.items() if k in ("batch_size", "requests_per_minute", "throttle_window_seconds")
        },
    }
    path = common.save_result("quota", result)
    print(
        f"quota use {achieved / limit_rate:.3f} ({achieved:.2f} of {limit_rate:.2f} requests/s), {throttled} 429s, "
        f"{batches} batches → {path}",
        file=sys.stderr,
    )
    return result


if __name__ == "__main__":
    main()
