"""Throughput ratio: the write path's records/s against the bare `orjson.loads` ceiling of the same input.

(a) ceiling: `orjson.loads` of every line of the generated file, nothing else;
(b) a dry run: `WriteSession.run` over the file's lines in this process, no HTTP;
(c) `python main.py write` as Airbyte runs it (stdin from the file) into `bench.sink`, a LinkedIn
    stand-in in its own process that accepts everything unchecked; its rate is quoted with the
    CLI start-up (`python main.py spec`) subtracted. The in-process write path into the sink, and
    both runs into the strict sandbox (which validates and stores every event), are recorded too.
Each figure is the median of `--repeat` runs, and the ratios are taken inside this one run. CPU
seconds (connector and sink/sandbox processes) are recorded too: on a shared machine they say what
each side costs, whatever else is running.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench import common
from destination_linkedin_capi.airbyte.catalog import read_catalog
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.write.session import WriteSession

# (wall seconds, connector CPU seconds, sandbox CPU seconds or None)
Run = tuple[float, float, float | None]


def ceiling(lines: list[bytes]) -> Run:
    loads = orjson.loads
    cpu = time.process_time()
    started = common.clock()
    for line in lines:
        loads(line)
    return common.clock() - started, time.process_time() - cpu, None


def in_process(
    lines: list[bytes], config: dict[str, Any], catalog_path: Path, sandbox: common.SandboxProcess | None, records: int
) -> Run:
    if sandbox is not None:
        sandbox.reset()
        sandbox_cpu = common.process_cpu_seconds(sandbox.pid)
    states: list[dict[str, Any]] = []
    cpu = time.process_time()
    started = common.clock()
    session = WriteSession(ConnectorConfig.parse(config), read_catalog(str(catalog_path)), states.append)
    report = session.run(lines)
    elapsed = common.clock() - started
    cpu = time.process_time() - cpu
    if report.total_sent != records:
        raise RuntimeError(f"sent {report.total_sent} of {records}")
    if sandbox is None:
        return elapsed, cpu, None
    return elapsed, cpu, _sandbox_cpu_since(sandbox, sandbox_cpu, records)


def _sandbox_cpu_since(sandbox: common.SandboxProcess, started_cpu: float, records: int) -> float:
    """The peer's (sandbox or sink) CPU seconds since `started_cpu`, after confirming it took every record."""
    cpu = common.process_cpu_seconds(sandbox.pid) - started_cpu
    sent = sandbox.accepted()
    if sent != records:
        raise RuntimeError(f"the {sandbox.kind} accepted {sent} of {records}")
    return cpu


def cli(
    input_path: Path, config_path: Path, catalog_path: Path, sandbox: common.SandboxProcess | None, records: int
) -> Run:
    """`python main.py write` as Airbyte runs it (stdin from the file); `sandbox` None: `spec` only (start-up)."""
    if sandbox is None:
        command = [sys.executable, "main.py", "spec"]
        stdin_path = os.devnull
    else:
        sandbox.reset()
        sandbox_cpu = common.process_cpu_seconds(sandbox.pid)
        command = [sys.executable, "main.py", "write", "--config", str(config_path), "--catalog", str(catalog_path)]
        stdin_path = str(input_path)
    with open(stdin_path, "rb") as stdin:
        started = common.clock()
        proc = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, cwd=common.ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = common.clock() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command[1:3])} exited {os.waitstatus_to_exitcode(status)}")
    cpu = usage.ru_utime + usage.ru_stime
    if sandbox is None:
        return elapsed, cpu, None
    return elapsed, cpu, _sandbox_cpu_since(sandbox, sandbox_cpu, records)


