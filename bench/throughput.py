"""Throughput ratio (issue 8): the write path's records/s against the bare `orjson.loads` ceiling of the same input.

(a) ceiling: `orjson.loads` of every line of the generated file, nothing else;
(b) the in-process write path (`WriteSession.run` over the file's lines, as `python main.py write`
    runs it) into the sandbox in its own process with its quotas off; also the whole
    `python main.py write` CLI (start-up included) and a dry run (no HTTP) for reference.
Each figure is the median of `--repeat` runs; the ratios are taken inside this one run.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench import common
from destination_linkedin_capi.config import ConnectorConfig
from destination_linkedin_capi.session import WriteSession, read_catalog


def ceiling(lines: list[bytes]) -> float:
    loads = orjson.loads
    started = common.clock()
    for line in lines:
        loads(line)
    return common.clock() - started


def in_process(lines: list[bytes], config: dict[str, Any], catalog_path: Path, url: str | None, records: int) -> float:
    if url is not None:
        common.sandbox_reset(url)
    states: list[dict[str, Any]] = []
    started = common.clock()
    session = WriteSession(ConnectorConfig.parse(config), read_catalog(str(catalog_path)), states.append)
    report = session.run(lines)
    elapsed = common.clock() - started
    if report.total_sent != records:
        raise RuntimeError(f"sent {report.total_sent} of {records}")
    if url is not None:
        sent = sum(common.sandbox_stats(url)["batch_sizes"])
        if sent != records:
            raise RuntimeError(f"the sandbox accepted {sent} of {records}")
    return elapsed


def cli(input_path: Path, config_path: Path, catalog_path: Path, url: str, records: int) -> float:
    common.sandbox_reset(url)
    command = [sys.executable, "main.py", "write", "--config", str(config_path), "--catalog", str(catalog_path)]
    with open(input_path, "rb") as stdin:
        started = common.clock()
        proc = subprocess.run(command, stdin=stdin, stdout=subprocess.DEVNULL, cwd=common.ROOT, check=True)
        elapsed = common.clock() - started
    del proc
    sent = sum(common.sandbox_stats(url)["batch_sizes"])
    if sent != records:
        raise RuntimeError(f"the sandbox accepted {sent} of {records}")
    return elapsed


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="skip the `python main.py write` subprocess runs")
    args = parser.parse_args(argv)
    logging.getLogger("airbyte").setLevel(logging.WARNING)
    records = args.records
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        directory = Path(tmp)
        input_path = directory / "input.jsonl"
        line_count = common.write_input(input_path, records)
        lines = common.read_lines(input_path)
        size = input_path.stat().st_size
        results: dict[str, Any] = {}

        def rate(name: str, measure: Any) -> None:
            median, runs = common.median_of(args.repeat, measure)
            results[name] = {
                "seconds_median": round(median, 4),
                "seconds_runs": [round(r, 4) for r in runs],
                "records_per_s": round(records / median),
            }
            print(
                f"{name}: {records / median:,.0f} records/s (median of {[round(r, 3) for r in runs]} s)",
                file=sys.stderr,
            )

        rate("ceiling_orjson_loads", lambda: ceiling(lines))
        dry_config = common.connector_config(None)
        _, catalog_path = common.write_files(directory, dry_config)
        rate("dry_run_in_process", lambda: in_process(lines, dry_config, catalog_path, None, records))
        with common.sandbox_process(directory) as sandbox:
            url = sandbox.url
            config = common.connector_config(url)
            config_path, catalog_path = common.write_files(directory, config)
            rate("sandbox_in_process", lambda: in_process(lines, config, catalog_path, url, records))
            if not args.no_cli:
                rate("sandbox_cli", lambda: cli(input_path, config_path, catalog_path, url, records))
        ceiling_rate = results["ceiling_orjson_loads"]["records_per_s"]
        ratios = {
            name: round(value["records_per_s"] / ceiling_rate, 4)
            for name, value in results.items()
            if name != "ceiling_orjson_loads"
        }
    result = {
        "records": records,
        "lines": line_count,
        "input_bytes": size,
        "bytes_per_line": round(size / line_count),
        "repeat": args.repeat,
        "command": "python -m bench.throughput " + " ".join(argv if argv is not None else sys.argv[1:]),
        "measurements": results,
        "ratio_to_ceiling": ratios,
        "target_ratio": 0.25,
        "cpu_count": os.cpu_count(),
    }
    path = common.save_result("throughput", result)
    print(f"ratios: {ratios} → {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
