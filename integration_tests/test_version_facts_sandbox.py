"""The version facts end to end: what the connector sends with a pinned `LinkedIn-Version` is what the sandbox
(whose facts are written from LinkedIn's docs, never from the connector) accepts for that version."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from devtools.sample_data import RULES, catalog
from integration_tests.writing import access_token_config, seed_access_token, write_in_process

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def lines(*rows: dict) -> list[bytes]:
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    out = []
    for number, row in enumerate(rows, start=1):
        data = {"id": number, "created_at": now.isoformat(), **row}
        out.append(
            json.dumps({"type": "RECORD", "record": {"stream": "leads", "data": data, "emitted_at": 0}}).encode()
        )
    out.append(json.dumps({"type": "STATE", "state": {"type": "GLOBAL", "global": {"n": 1}}, "id": 1}).encode())
    return out


@pytest.mark.parametrize("version", ["202604", "202605"])
def test_google_aid_and_a_lead_alone_are_sent_from_202605(sandbox, tmp_path, version):
    seed_access_token(sandbox)
    rows = ({"email": "a@example.com", "gaid": GAID}, {"lead_id": "abc-123"})
    run = write_in_process(tmp_path, access_token_config(sandbox, api_version=version), catalog(), lines(*rows))
    assert run.error is None, run.error
    events = sandbox.events(RULES["LEAD"])
    id_types = [[entry["idType"] for entry in event["user"]["userIds"]] for event in events]
    if version == "202605":
        assert id_types == [["SHA256_EMAIL", "GOOGLE_AID"], []]
        assert events[1]["user"]["lead"] == "urn:li:leadGenFormResponse:abc-123"
    else:  # the GAID is left out with a note, the lead-only row is rejected here rather than refused by LinkedIn
        assert id_types == [["SHA256_EMAIL"]]
        assert any("google_aid_unsupported_dropped" in line for line in run.logs)
        assert any("no_identifier" in line for line in run.logs)


def test_a_version_newer_than_the_sunset_table_is_used_with_one_warning(sandbox, tmp_path):
    seed_access_token(sandbox)
    newer = "202608"  # LinkedIn's docs list it; the connector's sunset table ends before it
    run = write_in_process(
        tmp_path, access_token_config(sandbox, api_version=newer), catalog(), lines({"email": "a@example.com"})
    )
    assert run.error is None, run.error
    assert len(sandbox.events(RULES["LEAD"])) == 1
    warning = f"LinkedIn API version {newer} is not known to this connector version; sunset date unknown."
    assert sum(warning in line for line in run.logs) == 1
