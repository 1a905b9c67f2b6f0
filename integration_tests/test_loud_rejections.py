"""`python main.py write` against the sandbox with a stream no record of which can be routed to an event: the sync
says so in a warning and, with Maximum rejected share, fails as a config error once the states are emitted."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from devtools.sample_data import catalog, generate_lines
from integration_tests.writing import access_token_config, run_write, seed_access_token, with_state_ids

pytestmark = pytest.mark.timeout(300)


def _input() -> tuple[dict, list[bytes]]:
    """The sample streams (all deliverable) and `page_views`, which no event is named after: 120 rows, all
    rejected as unknown_event, with a STATE of their own."""
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    views = [
        orjson.dumps(
            {
                "type": "RECORD",
                "record": {
                    "stream": "page_views",
                    "data": {"id": n, "email": f"viewer{n}@example.com", "event_time": when},
                    "emitted_at": 0,
                },
            }
        )
        for n in range(120)
    ]
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "page_views"}, "stream_state": {"n": 120}}}
    lines = with_state_ids(
        [*generate_lines(200, bad=False, state_every=50), *views, orjson.dumps({"type": "STATE", "state": state})]
    )
    full = catalog()
    full["streams"].append({**full["streams"][0], "stream": {**full["streams"][0]["stream"], "name": "page_views"}})
    return full, lines


def test_a_stream_rejected_whole_is_a_warning_with_its_reasons_and_the_sync_succeeds(sandbox, tmp_path):
    seed_access_token(sandbox)
    full, lines = _input()
    run = run_write(tmp_path, access_token_config(sandbox), full, lines)
    assert run.code == 0, run.output
    assert len(set(sandbox.event_ids())) == 200
    warnings = [m["log"]["message"] for m in run.messages if m["type"] == "LOG" and m["log"]["level"] == "WARN"]
    (warning,) = [w for w in warnings if w.startswith("Stream page_views")]
    assert warning.startswith(
        "Stream page_views: all 120 records read in this sync were rejected, none sent; top reasons: unknown_event 120 "
        "(e.g. "
    )
    assert "  rejected records: 120 not kept (Rejected records storage is None)" in " ".join(run.logs)


def test_a_rejected_share_above_the_maximum_is_a_config_error_after_the_states_of_the_sent_records(sandbox, tmp_path):
    seed_access_token(sandbox)
    full, lines = _input()
    run = run_write(tmp_path, access_token_config(sandbox, max_rejected_percent=10), full, lines)
    assert run.code == 1, run.output
    assert len(set(sandbox.event_ids())) == 200  # every deliverable record was sent ...
    kinds = [m["type"] for m in run.messages]
    assert kinds.count("TRACE") == 1 and kinds[-1] == "TRACE"
    assert len(run.states) == 5  # ... and every state emitted (four of the sample streams, one of page_views),
    assert max(i for i, kind in enumerate(kinds) if kind == "STATE") < kinds.index("TRACE")  # before the failure
    (trace,) = run.traces
    assert trace["error"]["failure_type"] == "config_error"
    assert trace["error"]["message"].startswith(
        "Stream page_views: 120 of its 120 records were rejected (100%), more than Maximum rejected share (10%)"
    )
    warning = next(
        i for i, m in enumerate(run.messages) if m["type"] == "LOG" and "Stream page_views: all" in m["log"]["message"]
    )
    assert warning < kinds.index("TRACE")
