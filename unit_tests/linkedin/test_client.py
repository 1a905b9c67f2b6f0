"""LinkedInClient against precise requests_mock answers: headers, retries, refresh, typed errors."""

import json

import pytest
import requests

from destination_linkedin_capi.errors import (
    AuthenticationError,
    ForbiddenError,
    RejectedRequestError,
    RetriesExhaustedError,
    TransportError,
    VersionSunsetError,
)
from destination_linkedin_capi.linkedin.auth import StaticTokenProvider
from destination_linkedin_capi.linkedin.client import BatchAnswer, LinkedInClient
from destination_linkedin_capi.linkedin.retry import RetryPolicy
from unit_tests.linkedin_mocks import Batch

BASE = "https://api.example.test"
EVENTS = f"{BASE}/rest/conversionEvents"


class RotatingTokens:
    """A provider whose refresh hands out the next token, recording what was rejected."""

    description = "the OAuth access token"

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.rejected: list[str] = []

    def token(self) -> str:
        return self.tokens[0]

    def refresh(self, rejected: str) -> bool:
        self.rejected.append(rejected)
        self.tokens.pop(0)
        return bool(self.tokens)


class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def make_client(tokens=None, max_retry=600.0, rng=lambda: 1.0):
    waits = Waits()
    client = LinkedInClient(
        BASE,
        "202607",
        tokens or StaticTokenProvider("tok-1"),
        policy=RetryPolicy(max_seconds=max_retry),
        sleep=waits.sleep,
        monotonic=waits.monotonic,
        rng=rng,
    )
    return client, waits


def test_batch_create_sends_linkedins_headers_and_body(requests_mock):
    requests_mock.post(EVENTS, status_code=200, json={"elements": [{"status": 201}, {"status": 201}]})
    client, _ = make_client()
    elements = [{"conversion": "urn:lla:llaPartnerConversion:1"}, {"conversion": "urn:lla:llaPartnerConversion:2"}]
    assert client.send_events(Batch(elements)) == BatchAnswer()
    request = requests_mock.last_request
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["LinkedIn-Version"] == "202607"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert request.headers["X-RestLi-Method"] == "BATCH_CREATE"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {"elements": elements}


def test_statuses_inside_a_200_are_reported_by_index(requests_mock):
    requests_mock.post(
        EVENTS, status_code=200, json={"elements": [{"status": 201}, {"status": 400, "error": "bad"}, {"status": 201}]}
    )
    client, _ = make_client()
    assert client.send_events(Batch([{}, {}, {}])) == BatchAnswer(refused={1: "bad"})


def test_transient_statuses_inside_a_200_are_not_refusals(requests_mock):
    """5xx and 429 elements were not recorded and may be sent again; only 4xx elements are refusals."""
    statuses = [{"status": 500}, {"status": 429}, {"status": 201}, {"status": 422, "message": "bad"}, {"status": 503}]
    requests_mock.post(EVENTS, status_code=200, json={"elements": statuses})
    client, waits = make_client()
    answer = client.send_events(Batch([{}] * 5))
    assert answer.transient == {0: "status 500", 1: "status 429", 4: "status 503"}
    assert answer.refused == {3: "bad"}
    assert requests_mock.call_count == 1 and waits.waits == []  # the writer sends those elements again, alone


def test_a_200_without_one_status_per_event_is_an_error(requests_mock):
    requests_mock.post(EVENTS, status_code=200, json={"elements": [{"status": 201}]})
    client, _ = make_client()
    with pytest.raises(TransportError, match="without one status per event"):
        client.send_events(Batch([{}, {}]))


def test_429_honours_retry_after_then_succeeds(requests_mock):
    requests_mock.post(
        EVENTS,
        [
            {
                "status_code": 429,
                "json": {"status": 429, "message": "Resource level throttle"},
                "headers": {"Retry-After": "7"},
            },
            {"status_code": 200, "json": {"elements": [{"status": 201}]}},
        ],
    )
    client, waits = make_client()
    assert client.send_events(Batch([{}])) == BatchAnswer()
    assert waits.waits == [7.0]
    assert requests_mock.call_count == 2


def test_5xx_and_network_errors_back_off_exponentially_with_full_jitter(requests_mock):
    requests_mock.post(
        EVENTS,
        [
            {"status_code": 503, "json": {"status": 503, "message": "unavailable"}},
            {"exc": requests.exceptions.ConnectionError("reset")},
            {"exc": requests.exceptions.ReadTimeout("slow")},
            {"status_code": 500, "text": "oops"},
            {"status_code": 200, "json": {"elements": [{"status": 201}]}},
        ],
    )
    client, waits = make_client(rng=lambda: 1.0)
    client.send_events(Batch([{}]))
    assert waits.waits == [2.0, 4.0, 8.0, 16.0]  # rng=1.0 gives the top of each jitter range
    client2, waits2 = make_client(rng=lambda: 0.25)
    requests_mock.post(
        EVENTS, [{"status_code": 502, "text": ""}, {"status_code": 200, "json": {"elements": [{"status": 201}]}}]
    )
    client2.send_events(Batch([{}]))
    assert waits2.waits == [0.5]


