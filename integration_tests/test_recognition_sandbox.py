"""Source-shaped records end to end: `python main.py write` against the strict sandbox with a HubSpot-shaped record,
a CSV-header-shaped one and a mapping meant for one stream; what the sandbox recorded, and what the summary says."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
import pytest

from devtools.sample_data import RULES, catalog
from integration_tests.writing import access_token_config, run_write, seed_access_token

pytestmark = pytest.mark.timeout(300)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def record(stream: str, data: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 0}})


def test_hubspot_and_csv_shaped_records_are_sent_and_a_stream_mapping_falls_back(sandbox, tmp_path):
    seed_access_token(sandbox)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
    iso = now.isoformat().replace("+00:00", "Z")
    ms = int(now.timestamp()) * 1000
    lines = [
        # HubSpot: the contact's fields inside `properties`, the time in `createdAt`
        record(
            "leads",
            {
                "id": "501",
                "createdAt": iso,
                "properties": {"email": "Jane@Example.com", "firstname": "Jane", "lastname": "Doe", "company": "Acme"},
            },
        ),
        # a CRM CSV export: column headers as people write them
        record(
            "signups",
            {
                "id": "c1",
                "First Name": "Sam",
                "Last Name": "Roe",
                "Work Email": "sam@example.org",
                "Create Date": now.strftime("%Y-%m-%d %H:%M:%S"),
            },
        ),
        # a mapping for purchases only: read when present, the recognised Email when not
        record(
            "purchases",
            {
                "id": "p1",
                "buyer": {"contact": "kim@example.net"},
                "Email": "x@example.net",
                "created": int(now.timestamp()),
            },
        ),
        record("purchases", {"id": "p2", "buyer": {}, "Email": "lee@example.net", "created": int(now.timestamp())}),
        record("purchases", {"id": "p3", "event_name": "page_view", "Email": "a@example.net", "created_at": iso}),
        record("leads", {"id": "502", "email": "b@example.com", "lead_date": "2026-01-01", "updated": "x"}),
    ]
    config = access_token_config(
        sandbox,
        field_mappings=[{"linkedin_field": "email", "record_field": "buyer.contact", "streams": ["purchases"]}],
    )
    run = run_write(tmp_path, config, catalog(), lines)
    assert run.code == 0, run.output

    events = {(e["_rule_id"], e["user"]["userIds"][0]["idValue"]): e for e in sandbox.events()}
    assert sorted(events) == sorted(
        [
            (RULES["LEAD"], sha("jane@example.com")),
            (RULES["SIGN_UP"], sha("sam@example.org")),
            (RULES["PURCHASE"], sha("kim@example.net")),
            (RULES["PURCHASE"], sha("lee@example.net")),
        ]
    )
    hubspot = events[(RULES["LEAD"], sha("jane@example.com"))]
    assert hubspot["conversionHappenedAt"] == ms
    assert hubspot["user"]["userInfo"] == {"firstName": "Jane", "lastName": "Doe", "companyName": "Acme"}
    csv = events[(RULES["SIGN_UP"], sha("sam@example.org"))]
    assert csv["conversionHappenedAt"] == ms and csv["user"]["userInfo"] == {"firstName": "Sam", "lastName": "Roe"}
    assert events[(RULES["PURCHASE"], sha("kim@example.net"))]["conversionHappenedAt"] == ms  # Stripe-like seconds

    logs = "\n".join(run.logs)
    assert (
        "event PURCHASE: sent 2, rejected by LinkedIn 0; identifiers: email 100% (1 from buyer.contact (mapped), "
        "1 from Email (recognised))" in logs
    )
    assert "Field 'event_name' names event 'page_view', which is not a configured event" in logs
    assert "The record has `lead_date`, `updated`: map one to conversion_happened_at with Field mappings." in logs
    for value in ("jane@example.com", "Jane@Example.com", "sam@example.org", "kim@example.net", "2026-01-01"):
        assert value not in run.output
