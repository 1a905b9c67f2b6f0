"""Bad input that is fine line by line but harmful in bulk (issue: memory and summary size), run through the real
`python main.py write` in a subprocess (dry run: nothing here depends on LinkedIn's answers):

- wide records whose key sets all differ must not grow memory with the number of key sets: the mapper's layout
  cache is bounded by the keys it holds, and huge key sets are never cached (peak RSS read from the child's own
  `/proc/self/status` `VmHWM`, as bench/memory.py reads it);
- records of very many unknown streams must not make the summary quadratic or one line per stream.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.sample_data import access_token_config, catalog

ROOT = Path(__file__).resolve().parent.parent
PEAK_RSS_LIMIT = 300 * 1024 * 1024

# Runs the connector's CLI, then writes the process's peak resident set (VmHWM, bytes) to the file named first.
CHILD = """
import atexit, runpy, sys
from pathlib import Path

report = Path(sys.argv.pop(1))

def peak() -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            report.write_text(str(int(line.split()[1]) * 1024))

atexit.register(peak)
sys.argv = ["main.py", *sys.argv[1:]]
runpy.run_path("main.py", run_name="__main__")
"""


def run_dry(tmp_path: Path, lines: Iterator[bytes]) -> tuple[int, list[dict], int]:
    """(exit code, stdout messages, peak RSS in bytes) of a dry-run `write` fed `lines` through a pipe."""
    config_path, catalog_path, peak_path = tmp_path / "config.json", tmp_path / "catalog.json", tmp_path / "peak"
    config_path.write_text(json.dumps(access_token_config("unused", None)))
    catalog_path.write_text(json.dumps(catalog()))
    command = [sys.executable, "-c", CHILD, str(peak_path), "write", "--config", str(config_path)]
    proc = subprocess.Popen(
        [*command, "--catalog", str(catalog_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )

    def feed() -> None:
        assert proc.stdin is not None
        try:
            for line in lines:
                proc.stdin.write(line + b"\n")
        finally:
            proc.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    assert proc.stdout is not None
    messages = [json.loads(raw) for raw in proc.stdout]
    code = proc.wait(timeout=300)
    feeder.join()
    return code, messages, int(peak_path.read_text())


def wide_records(records: int, keys: int) -> Iterator[bytes]:
    """RECORD lines of stream `leads`, each with `keys` keys no other record has (40-character names)."""
    for n in range(records):
        fields = ",".join(f'"column_{n:05d}_{k:06d}_of_a_very_wide_table":1' for k in range(keys))
        yield f'{{"type":"RECORD","record":{{"stream":"leads","data":{{{fields}}}}}}}'.encode()


@pytest.mark.timeout(300)
def test_wide_records_whose_key_sets_all_differ_stay_under_300_mb(tmp_path: Path):
    """500 records of 10,000 distinct keys each: the old cache (4,096 entries) kept every key set, ~0.5 GB."""
    code, messages, peak = run_dry(tmp_path, wide_records(500, 10_000))
    assert code == 0
    logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    assert any(line.startswith("Sync summary: 500 records read, 0 would be sent, 500 rejected") for line in logs)
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MB"


@pytest.mark.timeout(300)
def test_the_summary_of_100k_unknown_streams_is_bounded(tmp_path: Path):
    """One record on each of 100,000 streams the catalog does not know: the summary has at most 100 stream lines
    and one "and N more streams" line (it used to print one line per stream, after minutes of CPU)."""
    lines = (
        f'{{"type":"RECORD","record":{{"stream":"unknown_{n}","data":{{"email":"a@b.c"}}}}}}'.encode()
        for n in range(100_000)
    )
    code, messages, _ = run_dry(tmp_path, lines)
    assert code == 0
    logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    assert sum(line.startswith("  stream ") for line in logs) == 100
    assert "  and 99,900 more streams: read 99,900, would be sent 0, rejected 0" in logs
    assert any(line.startswith("  ignored unknown_stream: 100,000 ") for line in logs)
