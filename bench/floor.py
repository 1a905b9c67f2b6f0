"""The floor under the dry-run target: what a loop costs that does only the work no mapping of the sample
records can avoid, against the `orjson.loads` ceiling and the connector's dry run, in one process.

The floor loop parses each line, reads the envelope and counts the record per stream, parses its ISO time
to epoch milliseconds, trims, lowercases and hashes the email (SHA-256, hex), copies `li_fat_id`, trims the
four name fields (NFC when not ASCII), looks the country up, hashes the derived eventId the connector
would (`[namespace, stream, event, [id]]`), builds the payload as LinkedIn wants it and keeps it until
its chunk of 256 is dropped, as a dry run does. None of the connector's checks run (event routing, the
age window, blanks, address syntax, identifier rules, amounts, notes, states), so the connector cannot be
cheaper than this on CPython. The three are run in turn, `--repeat` times, each timed with
`time.process_time`; the ratios are taken from the medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench import common
from destination_linkedin_capi.airbyte.catalog import read_catalog
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping import normalize
from destination_linkedin_capi.write.session import WriteSession

_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EVENTS = {"leads": "LEAD", "purchases": "PURCHASE", "signups": "SIGN_UP"}


def floor(lines: list[bytes]) -> float:
    """CPU seconds of the stripped-down loop over `lines`."""
    loads, dumps, sha256, fromisoformat = orjson.loads, orjson.dumps, normalize.sha256, dt.datetime.fromisoformat
    clean = normalize.clean_text
    prefixes = {stream: normalize.event_id_prefix(None, stream, event) + b"[" for stream, event in _EVENTS.items()}
    countries: dict[str, str | None] = {}
    read: dict[str, int] = {}
    chunk: list[dict[str, Any]] = []
    started = time.process_time()
    for line in lines:
        message = loads(line)
        if message.get("type") != "RECORD":
            continue
        record = message["record"]
        stream = record["stream"]
        read[stream] = read.get(stream, 0) + 1
        data = record["data"]
        delta = fromisoformat(data["event_time"]) - _UTC_EPOCH
        happened = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
        user_ids = []
        email = data.get("email")
        if email:
            hashed = sha256(email.strip().lower().encode()).hexdigest()
            user_ids.append({"idType": "SHA256_EMAIL", "idValue": hashed})
        click = data.get("li_fat_id")
        if click:
            user_ids.append({"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "idValue": click.strip()})
        user: dict[str, Any] = {"userIds": user_ids}
        if "first_name" in data:
            info = {"firstName": clean(data["first_name"]), "lastName": clean(data.get("last_name"))}
            if company := clean(data.get("company")):
                info["companyName"] = company
            if title := clean(data.get("title")):
                info["title"] = title
            country = data.get("country")
            if country is not None:
                code = countries.get(country)
                if code is None:
                    code = countries[country] = normalize.country_alpha2(country)
                if code:
                    info["countryCode"] = code
            user["userInfo"] = info
        event_id = sha256(prefixes[stream] + dumps(data["id"]) + b"]]").hexdigest()[:32]
        payload: dict[str, Any] = {
            "conversion": "urn:lla:llaPartnerConversion:1",
            "conversionHappenedAt": happened,
            "eventId": event_id,
            "user": user,
        }
        value = data.get("value")
        if value is not None:
            payload["conversionValue"] = {"currencyCode": data.get("currency"), "amount": value}
        chunk.append(payload)
        if len(chunk) >= 256:
            chunk = []
    return time.process_time() - started


def ceiling(lines: list[bytes]) -> float:
    loads = orjson.loads
    started = time.process_time()
    for line in lines:
        loads(line)
    return time.process_time() - started


def dry_run(lines: list[bytes], config: dict[str, Any], catalog_path: Path, records: int) -> float:
    started = time.process_time()
    report = WriteSession(ConnectorConfig.parse(config), read_catalog(str(catalog_path)), [].append).run(lines)
    if report.total_sent != records:
        raise RuntimeError(f"the dry run would send {report.total_sent} of {records}")
    return time.process_time() - started


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    logging.getLogger("airbyte").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as scratch:
        directory = Path(scratch)
        input_path = directory / "input.jsonl"
        common.write_input(input_path, args.records)
        lines = common.read_lines(input_path)
        config = common.connector_config(None)
        _, catalog_path = common.write_files(directory, config)
        runs: dict[str, list[float]] = {"ceiling": [], "floor": [], "dry_run": []}
        for _ in range(args.repeat):
            runs["ceiling"].append(ceiling(lines) / len(lines))
            runs["floor"].append(floor(lines) / args.records)
            runs["dry_run"].append(dry_run(lines, config, catalog_path, args.records) / args.records)
    medians = {name: statistics.median(values) * 1e6 for name, values in runs.items()}
    result: dict[str, Any] = {
        "records": args.records,
        "repeat": args.repeat,
        "cpu_us": {
            name: {"median": round(medians[name], 3), "runs": [round(v * 1e6, 3) for v in values]}
            for name, values in runs.items()
        },
        "ratio_to_ceiling": {
            "floor": round(medians["ceiling"] / medians["floor"], 3),
            "dry_run": round(medians["ceiling"] / medians["dry_run"], 3),
        },
        "dry_run_over_floor": round(medians["dry_run"] / medians["floor"], 2),
    }
    for name, value in medians.items():
        print(f"{name:>8}: {value:.2f} µs of CPU a {'line' if name == 'ceiling' else 'record'}", file=sys.stderr)
    print(f"ratios to the ceiling: {result['ratio_to_ceiling']}", file=sys.stderr)
    print(f"results → {common.save_result('floor', result)}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
