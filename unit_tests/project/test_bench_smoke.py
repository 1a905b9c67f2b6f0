"""The benchmark scripts still run (`python -m bench --quick`: tiny sizes, no profile) and write
result files the performance page can be rendered from. Measures nothing: speed lives in `make bench`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_bench_quick_writes_valid_results_and_the_performance_block(tmp_path):
    doc = tmp_path / "performance.md"
    env = {**os.environ, "BENCH_RESULTS_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--docs", str(doc)], cwd=ROOT, env=env, capture_output=True
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    throughput = json.loads((tmp_path / "throughput.json").read_text())
    assert throughput["measurements"]["sandbox_in_process"]["records_per_s"] > 0
    assert throughput["measurements"]["sink_in_process"]["sandbox_cpu_seconds_median"] >= 0
    assert set(throughput["ratio_to_ceiling"]) == {"dry_run_in_process", "sink_in_process", "sandbox_in_process"}
    quota = json.loads((tmp_path / "quota.json").read_text())
    assert quota["requests_429"] == 0 and quota["event_requests_accepted"] == 20
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    assert [(run["store"], run["syncs"], run["requests_accepted"]) for run in fleet["runs"]] == [("redis", 2, 12)]
    memory = json.loads((tmp_path / "memory.json").read_text())
    assert [run["records"] for run in memory["runs"].values()] == [500, 1000]
    capacity = json.loads((tmp_path / "sandbox_capacity.json").read_text())
    assert set(capacity["measurements"]) == {"batch_stock", "single_stock", "batch_tuned_gc", "single_tuned_gc"}
    mapping = json.loads((tmp_path / "mapping.json").read_text())
    assert set(mapping["cpu_us_per_record"]) == {"HEAD", "this tree"} and mapping["records"] == 300
    already = json.loads((tmp_path / "already_sent.json").read_text())
    assert already["records"] == 2000 and already["records_per_second"]["already_sent"] > 0
    ledger = json.loads((tmp_path / "ledger_size.json").read_text())
    assert ledger["entries"] == 10_000 and ledger["sqlite"]["bytes_per_entry"] > 16 < ledger["redis"]["bytes_per_entry"]
    for result in (throughput, quota, fleet, memory, capacity, mapping, already, ledger):
        assert result["machine"]["cores"] and result["date"]
    text = doc.read_text()
    assert "### Throughput ratio" in text and "### Quota use" in text and "### Fleet" in text
    assert "### The ledger" in text and "### Already sent" in text
    assert "<!-- bench:end -->" in text
