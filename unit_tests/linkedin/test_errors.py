"""errors.py: LinkedIn's error answers become typed errors; per-element error text becomes {index: reasons}."""

from __future__ import annotations

import pytest

from destination_linkedin_capi.errors import (
    AuthenticationError,
    ForbiddenError,
    LinkedInApiError,
    NotConversionsApiRuleError,
    RejectedRequestError,
    RetryableError,
    VersionSunsetError,
    error_from_response,
    parse_index_errors,
)


def test_422_lines_per_index_with_follow_up_errors():
    message = (
        "Index: 0, ERROR :: /user/userIds :: field is required but not found\n"
        "ERROR :: /conversionHappenedAt :: must be within the last 90 days\n"
        "Index: 3, ERROR :: /eventId :: too long\n"
    )
    assert parse_index_errors(message) == {
        0: [
            "/user/userIds :: field is required but not found",
            "/conversionHappenedAt :: must be within the last 90 days",
        ],
        3: ["/eventId :: too long"],
    }


def test_400_indices_list_gives_each_index_the_whole_message():
    message = "Conversion's method should be CONVERSIONS_API, indices [0, 2] (0-indexed)"
    assert parse_index_errors(message) == {0: [message], 2: [message]}


def test_index_lines_win_over_an_indices_list():
    message = "Index: 1, ERROR :: /x :: bad\nsee indices [5]"
    assert parse_index_errors(message) == {1: ["/x :: bad"]}


@pytest.mark.parametrize("message", ["", "Invalid request", "ERROR :: an error before any index", "indices []"])
def test_text_without_indices_names_none(message):
    assert parse_index_errors(message) == {}


@pytest.mark.parametrize(
    "status, kind",
    [
        (401, AuthenticationError),
        (403, ForbiddenError),
        (426, VersionSunsetError),
        (400, RejectedRequestError),
        (422, RejectedRequestError),
        (408, RetryableError),
        (429, RetryableError),
        (500, RetryableError),
        (503, RetryableError),
        (404, LinkedInApiError),
    ],
)
def test_status_picks_the_type(status, kind):
    error = error_from_response(status, {"status": status, "message": "m", "code": "SOME_CODE"})
    assert type(error) is kind
    assert (error.status, error.message, error.code, str(error)) == (status, "m", "SOME_CODE", "m")


def test_a_rule_that_is_not_a_conversions_api_rule_is_its_own_type():
    body = {
        "status": 400,
        "message": "Incorrect conversions information provided. Conversion's method should be CONVERSIONS_API, "
        "indices [1] (0-indexed)",
    }
    error = error_from_response(400, body)
    assert isinstance(error, NotConversionsApiRuleError) and isinstance(error, RejectedRequestError)
    assert list(error.index_errors) == [1]
    assert type(error_from_response(422, body)) is RejectedRequestError  # only LinkedIn's 400 means that


def test_the_422_index_errors_are_parsed_on_construction():
    error = error_from_response(422, {"message": "Index: 2, ERROR :: /user :: missing\n"})
    assert error.index_errors == {2: ["/user :: missing"]}


def test_retry_after_is_read_from_the_headers():
    assert error_from_response(429, {}, {"Retry-After": "12"}).retry_after == 12.0
    assert error_from_response(503, {}, {"retry-after": "3"}).retry_after == 3.0
    assert error_from_response(429, {}, {"Retry-After": "later"}).retry_after is None
    assert error_from_response(429, {}, None).retry_after is None


def test_a_body_that_is_text_or_empty_still_gives_a_message():
    assert error_from_response(502, "Bad gateway").message == "Bad gateway"
    assert error_from_response(500, None).message == "HTTP 500"
    assert error_from_response(500, {"message": None, "code": 5}).code is None  # a code must be text
