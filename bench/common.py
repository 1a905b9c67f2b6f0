"""Shared pieces of the benchmarks: input files, a sandbox process, the connector config, results.

Benchmarks are scripts, not tests: every speed figure is a ratio of two measurements taken in the
same run (the machines are shared and noisy), and each measurement is the median of `repeat` runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import requests
from linkedin_capi_sandbox.cli import GC_THRESHOLDS

from devtools.sample_data import ACCOUNT, RULES, access_token_config, catalog, generate_lines

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or ROOT / "bench" / "results")
TOKEN = "AQX-bench-token"
RULES_BY_EVENT = {event.casefold(): rule for event, rule in RULES.items()}
SEED = {
    "tokens": [{"token": TOKEN, "accounts": {str(ACCOUNT): "ACCOUNT_MANAGER"}}],
    "rules": [
        {"account_id": ACCOUNT, "rule_id": rule, "type": event, "name": f"CAPI {event}"}
        for event, rule in RULES.items()
    ],
}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
    }


def write_input(path: Path, count: int, *, state_every: int = 100) -> int:
    """Generate `count` sample records (plus their STATEs) as JSON lines; return the number of lines."""
    lines = 0
    with open(path, "wb") as handle:
        chunk: list[bytes] = []
        for line in generate_lines(count, bad=False, state_every=state_every):
            chunk.append(line)
            if len(chunk) >= 10_000:
                handle.write(b"\n".join(chunk) + b"\n")
                lines += len(chunk)
                chunk.clear()
        if chunk:
            handle.write(b"\n".join(chunk) + b"\n")
            lines += len(chunk)
    return lines


def read_lines(path: Path) -> list[bytes]:
    with open(path, "rb") as handle:
        return handle.read().splitlines()


def connector_config(url: str | None, **overrides: Any) -> dict[str, Any]:
    """The connector config for the sandbox at `url` (None: a dry run). The client-side budget is
    600 requests per 0.1 s unless overridden, i.e. off for throughput runs."""
    return access_token_config(TOKEN, url, **{"throttle_window_seconds": 0.1, **overrides})


def write_files(directory: Path, config: dict[str, Any]) -> tuple[Path, Path]:
    config_path = directory / "config.json"
    catalog_path = directory / "catalog.json"
    config_path.write_text(json.dumps(config))
    catalog_path.write_text(json.dumps(catalog()))
    return config_path, catalog_path


@dataclass(frozen=True)
class SandboxProcess:
    url: str
    pid: int
    kind: str = "sandbox"  # or "sink" (bench.sink: accepts everything unchecked)

    def reset(self) -> None:
        """Forget what was sent so far."""
        if self.kind == "sink":
            sink_reset(self.url)
        else:
            sandbox_reset(self.url)

    def accepted(self) -> int:
        """Events accepted since the last reset."""
        if self.kind == "sink":
            return sink_events(self.url)
        return sum(sandbox_stats(self.url)["batch_sizes"])


# The sandbox's CLI collects garbage less often (`linkedin_capi_sandbox.cli.GC_THRESHOLDS`): it keeps every
# accepted event, and rescanning that growing store costs it much of its CPU. bench/sandbox_capacity.py measures
# the CLI as shipped and, for comparison, with Python's stock thresholds (`tuned_gc=False`).
SANDBOX_GC = "gc.set_threshold({}, {}, {})".format(*(f"{value:_}" for value in GC_THRESHOLDS))
#: The CLI with the thresholds it found left in place (the stock ones).
STOCK_GC_LAUNCHER = (
    "import gc, sys\nfrom linkedin_capi_sandbox import cli\n"
    "cli.GC_THRESHOLDS = gc.get_threshold()\nsys.exit(cli.main())"
)


@contextlib.contextmanager
def sandbox_process(
    directory: Path,
    *,
    per_minute: str = "unlimited",
    per_day: str = "unlimited",
    window_seconds: float = 60.0,
    tuned_gc: bool = True,
) -> Iterator[SandboxProcess]:
    """`linkedin-capi-sandbox` in its own process (as in production the API is not in the connector's process)."""
    seed = directory / "seed.json"
    seed.write_text(json.dumps(SEED))
    launcher = ["-m", "linkedin_capi_sandbox"] if tuned_gc else ["-c", STOCK_GC_LAUNCHER]
    proc = subprocess.Popen(
        [
            sys.executable,
            *launcher,
            "--port",
            "0",
            "--seed",
            str(seed),
            "--requests-per-minute",
            per_minute,
            "--requests-per-day",
            per_day,
            "--window-seconds",
            str(window_seconds),
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    with _served(proc, "SANDBOX_URL=", "sandbox") as served:
        yield served


@contextlib.contextmanager
def sink_process() -> Iterator[SandboxProcess]:
    """`bench.sink` in its own process: a LinkedIn stand-in that accepts every event unchecked."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.sink"], stdout=subprocess.PIPE, cwd=ROOT)
    with _served(proc, "SINK_URL=", "sink") as served:
        yield served


@contextlib.contextmanager
def _served(proc: subprocess.Popen[bytes], announce: str, kind: str) -> Iterator[SandboxProcess]:
    """The server `proc` started, once its first line announces its URL (`announce` + URL); stopped afterwards."""
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.startswith(announce):
            raise RuntimeError(f"the {kind} did not start: {line!r}")
        yield SandboxProcess(line.split("=", 1)[1], proc.pid, kind)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sink_events(url: str) -> int:
    return requests.get(f"{url}/_sink/stats", timeout=30).json()["events"]


def sink_reset(url: str) -> None:
    requests.delete(f"{url}/_sink/stats", timeout=30).raise_for_status()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sandbox_stats(url: str) -> dict[str, Any]:
    return requests.get(f"{url}/_sandbox/stats", timeout=30).json()


def sandbox_reset(url: str) -> None:
    requests.delete(f"{url}/_sandbox/events", timeout=60).raise_for_status()
    requests.delete(f"{url}/_sandbox/stats", timeout=30).raise_for_status()


def sandbox_forget_events(url: str) -> None:
    """Drop the events stored so far (keeps a long run's sandbox small); `stats` still counts them."""
    requests.delete(f"{url}/_sandbox/events", timeout=60).raise_for_status()


def save_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    path = RESULTS / f"{name}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    return path


def clock() -> float:
    return time.perf_counter()