def test_retries_stop_at_the_time_limit(requests_mock):
    requests_mock.post(EVENTS, status_code=503, json={"status": 503, "message": "down"})
    client, waits = make_client(max_retry=20.0)
    with pytest.raises(RetriesExhaustedError, match="retry time limit of 20 s"):
        client.send_events(Batch([{}]))
    assert sum(waits.waits) <= 20.0
    assert waits.waits == [2.0, 4.0, 8.0]  # the next wait (16 s) would pass the 20 s limit


def test_401_refreshes_once_then_succeeds(requests_mock):
    requests_mock.post(
        EVENTS,
        [
            {
                "status_code": 401,
                "json": {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
            },
            {"status_code": 200, "json": {"elements": [{"status": 201}]}},
        ],
    )
    tokens = RotatingTokens("old", "new")
    client, _ = make_client(tokens)
    client.send_events(Batch([{}]))
    assert tokens.rejected == ["old"]
    assert [r.headers["Authorization"] for r in requests_mock.request_history] == ["Bearer old", "Bearer new"]


def test_401_twice_raises(requests_mock):
    body = {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "revoked"}
    requests_mock.post(EVENTS, status_code=401, json=body)
    client, _ = make_client(RotatingTokens("a", "b", "c"))
    with pytest.raises(AuthenticationError) as raised:
        client.send_events(Batch([{}]))
    assert raised.value.code == "REVOKED_ACCESS_TOKEN"
    assert requests_mock.call_count == 2


def test_static_token_is_not_retried_on_401(requests_mock):
    requests_mock.post(EVENTS, status_code=401, json={"message": "Empty oauth2_access_token", "status": 401})
    client, _ = make_client()
    with pytest.raises(AuthenticationError):
        client.send_events(Batch([{}]))
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    "status, body, error_type",
    [
        (403, {"status": 403, "message": "No ad accounts found"}, ForbiddenError),
        (
            426,
            {"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version 20240101 is not active"},
            VersionSunsetError,
        ),
        (
            422,
            {"status": 422, "message": "Index: 1, ERROR :: /user/userIds :: field is required\n"},
            RejectedRequestError,
        ),
    ],
)
def test_final_errors_are_typed_and_not_retried(requests_mock, status, body, error_type):
    requests_mock.post(EVENTS, status_code=status, json=body)
    client, waits = make_client()
    with pytest.raises(error_type) as raised:
        client.send_events(Batch([{}, {}]))
    assert requests_mock.call_count == 1 and waits.waits == []
    if status == 422:
        assert raised.value.index_errors == {1: ["/user/userIds :: field is required"]}


def test_each_attempt_uses_the_policys_connect_and_read_timeouts(requests_mock):
    requests_mock.post(EVENTS, [{"status_code": 503}, {"json": {"elements": [{"status": 201}]}}])
    waits = Waits()
    client = LinkedInClient(
        BASE,
        "202607",
        StaticTokenProvider("tok-1"),
        policy=RetryPolicy(read_timeout=17.0),
        sleep=waits.sleep,
        monotonic=waits.monotonic,
    )
    assert client.send_events(Batch([{"n": 1}])) == BatchAnswer()
    assert [request.timeout for request in requests_mock.request_history] == [(10.0, 17.0), (10.0, 17.0)]


def test_a_request_sent_once_is_not_retried_even_after_a_zero_pause(requests_mock):
    requests_mock.post(EVENTS, status_code=503)
    client, waits = make_client(rng=lambda: 0.0)  # every backoff pause would be 0 s
    with pytest.raises(RetriesExhaustedError, match=r"gave up after 1 attempt, the most this request may take"):
        client.request("POST", "/rest/conversionEvents", json={"n": 1}, once=True)
    assert requests_mock.call_count == 1 and waits.waits == []


def test_a_request_sent_once_still_gets_its_token_refresh(requests_mock):
    requests_mock.post(EVENTS, [{"status_code": 401, "json": {"status": 401}}, {"status_code": 201, "json": {}}])
    tokens = RotatingTokens("old", "new")
    client, _ = make_client(tokens)
    assert client.request("POST", "/rest/conversionEvents", json={"n": 1}, once=True).status_code == 201
    assert tokens.rejected == ["old"] and requests_mock.call_count == 2


def test_the_giving_up_sentence_is_true_to_the_numbers(requests_mock):
    """503 for ever, a 4 s limit, pauses of 2 then 4 s: after 2 s and 2 attempts the next pause would end past the
    limit. The sentence says so, rather than that the limit was reached."""
    requests_mock.post(EVENTS, status_code=503)
    client, waits = make_client(max_retry=4.0)
    with pytest.raises(RetriesExhaustedError) as raised:
        client.send_events(Batch([{"n": 1}]))
    assert waits.waits == [2.0]
    assert str(raised.value).startswith(
        "LinkedIn kept failing for 2 s (last: HTTP 503) on POST /rest/conversionEvents; gave up after 2 attempts: "
        "the next retry, due in 4 s, would have passed the retry time limit of 4 s."
    )
