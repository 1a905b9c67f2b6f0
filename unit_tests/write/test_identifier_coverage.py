"""A sync's summary shows, per event, how many events carried each identifier: every identifier of the mapping's
table, the ones matched on alone included."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.routing import StreamInfo
from destination_linkedin_capi.write.session import WriteSession

WHEN = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
CONFIG = {
    "account_id": "512345678",
    "credentials": {"auth_type": "access_token", "access_token": "unused", "conversion_mapping": "LEAD=11"},
    "stream_events": "leads=LEAD",
    "dry_run": True,
}


def summary(records: list[dict[str, Any]]) -> list[str]:
    lines = [
        json.dumps({"type": "RECORD", "record": {"stream": "leads", "data": data, "emitted_at": 0}}).encode()
        for data in records
    ]
    streams = {(None, "leads"): StreamInfo(primary_key=(("id",),))}
    report = WriteSession(ConnectorConfig.parse(CONFIG), streams, lambda _: None).run(lines)
    return report.summary_lines(dry_run=True)


@pytest.mark.parametrize(
    "column, value, label",
    [
        ("ip_address", "203.0.113.7", "IP address"),
        ("google_aid", "38400000-8cf0-11bd-b23e-10b96e40000d", "Google advertising ID"),
        ("li_fat_id", "AQE-1", "LinkedIn click ID"),
    ],
)
def test_a_sync_matched_on_one_identifier_alone_shows_its_coverage(column, value, label):
    lines = summary([{"id": n, "event_time": WHEN, column: value} for n in range(3)])
    event_lines = [line for line in lines if line.strip().startswith("event LEAD")]
    assert len(event_lines) == 1 and event_lines[0].endswith(f"; identifiers: {label} 100%"), lines


def test_coverage_counts_each_identifier_of_a_mixed_sync():
    records = [
        {"id": 1, "event_time": WHEN, "email": "jane@example.com", "ip": "203.0.113.7"},
        {"id": 2, "event_time": WHEN, "gaid": "38400000-8cf0-11bd-b23e-10b96e40000d"},
        {"id": 3, "event_time": WHEN, "ip": "203.0.113.8"},
        {"id": 4, "event_time": WHEN, "first_name": "Jane", "last_name": "Doe"},
    ]
    (event_line,) = [line for line in summary(records) if line.strip().startswith("event LEAD")]
    assert event_line.endswith(
        "; identifiers: email 25%, IP address 50%, Google advertising ID 25%, first+last name 25%"
    ), event_line
