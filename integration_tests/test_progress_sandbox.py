"""A sync that waits for its request budget keeps its progress rhythm and says that it waits (in process, against
the sandbox, with a 12-second window of one request and progress due every 0.2 s instead of 30 s)."""

from __future__ import annotations

import logging

import pytest

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.routing import StreamInfo
from destination_linkedin_capi.write.session import WriteSession
from devtools.sample_data import generate_lines
from integration_tests.writing import Collect, access_token_config, seed_access_token

pytestmark = pytest.mark.timeout(120)


def test_progress_lines_go_on_while_the_sender_waits_for_the_request_budget(sandbox):
    seed_access_token(sandbox)
    config = ConnectorConfig.parse(
        access_token_config(
            sandbox, requests_per_minute=1, throttle_window_seconds=12, batch_size=1, batch_max_age_seconds=1
        )
    )
    streams = {(None, name): StreamInfo() for name in ("leads", "purchases", "signups")}
    lines = list(generate_lines(2, bad=False))
    states: list[dict] = []
    session = WriteSession(config, streams, states.append)
    session.report.progress_every = 0.2
    collect = Collect()
    logging.getLogger("airbyte").addHandler(collect)
    try:
        session.run(lines)
    finally:
        logging.getLogger("airbyte").removeHandler(collect)
    assert len(sandbox.event_ids()) == 2
    waits = [i for i, line in enumerate(collect.messages) if "for the request budget" in line]
    # one line per wait over 10 s: the start's account and rule reads wait too, then the events' requests
    assert waits, collect.messages
    assert {collect.messages[i] for i in waits} == {"Waiting 12 s for the request budget: 1 request per 12 s."}
    end = next(i for i, line in enumerate(collect.messages) if line.startswith("Sync summary"))
    progress = [line for line in collect.messages[waits[-1] : end] if line.startswith("Progress: ")]
    # A tick every 0.25 s through a 12 s wait; before, the progress waited with the sender and said one line at most.
    assert len(progress) >= 5, collect.messages
