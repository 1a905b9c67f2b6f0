"""`resolve_rules` and token renewal against the sandbox, in process (the writer's entry point for rules).

The write-level versions (two `write` runs, a token expired mid-sync) belong with the writer's tests;
these pin the rule and token behaviour they rely on.
"""

from __future__ import annotations

import logging

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.linkedin.auth import PROPAGATION_WAIT_SECONDS
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.connect import connect as connect_client
from destination_linkedin_capi.linkedin.rules import resolve_rules
from devtools.sample_data import ACCOUNT

logger = logging.getLogger("airbyte")
TOKEN_ID = "590708082141560832"


class Sleeps(list):
    """Injected sleep: records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect(sandbox, raw: dict) -> tuple[ConnectorConfig, LinkedInClient, Sleeps]:
    config = ConnectorConfig.parse(
        {"account_id": str(ACCOUNT), "api_base_url": sandbox.url, "oauth_base_url": sandbox.url, **raw}
    )
    sleeps = Sleeps()
    return config, connect_client(config, sleep=sleeps), sleeps


def token_id_setup(sandbox, **overrides):
    sandbox.add_account(ACCOUNT)
    sandbox.add_cdp_token_id(TOKEN_ID, {ACCOUNT: "ACCOUNT_MANAGER"})
    creds = {"auth_type": "token_id", "token_id": TOKEN_ID, "token_service_url": f"{sandbox.url}/cdp/v1/token"}
    return connect(sandbox, {"credentials": creds, "conversion_events": ["LEAD", "PURCHASE"], **overrides})


def test_two_resolutions_on_an_empty_account_create_exactly_two_rules(sandbox):
    config, client, _ = token_id_setup(sandbox)

    first = resolve_rules(config, client, logger)
    rules = sandbox.rules(ACCOUNT)
    second = resolve_rules(config, client, logger)

    assert [(r["name"], r["type"], r["conversionMethod"], r["enabled"]) for r in rules] == [
        ("Airbyte CAPI LEAD", "LEAD", "CONVERSIONS_API", True),
        ("Airbyte CAPI PURCHASE", "PURCHASE", "CONVERSIONS_API", True),
    ]
    assert first == {"lead": rules[0]["id"], "purchase": rules[1]["id"]}
    assert second == first
    assert sandbox.rules(ACCOUNT) == rules  # the second resolution created nothing


def test_a_rule_is_created_with_a_90_day_view_through_window(sandbox):
    config, client, _ = token_id_setup(sandbox, conversion_events=["LEAD"], rule_view_through_window=90)

    resolve_rules(config, client, logger)

    [rule] = sandbox.rules(ACCOUNT)
    assert rule["viewThroughAttributionWindowSize"] == 90


def test_a_rule_on_a_late_page_is_found_not_duplicated(sandbox):
    config, client, _ = token_id_setup(sandbox, conversion_events=["LEAD"])
    for number in range(230):
        sandbox.add_rule(ACCOUNT, name=f"Someone's rule {number}")
    ours = sandbox.add_rule(ACCOUNT, name="Airbyte CAPI LEAD")

    assert resolve_rules(config, client, logger) == {"lead": ours}
    assert len(sandbox.rules(ACCOUNT)) == 231


def test_all_active_campaigns_are_linked_once(sandbox):
    config, client, _ = token_id_setup(sandbox, conversion_events=["LEAD"], campaign_association="all_active")
    active = [sandbox.add_campaign(ACCOUNT, name=f"c{i}") for i in range(2)]
    sandbox.add_campaign(ACCOUNT, name="paused", status="PAUSED")

    resolved = resolve_rules(config, client, logger)
    links = sandbox.campaign_conversions()
    resolve_rules(config, client, logger)

    assert links == {(campaign, resolved["lead"]) for campaign in active}
    assert sandbox.campaign_conversions() == links


def test_an_oauth_token_expired_between_calls_is_renewed(sandbox):
    sandbox.add_account(ACCOUNT)
    sandbox.add_oauth_client("app", "app-secret")
    sandbox.add_refresh_token("app", "refresh-1", {ACCOUNT: "ACCOUNT_MANAGER"})
    creds = {"auth_type": "oauth2", "client_id": "app", "client_secret": "app-secret", "refresh_token": "refresh-1"}
    config, client, sleeps = connect(sandbox, {"credentials": creds, "conversion_events": ["LEAD"]})
    first = resolve_rules(config, client, logger)

    sandbox.set_token_state(client.tokens.token(), "expired")
    assert resolve_rules(config, client, logger) == first
    assert sleeps == [PROPAGATION_WAIT_SECONDS]  # renewed once, then waited for the new token to propagate
