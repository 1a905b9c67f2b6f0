"""Fault injection through the Python API and the admin HTTP API: status, count, after, delay, drop, rate."""

from __future__ import annotations

import time

import pytest
import requests
from linkedin_capi_sandbox import Sandbox
from linkedin_capi_sandbox.examples import EXAMPLE_BATCH_BODY, EXAMPLE_HEADERS, EXAMPLE_NOW, seed_example


@pytest.fixture
def sb():
    with Sandbox(clock=lambda: EXAMPLE_NOW) as sandbox:
        seed_example(sandbox)
        yield sandbox


def send(sb: Sandbox, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).post(
        f"{sb.url}/rest/conversionEvents", data=EXAMPLE_BATCH_BODY, headers=EXAMPLE_HEADERS
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (429, "Resource level throttle limit for calls to this resource is reached."),
    ],
)
def test_fault_status_answers_a_linkedin_like_body_and_stores_nothing(sb, status, message):
    sb.add_fault(status)
    response = send(sb)
    assert response.status_code == status
    assert response.json() == {"status": status, "message": message}
    assert "Retry-After" not in response.headers
    assert sb.events() == []
    assert send(sb).status_code == 200
    stats = sb.stats()
    assert stats["faults"] == 1 and stats["by_status"] == {status: 1, 200: 1} and stats["throttled"] == 0


def test_fault_count_after_and_retry_after(sb):
    sb.add_fault(503, count=2, after=1, retry_after=1.5)
    responses = [send(sb) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 503, 503, 200]
    assert responses[1].headers["Retry-After"] == "1.5"


def test_fault_path_prefix_limits_what_fails(sb):
    sb.add_fault(500, path_prefix="/rest/conversions?")  # no path starts like this
    sb.add_fault(500, path_prefix="/rest/conversions")
    sb.add_fault(502, path_prefix="/oauth/")
    assert send(sb).status_code == 200  # /rest/conversionEvents does not start with /rest/conversions
    rules = requests.get(f"{sb.url}/rest/conversions?q=account", headers=EXAMPLE_HEADERS)
    assert rules.status_code == 500
    assert requests.post(f"{sb.url}/oauth/v2/accessToken", data={}).status_code == 502
    assert requests.get(f"{sb.url}/rest/conversions?q=account", headers=EXAMPLE_HEADERS).status_code == 400


def test_delay_then_answer_normally(sb):
    sb.add_fault(delay=0.3)
    started = time.monotonic()
    response = send(sb)
    assert response.status_code == 200 and time.monotonic() - started >= 0.3
    sb.add_fault(delay=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{sb.url}/rest/conversionEvents", data=EXAMPLE_BATCH_BODY, headers=EXAMPLE_HEADERS, timeout=0.1)


def test_drop_closes_the_connection_without_an_answer(sb):
    sb.add_fault(drop=True)
    with requests.Session() as session, pytest.raises(requests.exceptions.ConnectionError):
        send(sb, session)
    assert sb.events() == []
    assert send(sb).status_code == 200
    assert sb.stats()["faults"] == 1


def test_clear_faults(sb):
    sb.add_fault(500, count=10)
    sb.set_fault_rate(1.0)
    sb.clear_faults()
    assert send(sb).status_code == 200


def test_fault_rate_is_reproducible_with_a_seed(sb):
    def run() -> list[int]:
        sb.set_fault_rate(0.5, statuses=(500, 503), seed=7)
        with requests.Session() as session:
            return [send(sb, session).status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert set(first) == {200, 500, 503}
    sb.set_fault_rate(0)
    assert send(sb).status_code == 200


def test_fault_rate_drops(sb):
    sb.set_fault_rate(1.0, drop_share=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        send(sb)


def test_invalid_faults_are_refused(sb):
    with pytest.raises(ValueError):
        sb.add_fault(404)
    with pytest.raises(ValueError):
        sb.add_fault()
    with pytest.raises(ValueError):
        sb.set_fault_rate(1.5)


def test_faults_through_the_admin_api(sb):
    admin = f"{sb.url}/_sandbox"
    assert requests.post(f"{admin}/faults", json={"status": 500, "count": 1, "after": 1}).status_code == 204
    assert [send(sb).status_code for _ in range(3)] == [200, 500, 200]
    assert requests.post(f"{admin}/faults", json={"drop": True}).status_code == 204
    with pytest.raises(requests.exceptions.ConnectionError):
        send(sb)
    assert requests.post(f"{admin}/fault-rate", json={"rate": 1.0, "statuses": [502]}).status_code == 204
    assert send(sb).status_code == 502
    assert requests.delete(f"{admin}/faults").status_code == 204
    assert send(sb).status_code == 200
    bad = requests.post(f"{admin}/faults", json={"status": 404})
    assert bad.status_code == 400 and "fault status" in bad.json()["error"]


def test_admin_requests_are_never_faulted_or_counted(sb):
    sb.add_fault(500, path_prefix="/")
    assert requests.get(f"{sb.url}/_sandbox/health").json() == {"status": "ok"}
    assert sb.stats()["requests"] == 0
