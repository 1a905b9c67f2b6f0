"""Where the time goes: a py-spy profile of the in-process write path into `bench.sink` (the
LinkedIn stand-in that accepts everything, so the profile is the connector's own work),
summarised per thread as the functions with the most samples of their own (self) time.

py-spy samples another process without slowing it; install it with `pip install -e '.[bench]'`.
Without it (or without ptrace rights) the profile is skipped and said so in the result file.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import common

TARGET = """
import logging, sys
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.airbyte.catalog import read_catalog
from destination_linkedin_capi.write.session import WriteSession
logging.getLogger("airbyte").setLevel(logging.WARNING)
config, catalog, data = sys.argv[1:4]
import orjson
with open(data, "rb") as handle:
    lines = handle.read().splitlines()
WriteSession(ConnectorConfig.parse(orjson.loads(open(config, "rb").read())), read_catalog(catalog), lambda m: None).run(lines)
"""


# Leaf frames that mean the thread is blocked, not computing: on a queue or an event, on the
# sandbox's answer, or on the GIL handed back after one of them.
WAITS = ("Condition.wait", "Event.wait", "Thread._wait_for_tstate_lock", "SocketIO.readinto")


def summarise(raw: Path, top: int) -> dict[str, Any]:
    """Per thread: its share of the write's samples (computing and waiting), and its top functions
    by self samples while computing."""
    threads: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    waiting: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any("WriteSession.run" in f or "_sender_loop" in f or "_watchdog_loop" in f for f in frames):
            continue  # start-up: imports and reading the input
        thread = "main" if "WriteSession.run" in stack else re.sub(r"^thread \(\d+\): ?", "", frames[0]) or "other"
        function = re.sub(r":\d+\)$", ")", frames[-1])
        total += int(count)
        if function.startswith(WAITS):
            waiting[thread] += int(count)
        else:
            threads[thread][function] += int(count)
    names = sorted(set(threads) | set(waiting), key=lambda name: -sum(threads[name].values()))
    return {
        "samples": total,
        "threads": {
            name: {
                "computing": round(sum(threads[name].values()) / total, 4),
                "waiting": round(waiting[name] / total, 4),
                "top_self": [
                    {"function": function, "share": round(n / total, 4)}
                    for function, n in threads[name].most_common(top)
                ],
            }
            for name in names
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--dry-run", action="store_true", help="profile a dry run (no HTTP) instead")
    args = parser.parse_args(argv)
    command = "python -m bench.profile " + " ".join(argv if argv is not None else sys.argv[1:])
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        result = {"skipped": "py-spy is not installed (pip install -e '.[bench]')", "command": command}
        common.save_result("profile", result)
        return result
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        directory = Path(tmp)
        data = directory / "input.jsonl"
        common.write_input(data, args.records)
        raw = directory / "profile.raw"
        with common.sink_process() as sink:
            config = common.connector_config(None if args.dry_run else sink.url)
            config_path, catalog_path = common.write_files(directory, config)
            target = [sys.executable, "-c", TARGET, str(config_path), str(catalog_path), str(data)]
            record = [py_spy, "record", "--rate", str(args.rate), "--format", "raw", "--output", str(raw), "--threads"]
            proc = subprocess.run([*record, "--", *target], capture_output=True, cwd=common.ROOT, check=False)
        if proc.returncode != 0 or not raw.exists():
            result = {"skipped": f"py-spy failed: {proc.stderr.decode()[-500:]}", "command": command}
        else:
            result = {"records": args.records, "mode": "dry run" if args.dry_run else "sink", "command": command}
            result.update(summarise(raw, args.top))
    path = common.save_result("profile_dry_run" if args.dry_run else "profile", result)
    print(f"profile → {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
