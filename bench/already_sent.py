"""The already-sent path: a full refresh of rows LinkedIn accepted before, against a dry run of the same rows.

One `python main.py write` into `bench.sink` fills the sent-events ledger (an SQLite file, as a user re-syncing on
one host has it); then, alternating, `--repeat` times each:
(a) a dry run of the same file (`dry_run`, the ledger off): mapping and validation, nothing sent;
(b) the same file written again as Airbyte runs it (CLI, stdin): every event is left out as already sent, so
    nothing reaches the sink, and each batch costs one claim in the ledger.
Both are CLI runs with the start-up (`python main.py spec`) subtracted; peak RSS of (b) is read from /proc.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import common
from bench.memory import peak_rss_of_write


def _cli_write(input_path: Path, config: dict[str, Any], directory: Path) -> tuple[float, int, list[str]]:
    """(seconds, peak RSS bytes, summary lines) of one CLI write of `input_path` with `config`."""
    config_path, catalog_path = common.write_files(directory, config)
    with open(directory / "out.jsonl", "wb") as out:
        peak, elapsed = peak_rss_of_write(input_path, config_path, catalog_path, stdout=out)
    summary = []
    for line in (directory / "out.jsonl").read_bytes().splitlines():
        message = json.loads(line)
        text = (message.get("log") or {}).get("message", "")
        if message.get("type") == "LOG" and text.startswith("Sync summary:"):
            summary.append(text)
    return elapsed, peak, summary


def _startup_seconds() -> float:
    started = common.clock()
    subprocess.run([sys.executable, "main.py", "spec"], cwd=common.ROOT, stdout=subprocess.DEVNULL, check=True)
    return common.clock() - started


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    runs: dict[str, list[float]] = {"dry_run": [], "already_sent": []}
    peaks: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-already-sent-") as tmp, common.sink_process() as sink:
        directory = Path(tmp)
        input_path = directory / "input.jsonl"
        common.write_input(input_path, args.records)
        ledger = {"store": "sqlite", "path": str(directory / "ledger.sqlite")}
        send = common.connector_config(sink.url, request_budget=ledger)
        _, _, first = _cli_write(input_path, send, directory)
        if common.sink_events(sink.url) != args.records:
            raise RuntimeError(f"the first write sent {common.sink_events(sink.url)} of {args.records} events")
        dry = common.connector_config(None, send_once=False)
        for _ in range(args.repeat):
            seconds, _, _ = _cli_write(input_path, dry, directory)
            runs["dry_run"].append(seconds - _startup_seconds())
            seconds, peak, summary = _cli_write(input_path, send, directory)
            runs["already_sent"].append(seconds - _startup_seconds())
            peaks.append(peak)
            if common.sink_events(sink.url) != args.records or f"{args.records:,} already sent" not in summary[-1]:
                raise RuntimeError(f"the second write sent something again: {summary[-1]}")
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {
        "command": "python -m bench.already_sent " + " ".join(argv if argv is not None else sys.argv[1:]),
        "records": args.records,
        "seconds": {name: [round(v, 3) for v in values] for name, values in runs.items()},
        "records_per_second": {name: round(args.records / max(m, 1e-9)) for name, m in medians.items()},
        "already_sent_over_dry_run_seconds": round(medians["already_sent"] / max(medians["dry_run"], 1e-9), 3),
        "peak_rss_mib": round(max(peaks) / 2**20, 1),
        "first_write_summary": first[-1] if first else None,
    }
    path = common.save_result("already_sent", result)
    print(
        f"already sent: {result['records_per_second']['already_sent']:,} records/s, "
        f"{result['already_sent_over_dry_run_seconds']}× the dry run's time, peak RSS {result['peak_rss_mib']} MiB "
        f"→ {path}",
        file=sys.stderr,
    )
    return result


if __name__ == "__main__":
    main()
