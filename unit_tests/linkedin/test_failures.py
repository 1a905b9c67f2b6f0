"""failures.py: one sentence and one Airbyte failure type per error, the same in `check`, `write` and rules."""

from __future__ import annotations

import pytest
from airbyte_cdk.utils.traced_exception import AirbyteTracedException, FailureType

from destination_linkedin_capi import failures
from destination_linkedin_capi.airbyte import trace
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import (
    ConfigError,
    DailyBudgetExhaustedError,
    RequestRefusedError,
    RetriesExhaustedError,
    SyncCancelled,
    TransportError,
    error_from_response,
)
from unit_tests.linkedin_mocks import ACCOUNT, config

TOKEN_ID_CONFIG = ConnectorConfig.parse(config("token_id"))
ACCESS_CONFIG = ConnectorConfig.parse(config("access_token"))
OAUTH_CONFIG = ConnectorConfig.parse(config("oauth2"))


def answer(status: int, message: str = "", code: str | None = None):
    return error_from_response(status, {"status": status, "message": message, **({"code": code} if code else {})})


@pytest.mark.parametrize(
    "parsed, start",
    [
        (ACCESS_CONFIG, "LinkedIn rejected the access token: it has expired (EXPIRED_ACCESS_TOKEN). Generate"),
        (TOKEN_ID_CONFIG, "LinkedIn rejected the access token the token service issued for this token ID: it has"),
        (OAUTH_CONFIG, "LinkedIn rejected the access token minted from the refresh token: it has expired"),
    ],
)
def test_a_401_names_the_remedy_of_the_auth_mode(parsed, start):
    error = answer(401, "token expired", "EXPIRED_ACCESS_TOKEN")
    assert failures.sentence(error, parsed).startswith(start)
    assert failures.sentence(error, parsed, "list the rules") == failures.sentence(error, parsed)


def test_an_unknown_401_code_is_not_quoted():
    text = failures.token_rejected(ACCESS_CONFIG, "SOMETHING<script>")
    assert "is invalid, revoked or expired." in text and "SOMETHING" not in text


def test_a_403_gives_the_same_advice_in_check_and_in_write():
    error = answer(403, "Not enough permissions to access: adAccountUsers")
    in_check = failures.sentence(error, TOKEN_ID_CONFIG, "list the ad accounts this token can reach")
    in_write = failures.sentence(error, TOKEN_ID_CONFIG)
    advice = (
        "(HTTP 403: Not enough permissions to access: adAccountUsers); the token needs the r_ads and "
        f"rw_conversions permissions and a role other than VIEWER on ad account {ACCOUNT}, and mapped conversion "
        "rules must belong to that account."
    )
    assert in_check == f"LinkedIn refused to list the ad accounts this token can reach {advice}"
    assert in_write.endswith(advice)
    assert in_write.startswith(f"LinkedIn refused to let this token use ad account {ACCOUNT} or the rules of ")


def test_a_426_is_one_sentence_wherever_it_is_met():
    error = answer(426, "", "NONEXISTENT_VERSION")
    expected = (
        f"LinkedIn no longer serves API version {ACCESS_CONFIG.api_version} (HTTP 426, version sunset); set "
        "LinkedIn API version (api_version, in the advanced settings) to a current YYYYMM release, or upgrade "
        "the connector."
    )
    assert failures.sentence(error, ACCESS_CONFIG) == expected
    assert failures.sentence(error, ACCESS_CONFIG, "list the rules") == expected


def test_other_answers_quote_the_status_and_linkedins_message():
    error = answer(404, "No such thing")
    assert failures.sentence(error, ACCESS_CONFIG, "look up conversion rule 9") == (
        "LinkedIn refused to look up conversion rule 9 (HTTP 404: No such thing)."
    )
    assert failures.sentence(error, ACCESS_CONFIG) == "LinkedIn answered HTTP 404: No such thing"


def test_the_connectors_own_sentences_pass_through_and_a_bug_is_named_by_step():
    assert failures.sentence(ConfigError("Fix field x."), ACCESS_CONFIG, "list the rules") == "Fix field x."
    assert failures.sentence(ValueError("boom"), ACCESS_CONFIG, "list the rules") == "Could not list the rules: boom"


@pytest.mark.parametrize(
    "error, expected",
    [
        (answer(401), "config_error"),
        (answer(403), "config_error"),
        (answer(426), "config_error"),
        (ConfigError("x"), "config_error"),
        (RetriesExhaustedError("x"), "transient_error"),
        (RequestRefusedError("x"), "transient_error"),
        (TransportError("x"), "transient_error"),
        (DailyBudgetExhaustedError("x", 0.0), "transient_error"),
        (answer(404), "system_error"),
        (answer(400, "bad"), "system_error"),
        (KeyError("x"), "system_error"),
        (SyncCancelled(15), "transient_error"),
    ],
)
def test_failure_types(error, expected):
    assert failures.failure_type(error) == expected


def test_traced_carries_sentence_and_type():
    traced = trace.traced(answer(403, "nope"), ACCESS_CONFIG)
    assert isinstance(traced, AirbyteTracedException)
    assert traced.failure_type == FailureType.config_error
    assert traced.message == failures.sentence(answer(403, "nope"), ACCESS_CONFIG)
    assert trace.traced(TransportError("no answer"), ACCESS_CONFIG).failure_type == FailureType.transient_error


def test_an_unexpected_exception_stays_a_system_error_with_its_type():
    error = KeyError("field")
    traced = trace.traced(error, ACCESS_CONFIG)
    assert traced.failure_type == FailureType.system_error
    assert traced._exception is error  # the CDK prints its type and stack trace: a bug stays visible


def test_not_a_conversions_api_rule_names_the_rule():
    text = failures.not_conversions_api_rule("urn:lla:llaPartnerConversion:77")
    assert text.startswith("LinkedIn refused events for conversion rule urn:lla:llaPartnerConversion:77: it is not")


def test_only_a_sync_that_gave_up_speaks_of_the_next_sync():
    """`check` and `discover` always name their step (`doing`); a sync's error has none, and resumes later."""
    error = RetriesExhaustedError("LinkedIn kept failing for 20 s (last: HTTP 503) on GET /rest/conversions; gave up.")
    assert failures.sentence(error, ACCESS_CONFIG, "list the conversion rules") == str(error)
    assert failures.sentence(error, ACCESS_CONFIG) == f"{error} The next sync resumes from the last checkpoint."
    assert trace.traced(error, ACCESS_CONFIG).message.endswith("The next sync resumes from the last checkpoint.")
