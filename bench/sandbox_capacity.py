"""Sandbox capacity (issue 8): how many requests and events per second the sandbox serves, so it
is known whether it, rather than the connector, bounds the throughput benchmark.

A minimal client (http.client, one keep-alive connection, bodies serialised once beforehand)
posts realistic BATCH_CREATE requests of `--batch` events made by the connector's own mapper, and
single-event requests. The sandbox's CPU seconds per request come from /proc (Linux).
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench import common
from destination_linkedin_capi import constants as c
from destination_linkedin_capi.config import ConnectorConfig
from destination_linkedin_capi.mapping import ConversionEvent, RecordMapper
from destination_linkedin_capi.session import read_catalog


def elements(count: int, directory: Path) -> list[dict[str, Any]]:
    """`count` valid events as the connector would send them."""
    config = common.connector_config(None)
    _, catalog_path = common.write_files(directory, config)
    mapper = RecordMapper(ConnectorConfig.parse(config), common.RULES_BY_EVENT, read_catalog(str(catalog_path)))
    out = []
    for line in common.generate_lines(count, bad=False, state_every=10**9):
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            result = mapper.map(message["record"]["stream"], None, message["record"]["data"])
            assert isinstance(result, ConversionEvent)
            out.append(result.payload)
    return out


def sandbox_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        with common.sandbox_process(directory) as sandbox:
            url, pid = sandbox.url, sandbox.pid
            for name, bodies, per_request, batch in (
                ("batch", [batch_body] * args.batches, args.batch, True),
                ("single", single_bodies, 1, False),
            ):
                runs = []
                cpu = []
                for _ in range(args.repeat):
                    common.sandbox_reset(url)
                    before = sandbox_cpu_seconds(pid)
                    runs.append(post_all(url, bodies, batch=batch))
                    cpu.append(sandbox_cpu_seconds(pid) - before)
                runs_sorted = sorted(range(len(runs)), key=runs.__getitem__)
                middle = runs_sorted[len(runs) // 2]
                seconds = runs[middle]
                results[name] = {
                    "events_per_request": per_request,
                    "requests": len(bodies),
                    "body_bytes": len(bodies[0]),
                    "seconds_runs": [round(r, 4) for r in runs],
                    "requests_per_s": round(len(bodies) / seconds, 1),
                    "events_per_s": round(len(bodies) * per_request / seconds),
                    "ms_per_request": round(1000 * seconds / len(bodies), 3),
                    "sandbox_cpu_ms_per_request": round(1000 * cpu[middle] / len(bodies), 3),
                }
                print(
                    f"sandbox {name}: {len(bodies) / seconds:,.1f} requests/s, "
                    f"{len(bodies) * per_request / seconds:,.0f} events/s, "
                    f"sandbox CPU {1000 * cpu[middle] / len(bodies):.2f} ms/request",
                    file=sys.stderr,
                )
    result = {
        "repeat": args.repeat,
        "command": "python -m bench.sandbox_capacity " + " ".join(argv if argv is not None else sys.argv[1:]),
        "measurements": results,
    }
    path = common.save_result("sandbox_capacity", result)
    print(f"→ {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
