"""Memory: peak RSS of `python main.py write` at 100k and 1M records into the sandbox.

Target: the two peaks within 10% of each other, i.e. memory bounded by the batches in flight
(the open one, two queued, one being sent), not by the input. The input streams from a file on
stdin, as Airbyte pipes it; the sandbox's stored events are cleared every few seconds so the
sandbox process (not measured) stays small and fast. Peak RSS is the child's `VmHWM` (Linux /proc).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import common

POLL_SECONDS = 0.02


def _high_water_bytes(pid: int) -> int | None:
    """The process's peak resident set so far (`VmHWM`), None once it has exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def peak_rss_of_write(
    input_path: Path, config_path: Path, catalog_path: Path, stdout: Any = subprocess.DEVNULL
) -> tuple[int, float]:
    """(peak RSS in bytes, seconds) of one `python main.py write` run, its output to `stdout`.

    Read from /proc while it runs: `ru_maxrss` would also count the pages the child shared with
    this (larger) process between fork and exec.
    """
    command = [sys.executable, "main.py", "write", "--config", str(config_path), "--catalog", str(catalog_path)]
    peak = 0
    with open(input_path, "rb") as stdin:
        started = common.clock()
        proc = subprocess.Popen(command, stdin=stdin, stdout=stdout, cwd=common.ROOT)
        while proc.poll() is None:
            peak = max(peak, _high_water_bytes(proc.pid) or 0)
            time.sleep(POLL_SECONDS)
        elapsed = common.clock() - started
    if proc.returncode != 0:
        raise RuntimeError(f"write exited {proc.returncode}")
    return peak, elapsed


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated record counts")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        directory = Path(tmp)
        with common.sandbox_process(directory) as sandbox:
            config_path, catalog_path = common.write_files(directory, common.connector_config(sandbox.url))
            for size in sizes:
                input_path = directory / f"input-{size}.jsonl"
                common.write_input(input_path, size)
                common.sandbox_reset(sandbox.url)
                stop = threading.Event()

                def drain(stop: threading.Event = stop) -> None:
                    while not stop.wait(3.0):
                        common.sandbox_forget_events(sandbox.url)

                drainer = threading.Thread(target=drain, daemon=True)
                drainer.start()
                try:
                    peak, seconds = peak_rss_of_write(input_path, config_path, catalog_path)
                finally:
                    stop.set()
                    drainer.join()
                accepted = sum(common.sandbox_stats(sandbox.url)["batch_sizes"])
                if accepted != size:
                    raise RuntimeError(f"the sandbox accepted {accepted} of {size} events")
                runs[str(size)] = {
                    "records": size,
                    "input_bytes": input_path.stat().st_size,
                    "peak_rss_bytes": peak,
                    "peak_rss_mib": round(peak / 2**20, 1),
                    "seconds": round(seconds, 2),
                }
                print(f"memory {size:,} records: peak RSS {peak / 2**20:,.1f} MiB in {seconds:.1f} s", file=sys.stderr)
                input_path.unlink()
    peaks = [run["peak_rss_bytes"] for run in runs.values()]
    spread = max(peaks) / min(peaks) - 1
    result = {
        "command": "python -m bench.memory " + " ".join(argv if argv is not None else sys.argv[1:]),
        "runs": runs,
        "largest_over_smallest_minus_1": round(spread, 4),
        "target_spread": 0.10,
    }
    path = common.save_result("memory", result)
    print(f"peak RSS spread {spread:.1%} → {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