def _sandbox_runs(
    args: argparse.Namespace,
    measure: Callable[..., None],
    directory: Path,
    lines: list[bytes],
    input_path: Path,
    records: int,
) -> None:
    """The same write path into the strict sandbox (which validates and stores every event)."""
    with common.sandbox_process(directory) as sandbox:
        config = common.connector_config(sandbox.url, **({"send_once": False} if args.send_once_off else {}))
        config_path, catalog_path = common.write_files(directory, config)
        measure("sandbox_in_process", lambda: in_process(lines, config, catalog_path, sandbox, records))
        if not args.no_cli:
            measure("sandbox_cli", lambda: cli(input_path, config_path, catalog_path, sandbox, records))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="skip the `python main.py` subprocess runs")
    parser.add_argument("--no-sandbox", action="store_true", help="skip the runs into the (validating) sandbox")
    parser.add_argument(
        "--send-once-off", action="store_true", help="Send each conversion once off (the ledger's cost, by difference)"
    )
    args = parser.parse_args(argv)
    once = {"send_once": False} if args.send_once_off else {}
    logging.getLogger("airbyte").setLevel(logging.WARNING)
    records = args.records
    results: dict[str, Any] = {}

    def measure(name: str, run: Callable[[], Run], count: int = records) -> None:
        runs = [run() for _ in range(args.repeat)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        entry: dict[str, Any] = {
            "seconds_median": round(wall, 4),
            "seconds_runs": [round(r[0], 4) for r in runs],
            "records_per_s": round(count / wall) if count else None,
            "connector_cpu_seconds_median": round(cpu, 4),
            "connector_cpu_us_per_record": round(1e6 * cpu / count, 3) if count else None,
        }
        if runs[0][2] is not None:
            sandbox_cpu = statistics.median(r[2] or 0.0 for r in runs)
            entry["sandbox_cpu_seconds_median"] = round(sandbox_cpu, 4)
            entry["sandbox_cpu_us_per_record"] = round(1e6 * sandbox_cpu / count, 3)
        results[name] = entry
        rate = f"{count / wall:,.0f} records/s" if count else f"{wall:.2f} s"
        print(f"{name}: {rate} (runs {[round(r[0], 3) for r in runs]} s)", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        directory = Path(tmp)
        input_path = directory / "input.jsonl"
        line_count = common.write_input(input_path, records)
        lines = common.read_lines(input_path)
        size = input_path.stat().st_size
        measure("ceiling_orjson_loads", lambda: ceiling(lines), line_count)
        dry_config = common.connector_config(None, **once)
        _, catalog_path = common.write_files(directory, dry_config)
        measure("dry_run_in_process", lambda: in_process(lines, dry_config, catalog_path, None, records))
        with common.sink_process() as sink:
            config = common.connector_config(sink.url, **once)
            config_path, catalog_path = common.write_files(directory, config)
            measure("sink_in_process", lambda: in_process(lines, config, catalog_path, sink, records))
            if not args.no_cli:
                measure("sink_cli", lambda: cli(input_path, config_path, catalog_path, sink, records))
                measure("cli_start_up_spec", lambda: cli(input_path, config_path, catalog_path, None, 0), 0)
        if not args.no_sandbox:
            _sandbox_runs(args, measure, directory, lines, input_path, records)
    ceiling_rate = results["ceiling_orjson_loads"]["records_per_s"]
    ratios = {
        name: round(value["records_per_s"] / ceiling_rate, 4)
        for name, value in results.items()
        if value["records_per_s"] and name != "ceiling_orjson_loads"
    }
    if "cli_start_up_spec" in results:
        start_up = results["cli_start_up_spec"]["seconds_median"]
        start_up_cpu = results["cli_start_up_spec"]["connector_cpu_seconds_median"]
        for name in ("sink_cli", "sandbox_cli"):
            if name in results:
                entry = results[name]
                net = entry["seconds_median"] - start_up
                entry["records_per_s_after_start_up"] = round(records / net)
                entry["connector_cpu_us_per_record_after_start_up"] = round(
                    1e6 * (entry["connector_cpu_seconds_median"] - start_up_cpu) / records, 3
                )
                ratios[f"{name}_after_start_up"] = round(records / net / ceiling_rate, 4)
    result = {
        "records": records,
        "lines": line_count,
        "input_bytes": size,
        "bytes_per_line": round(size / line_count),
        "repeat": args.repeat,
        "command": "python -m bench.throughput " + " ".join(argv if argv is not None else sys.argv[1:]),
        "measurements": results,
        "ratio_to_ceiling": ratios,
        "guard": _guard(results, ratios),
    }
    path = common.save_result("throughput", result)
    print(f"ratios: {ratios} → {path}", file=sys.stderr)
    return result


#: The write path's guard: `python main.py write` into the sink, start-up subtracted, at least this share of the
#: `orjson.loads` rate and at most this much connector CPU a record (docs/performance.md).
GUARD_RATIO = 0.08
GUARD_CPU_US = 12.0


def _guard(results: dict[str, Any], ratios: dict[str, float]) -> dict[str, Any] | None:
    """The guard's figures for this run: the ratio by wall clock and by CPU time, the CPU µs, and whether each holds."""
    entry = results.get("sink_cli")
    if entry is None or "connector_cpu_us_per_record_after_start_up" not in entry:
        return None
    cpu_us = entry["connector_cpu_us_per_record_after_start_up"]
    cpu_ratio = round(results["ceiling_orjson_loads"]["connector_cpu_us_per_record"] / cpu_us, 4)
    wall_ratio = ratios["sink_cli_after_start_up"]
    return {
        "ratio_min": GUARD_RATIO,
        "cpu_us_max": GUARD_CPU_US,
        "ratio": wall_ratio,
        "ratio_by_cpu": cpu_ratio,
        "cpu_us": cpu_us,
        "met": wall_ratio >= GUARD_RATIO and cpu_us <= GUARD_CPU_US,
    }


if __name__ == "__main__":
    main()
