"""`linkedin-capi-sandbox`: run the sandbox as a process and print `SANDBOX_URL=...` once listening.

The one stdout line is the contract for scripts (the README demo, benchmarks, CI), so nothing
else is ever printed there; errors go to stderr. SIGTERM and SIGINT stop it cleanly (exit 0).

The process collects garbage less often than Python's default (`GC_THRESHOLDS`): the sandbox keeps every
accepted event, and rescanning that growing store costs it a good part of its CPU per batch (docs/performance.md
has the numbers). Only this process: the pytest fixture's in-process sandbox leaves the test's GC alone.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from linkedin_capi_sandbox import facts
from linkedin_capi_sandbox.app import Sandbox

#: `gc.set_threshold` of the sandbox process: young collections every 100,000 allocations instead of 700.
GC_THRESHOLDS = (100_000, 50, 100)


@contextlib.contextmanager
def tuned_gc() -> Iterator[None]:
    """The server's GC thresholds while it runs; the previous ones afterwards (so a caller's process is as before)."""
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _limit(text: str) -> int | None:
    if text.strip().lower() == "unlimited":
        return None
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0 or 'unlimited'")
    return value


def _versions(text: str) -> set[str]:
    versions = {part.strip() for part in text.split(",") if part.strip()}
    bad = sorted(v for v in versions if not (len(v) == 6 and v.isdigit()))
    if bad:
        raise argparse.ArgumentTypeError(f"versions must be YYYYMM, not {', '.join(bad)}")
    return versions


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkedin-capi-sandbox", description="A strict local LinkedIn Conversions API for tests and demos."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--seed", help="JSON seed file: accounts, tokens, rules, ... (docs/sandbox.md)")
    parser.add_argument(
        "--requests-per-minute",
        type=_limit,
        default=facts.MAX_REQUESTS_PER_MINUTE,
        help="requests per window and token, or 'unlimited'",
    )
    parser.add_argument(
        "--requests-per-day",
        type=_limit,
        default=facts.DEFAULT_REQUESTS_PER_DAY,
        help="requests per day and token, or 'unlimited'",
    )
    parser.add_argument("--window-seconds", type=float, default=60.0, help="length of the request window (default 60)")
    parser.add_argument(
        "--rule-creation-latency",
        type=float,
        default=0.0,
        help="seconds a conversion rule creation takes before the rule exists (default 0)",
    )
    parser.add_argument(
        "--sunset", type=_versions, help="comma-separated versions answering 426, replacing the defaults"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tuned_gc():
        return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    sandbox = Sandbox(
        requests_per_minute=args.requests_per_minute,
        requests_per_day=args.requests_per_day,
        window_seconds=args.window_seconds,
        sunset_versions=args.sunset,
        rule_creation_latency=args.rule_creation_latency,
    )
    if args.seed:
        try:
            with open(args.seed, encoding="utf-8") as handle:
                sandbox.seed(json.load(handle))
        except (OSError, ValueError) as exc:
            print(f"linkedin-capi-sandbox: cannot load seed {args.seed}: {exc}", file=sys.stderr)
            return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        sandbox.start(args.host, args.port)
    except OSError as exc:
        print(f"linkedin-capi-sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(f"SANDBOX_URL={sandbox.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0
