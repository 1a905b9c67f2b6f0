"""Deterministic, realistic Airbyte input for the demo, the benchmarks and the integration tests.

Timestamps are relative to `now`, so the data never ages past LinkedIn's 90-day window; that is why the
by-hand messages are generated (`python -m devtools.sample_data`) rather than shipped as a file.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import orjson

FIRST = ["Jane", "Sam", "Aïsha", "Lukas", "Mei", "Carlos", "Olu", "Priya", "Noah", "Zoë", "Mateo", "Hannah"]
LAST = ["Doe", "Lee", "Müller", "Okafor", "Tanaka", "García", "Smith", "Nguyen", "Rossi", "Kowalski", "Dubois"]
COMPANIES = ["Acme GmbH", "Globex", "Initech", "Umbrella Corp", "Stark Industries", "Wayne Enterprises", "Hooli"]
TITLES = ["CFO", "Head of Growth", "Data Engineer", "Marketing Manager", "VP Sales", "CTO"]
COUNTRIES = ["DE", "US", "FR", "Germany", "GB", "NLD", "es", "Japan", "BR"]
CURRENCIES = ["EUR", "USD", "GBP", "JPY"]

# stream → (event name, share of records)
STREAMS = {"leads": ("LEAD", 0.5), "purchases": ("PURCHASE", 0.3), "signups": ("SIGN_UP", 0.2)}
# The ad account and conversion rules that the tests and benchmarks seed for these streams.
ACCOUNT = 512345678
RULES = {"LEAD": 11, "PURCHASE": 12, "SIGN_UP": 13}
STREAM_EVENTS = ",".join(f"{stream}={event}" for stream, (event, _) in STREAMS.items())


def access_token_config(token: str, base_url: str | None, **overrides: Any) -> dict[str, Any]:
    """Access-token-mode config sending the sample streams to RULES at `base_url` (None: a dry run)."""
    config: dict[str, Any] = {
        "account_id": str(ACCOUNT),
        "credentials": {
            "auth_type": "access_token",
            "access_token": token,
            "conversion_mapping": ",".join(f"{event}={rule}" for event, rule in RULES.items()),
        },
        "stream_events": STREAM_EVENTS,
    }
    if base_url is None:
        config["dry_run"] = True
    else:
        config["api_base_url"] = base_url
        config["oauth_base_url"] = base_url
    config.update(overrides)
    return config


def _record(rng: random.Random, stream: str, n: int, now: dt.datetime) -> dict[str, Any]:
    when = now - dt.timedelta(seconds=rng.randint(60, 80 * 86400))
    first, last = rng.choice(FIRST), rng.choice(LAST)
    data: dict[str, Any] = {"id": f"{stream}-{n}", "event_time": when.isoformat().replace("+00:00", "Z")}
    kind = rng.random()
    if kind < 0.75:
        data["email"] = f" {first}.{last}{n}@Example.com ".lower() if n % 7 else f"{first}.{last}{n}@Example.COM"
    if kind > 0.5:
        data["li_fat_id"] = f"AQE{n:08d}-{rng.randrange(16**6):06x}"
    if rng.random() < 0.8:
        data.update(first_name=first, last_name=last, company=rng.choice(COMPANIES), title=rng.choice(TITLES))
        data["country"] = rng.choice(COUNTRIES)
    if stream == "purchases":
        data["value"] = f"{rng.randint(5, 2000)}.{rng.randint(0, 99):02d}"
        data["currency"] = rng.choice(CURRENCIES)
    return data


def bad_records(now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """One of each deliberately bad row the demo shows being explained."""
    old = (now - dt.timedelta(days=120)).isoformat()
    fresh = (now - dt.timedelta(hours=1)).isoformat()
    return [
        (
            "purchases",
            {"id": "bad-too-old", "email": "late@example.com", "event_time": old, "value": "10", "currency": "EUR"},
        ),
        ("leads", {"id": "bad-no-identifier", "event_time": fresh, "company": "Anonymous Ltd"}),
        (
            "purchases",
            {"id": "bad-currency", "email": "cur@example.com", "event_time": fresh, "value": "5", "currency": "XYZ"},
        ),
        ("signups", {"id": "bad-no-time", "email": "when@example.com"}),
    ]


def generate_lines(
    count: int, *, seed: int = 7, now: dt.datetime | None = None, state_every: int = 100, bad: bool = True
) -> Iterator[bytes]:
    """`count` RECORD lines over the three streams (plus the bad rows), a STREAM state every `state_every`."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.timezone.utc)
    emitted_at = int(now.timestamp() * 1000)
    names = list(STREAMS)
    weights = [share for _, share in STREAMS.values()]
    per_stream = dict.fromkeys(names, 0)
    extra = bad_records(now) if bad else []
    bad_at = {count * (i + 1) // (len(extra) + 1): row for i, row in enumerate(extra)}
    for n in range(count):
        if n in bad_at:
            stream, data = bad_at[n]
        else:
            stream = rng.choices(names, weights)[0]
            data = _record(rng, stream, n, now)
        per_stream[stream] += 1
        yield orjson.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": emitted_at}})
        if (n + 1) % state_every == 0:
            state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"cursor": n}}}
            yield orjson.dumps({"type": "STATE", "state": state})


def catalog(streams: list[str] | None = None) -> dict[str, Any]:
    """A configured catalog for the sample streams (append, primary key `id`)."""
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                },
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
                "primary_key": [["id"]],
            }
            for name in streams or list(STREAMS)
        ]
    }


BY_HAND_PORT = 8787
BY_HAND_TOKEN = "by-hand-access-token-1"


def by_hand_seed() -> dict[str, Any]:
    """The sandbox seed of README's "Running the connector by hand": the account, the token, one rule per event."""
    return {
        "accounts": [{"account_id": ACCOUNT, "name": "Acme GmbH"}],
        "tokens": [{"token": BY_HAND_TOKEN, "accounts": {str(ACCOUNT): "ACCOUNT_MANAGER"}, "expires_at": None}],
        "rules": [
            {"account_id": ACCOUNT, "rule_id": rule, "name": f"Sample {event}", "type": event}
            for event, rule in RULES.items()
        ],
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m devtools.sample_data --records N`: fresh sample Airbyte messages on stdout, one a line."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m devtools.sample_data", description=main.__doc__)
    parser.add_argument("--records", type=int, default=20, help="RECORD messages to print (default 20)")
    parser.add_argument("--no-bad", action="store_true", help="leave out the deliberately bad rows")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    for line in generate_lines(args.records, state_every=10, bad=not args.no_bad):
        sys.stdout.buffer.write(line + b"\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
