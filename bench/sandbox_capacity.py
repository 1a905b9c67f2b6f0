"""Sandbox capacity: how many requests and events per second the sandbox serves, so it
is known whether it, rather than the connector, bounds the throughput benchmark.

A minimal client (http.client, one keep-alive connection, bodies serialised once beforehand)
posts realistic BATCH_CREATE requests of `--batch` events made by the connector's own mapper, and
single-event requests. The sandbox's CPU seconds per request come from /proc (Linux).
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench import common
from destination_linkedin_capi import constants as c
from destination_linkedin_capi.airbyte.catalog import read_catalog
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.results import ConversionEvent


def elements(count: int, directory: Path) -> list[dict[str, Any]]:
    """`count` valid events as the connector would send them."""
    config = common.connector_config(None)
    _, catalog_path = common.write_files(directory, config)
    streams = read_catalog(str(catalog_path))
    mapper = RecordMapper(ConnectorConfig.parse(config), common.RULES_BY_EVENT, streams)
    map_record = {stream: mapper.for_stream(namespace, stream) for namespace, stream in streams}
    out = []
    for line in common.generate_lines(count, bad=False, state_every=10**9):
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            result = map_record[message["record"]["stream"]](message["record"]["data"])
            assert isinstance(result, ConversionEvent)
            out.append(result.payload)
    return out


def post_all(url: str, bodies: list[bytes], *, batch: bool) -> float:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {
        "Authorization": f"Bearer {common.TOKEN}",
        "LinkedIn-Version": c.DEFAULT_API_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
        "Content-Type": "application/json",
    }
    if batch:
        headers["X-RestLi-Method"] = "BATCH_CREATE"
    started = common.clock()
    for body in bodies:
        connection.request("POST", c.CONVERSION_EVENTS_PATH, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"the sandbox answered {response.status}")
    elapsed = common.clock() - started
    connection.close()
    return elapsed


def measure(
    sandbox: common.SandboxProcess, bodies: list[bytes], per_request: int, batch: bool, repeat: int
) -> dict[str, Any]:
    """The median of `repeat` runs; the store is emptied before each, then grows as in a sync."""
    runs = []
    for _ in range(repeat):
        common.sandbox_reset(sandbox.url)
        before = common.process_cpu_seconds(sandbox.pid)
        seconds = post_all(sandbox.url, bodies, batch=batch)
        runs.append((seconds, common.process_cpu_seconds(sandbox.pid) - before))
    seconds, cpu = sorted(runs)[len(runs) // 2]
    return {
        "events_per_request": per_request,
        "requests": len(bodies),
        "body_bytes": len(bodies[0]),
        "seconds_runs": [round(r[0], 4) for r in runs],
        "requests_per_s": round(len(bodies) / seconds, 1),
        "events_per_s": round(len(bodies) * per_request / seconds),
        "ms_per_request": round(1000 * seconds / len(bodies), 3),
        "sandbox_cpu_ms_per_request": round(1000 * cpu / len(bodies), 3),
        "sandbox_cpu_events_per_s": round(len(bodies) * per_request / cpu) if cpu else None,
    }


def summary(entry: dict[str, Any]) -> str:
    return (
        f"{entry['requests_per_s']:,.1f} requests/s, {entry['events_per_s']:,} events/s, "
        f"sandbox CPU {entry['sandbox_cpu_ms_per_request']:.2f} ms/request"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=5000, help="events per BATCH_CREATE request")
    parser.add_argument("--batches", type=int, default=20, help="batch requests per measurement")
    parser.add_argument("--singles", type=int, default=2000, help="single-event requests per measurement")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        directory = Path(tmp)
        events = elements(args.batch, directory)
        batch_body = orjson.dumps({"elements": events})
        single_bodies = [orjson.dumps(events[i % len(events)]) for i in range(args.singles)]
        for gc_setting, tuned in (("stock", False), ("tuned_gc", True)):
            with common.sandbox_process(directory, tuned_gc=tuned) as sandbox:
                for name, bodies, per_request, batch in (
                    ("batch", [batch_body] * args.batches, args.batch, True),
                    ("single", single_bodies, 1, False),
                ):
                    results[f"{name}_{gc_setting}"] = measure(sandbox, bodies, per_request, batch, args.repeat)
                    print(f"sandbox ({gc_setting}) {name}: {summary(results[f'{name}_{gc_setting}'])}", file=sys.stderr)
    result = {
        "repeat": args.repeat,
        "command": "python -m bench.sandbox_capacity " + " ".join(argv if argv is not None else sys.argv[1:]),
        "measurements": results,
        "tuned_gc": common.SANDBOX_GC,
    }
    path = common.save_result("sandbox_capacity", result)
    print(f"→ {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
