"""Rule resolution: paging, find-by-convention, idempotent creation, campaign association."""

from __future__ import annotations

import logging

import pytest
import requests
import requests_mock

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, RetriesExhaustedError
from destination_linkedin_capi.linkedin.auth import StaticTokenProvider
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.retry import RetryPolicy
from destination_linkedin_capi.linkedin.rules import Rule, follow_config, list_rules, plan, resolve_rules
from unit_tests.linkedin_mocks import (
    ACCOUNT,
    ACCOUNT_URN,
    API,
    MINTED,
    VERSION,
    config,
    linkedin_headers,
    mock_rules,
    page,
    rule,
)

logger = logging.getLogger("airbyte")
CREATE_URL = f"{API}/rest/conversions"


@pytest.fixture
def client():
    return LinkedInClient(
        API, VERSION, StaticTokenProvider(MINTED), policy=RetryPolicy(max_seconds=0), sleep=lambda s: None
    )


def parse(**overrides) -> ConnectorConfig:
    return ConnectorConfig.parse(config("token_id", **overrides))


def rules_of(*elements) -> list[Rule]:
    return [Rule.from_api(element) for element in elements]


def test_list_rules_reads_every_page_with_the_account_urn_encoded(m, client):
    first = [rule(i, f"r{i}") for i in range(1, 101)]
    second = [rule(i, f"r{i}") for i in range(101, 201)]
    mock_rules(m, MINTED, first, start=0, total=-1)  # LinkedIn may not know the total (docs/linkedin-facts.md §7)
    mock_rules(m, MINTED, second, start=100, total=-1)
    mock_rules(m, MINTED, [rule(201, "last")], start=200, total=-1)

    found = list_rules(client, ACCOUNT_URN)

    assert [r.id for r in found] == list(range(1, 202))
    assert m.call_count == 3
    assert f"account=urn%3Ali%3AsponsoredAccount%3A{ACCOUNT}&" in m.request_history[0].url


def test_list_rules_stops_when_total_is_reached(m, client):
    m.get(f"{API}/rest/conversions", json=page([rule(i, "x") for i in range(1, 101)], total=100))
    assert len(list_rules(client, ACCOUNT_URN)) == 100
    assert m.call_count == 1


def test_rule_from_api_reads_urn_ids_campaigns_and_default_enabled():
    parsed = Rule.from_api(
        {"id": "urn:lla:llaPartnerConversion:9", "name": "n", "campaigns": ["urn:li:sponsoredCampaign:5", "junk"]}
    )
    assert parsed.id == 9 and parsed.enabled is True and parsed.campaigns == {5}
    assert parsed.usable is False  # no conversionMethod: not a CAPI rule
    assert Rule.from_api({"name": "no id"}) is None


# -- plan: which rule each event gets -------------------------------------------------------------------------


def test_plan_reuses_our_enabled_capi_rule_of_the_right_type_lowest_id_first():
    rules = rules_of(
        rule(30, "Airbyte CAPI LEAD"),
        rule(20, "airbyte capi lead "),  # name matched case- and space-insensitively
        rule(10, "Airbyte CAPI LEAD", "PURCHASE"),  # wrong type
        rule(5, "Airbyte CAPI LEAD", conversionMethod="INSIGHT_TAG_URL_MATCH_RULES"),  # not CAPI
        rule(4, "Someone else's LEAD rule"),
    )
    [resolution] = plan(parse(), rules)
    assert (resolution.how, resolution.rule_id) == ("reused", 20)


def test_plan_creates_when_only_foreign_rules_exist_and_uses_the_prefix():
    rules = rules_of(rule(5, "Acme LEAD", conversionMethod="INSIGHT_TAG_URL_MATCH_RULES"), rule(6, "Other"))
    [resolution] = plan(parse(rule_name_prefix="Acme"), rules)
    assert (resolution.how, resolution.rule_id, resolution.name) == ("create", None, "Acme LEAD")


def test_plan_refuses_to_shadow_our_disabled_rule():
    rules = rules_of(rule(8, "Airbyte CAPI LEAD", enabled=False))
    with pytest.raises(ConfigError) as raised:
        plan(parse(), rules)
    assert "rule 8 'Airbyte CAPI LEAD' for event LEAD is disabled" in str(raised.value)


def test_plan_keeps_mapped_rules_as_given():
    parsed = parse(credentials={**config("token_id")["credentials"], "conversion_mapping": "LEAD=111"})
    [resolution] = plan(parsed, [])
    assert (resolution.how, resolution.rule_id) == ("mapped", 111)


# -- resolve_rules ----------------------------------------------------------------------------------------------


def test_access_token_mode_returns_the_mapping_without_calling_linkedin(m, client):
    parsed = ConnectorConfig.parse(config("access_token", creds={"conversion_mapping": "LEAD=111,demo_request=222"}))
    assert resolve_rules(parsed, client, logger) == {"lead": 111, "demo_request": 222}
    assert m.call_count == 0


class FakeRules:
    """A stateful rules endpoint: GET lists what POST created, so idempotency is observable."""

    def __init__(self, m: requests_mock.Mocker, existing: list[dict]) -> None:
        self.rules = list(existing)
        self.created: list[dict] = []
        m.get(
            f"{API}/rest/conversions",
            request_headers=linkedin_headers(MINTED),
            json=lambda request, context: page(self.rules),
        )
        m.post(CREATE_URL, request_headers=linkedin_headers(MINTED), json=self.create)

    def create(self, request, context):
        body = request.json()
        self.created.append(body)
        created = {**body, "id": 9000 + len(self.created), "campaigns": []}
        self.rules.append(created)
        context.status_code = 201
        context.headers["x-restli-id"] = str(created["id"])
        return created


def test_two_resolutions_create_each_missing_rule_once(m, client, caplog):
    fake = FakeRules(m, [rule(5, "Airbyte CAPI PURCHASE", "PURCHASE", conversionMethod="INSIGHT_TAG_JAVASCRIPT_EVENT")])
    parsed = parse(conversion_events=["LEAD", "PURCHASE"])

    with caplog.at_level(logging.INFO, logger="airbyte"):
        first = resolve_rules(parsed, client, logger)
    second = resolve_rules(parsed, client, logger)

    assert first == second == {"lead": 9001, "purchase": 9002}
    assert len(fake.created) == 2
    assert fake.created[0] == {
        "name": "Airbyte CAPI LEAD",
        "account": ACCOUNT_URN,
        "conversionMethod": "CONVERSIONS_API",
        "type": "LEAD",
        "enabled": True,
        "attributionType": "LAST_TOUCH_BY_CAMPAIGN",
        "postClickAttributionWindowSize": 30,
        "viewThroughAttributionWindowSize": 7,
    }
    assert "LEAD → rule 9001 (created 'Airbyte CAPI LEAD')" in caplog.text


def test_mapped_events_are_kept_and_only_unmapped_ones_created(m, client):
    fake = FakeRules(m, [])
    creds = {**config("token_id")["credentials"], "conversion_mapping": "LEAD=111"}
    parsed = parse(credentials=creds, conversion_events=["LEAD", "SIGN_UP"])
    assert resolve_rules(parsed, client, logger) == {"lead": 111, "sign_up": 9001}
    assert [body["type"] for body in fake.created] == ["SIGN_UP"]


@pytest.mark.parametrize("event, window", [("LEAD", 365), ("SIGN_UP", 90)])
def test_365_day_click_window_only_where_linkedin_allows_it(m, client, event, window):
    fake = FakeRules(m, [])
    resolve_rules(
        parse(conversion_events=[event], rule_post_click_window=365, rule_attribution_type="LAST_TOUCH_BY_CONVERSION"),
        client,
        logger,
    )
    assert fake.created[0]["postClickAttributionWindowSize"] == window
    assert fake.created[0]["attributionType"] == "LAST_TOUCH_BY_CONVERSION"


def test_created_rule_id_may_come_from_the_restli_header(m, client):
    mock_rules(m, MINTED, [])
    m.post(CREATE_URL, status_code=201, headers={"x-restli-id": "4242"})
    assert resolve_rules(parse(), client, logger) == {"lead": 4242}


def test_refused_creation_is_a_config_error_naming_event_and_remedy(m, client):
    mock_rules(m, MINTED, [])
    m.post(CREATE_URL, status_code=403, json={"status": 403, "message": "Not enough permissions"})
    with pytest.raises(ConfigError) as raised:
        resolve_rules(parse(), client, logger)
    text = str(raised.value)
    assert "refused to create conversion rule 'Airbyte CAPI LEAD' for event LEAD" in text
    assert "rw_conversions" in text and MINTED not in text


@pytest.fixture
def patient_client():
    """A client that would retry for ten minutes (sleeping on a fake clock): creation must still POST once."""
    clock = [0.0]

    def sleep(seconds):
        clock[0] += seconds

    return LinkedInClient(API, VERSION, StaticTokenProvider(MINTED), sleep=sleep, monotonic=lambda: clock[0])


def test_lost_creation_answer_is_settled_by_listing_again(m, patient_client):
    m.get(
        f"{API}/rest/conversions",
        response_list=[{"json": page([])}, {"json": page([rule(77, "Airbyte CAPI LEAD")])}],
    )
    create = m.post(CREATE_URL, exc=requests.ConnectionError)
    assert resolve_rules(parse(), patient_client, logger) == {"lead": 77}
    assert create.call_count == 1  # never re-POSTed blindly


def test_throttled_creation_is_tried_again_after_checking_it_did_not_land(m, patient_client):
    listing = mock_rules(m, MINTED, [])
    create = m.post(
        CREATE_URL,
        response_list=[{"status_code": 429, "json": {"status": 429}}, {"status_code": 201, "json": rule(78, "x")}],
    )
    assert resolve_rules(parse(), patient_client, logger) == {"lead": 78}
    # listed to plan, after the 429 (did it land?), and after creating (did another sync create one too?)
    assert (create.call_count, listing.call_count) == (2, 3)


def test_creation_gives_up_after_three_tries(m, patient_client):
    mock_rules(m, MINTED, [])
    create = m.post(CREATE_URL, status_code=503, json={"status": 503})
    with pytest.raises(RetriesExhaustedError):
        resolve_rules(parse(), patient_client, logger)
    assert create.call_count == 3


def test_all_active_association_adds_only_missing_links(m, client):
    FakeRules(m, [rule(7, "Airbyte CAPI LEAD", campaigns=["urn:li:sponsoredCampaign:1"])])
    campaigns = m.get(
        f"{API}/rest/adAccounts/{ACCOUNT}/adCampaigns?q=search&search=(status:(values:List(ACTIVE)))&start=0&count=100",
        complete_qs=True,
        request_headers=linkedin_headers(MINTED),
        json=page([{"id": 1, "status": "ACTIVE"}, {"id": 2, "status": "ACTIVE"}]),
    )
    link = m.put(requests_mock.ANY, status_code=204)

    resolved = resolve_rules(
        parse(conversion_events=["LEAD", "PURCHASE"], campaign_association="all_active"), client, logger
    )

    assert resolved == {"lead": 7, "purchase": 9001}
    assert "search=(status:(values:List(ACTIVE)))" in campaigns.last_request.url
    puts = [(r.path, r.json()) for r in link.request_history]
    assert puts == [
        (
            "/rest/campaignConversions/(campaign:urn%3Ali%3AsponsoredCampaign%3A2,conversion:urn%3Alla%3AllaPartnerConversion%3A7)",
            {"campaign": "urn:li:sponsoredCampaign:2", "conversion": "urn:lla:llaPartnerConversion:7"},
        ),
        (
            "/rest/campaignConversions/(campaign:urn%3Ali%3AsponsoredCampaign%3A1,conversion:urn%3Alla%3AllaPartnerConversion%3A9001)",
            {"campaign": "urn:li:sponsoredCampaign:1", "conversion": "urn:lla:llaPartnerConversion:9001"},
        ),
        (
            "/rest/campaignConversions/(campaign:urn%3Ali%3AsponsoredCampaign%3A2,conversion:urn%3Alla%3AllaPartnerConversion%3A9001)",
            {"campaign": "urn:li:sponsoredCampaign:2", "conversion": "urn:lla:llaPartnerConversion:9001"},
        ),
    ]


def test_mapped_rules_are_never_associated_and_listed_campaigns_need_no_lookup(m, client):
    FakeRules(m, [])
    link = m.put(requests_mock.ANY, status_code=204)
    creds = {**config("token_id")["credentials"], "conversion_mapping": "PURCHASE=111"}
    parsed = parse(credentials=creds, campaign_association="listed", campaign_ids=[" 3 "])
    assert resolve_rules(parsed, client, logger) == {"purchase": 111, "lead": 9001}
    assert [r.path for r in link.request_history] == [
        "/rest/campaignConversions/(campaign:urn%3Ali%3AsponsoredCampaign%3A3,conversion:urn%3Alla%3AllaPartnerConversion%3A9001)"
    ]


def test_refused_association_names_campaign_and_rule(m, client):
    FakeRules(m, [rule(7, "Airbyte CAPI LEAD")])
    m.put(
        requests_mock.ANY,
        status_code=400,
        json={"status": 400, "message": "Campaign 3 is not a campaign of this account"},
    )
    with pytest.raises(ConfigError, match="refused to associate campaign 3 with conversion rule 7"):
        resolve_rules(parse(campaign_association="listed", campaign_ids=["3"]), client, logger)


# -- rules the connector created follow the configured attribution settings ------------------------------------


def test_a_rule_without_settings_in_linkedins_answer_is_not_updated(m, client):
    quiet = Rule.from_api(rule(20, "Airbyte CAPI LEAD"))
    assert quiet.settings() == {}
    assert follow_config(client, parse(rule_post_click_window=90), quiet, logger) == {}
    assert m.call_count == 0


def test_only_the_settings_that_differ_are_sent_and_a_refusal_is_one_sentence(m, client):
    ours = Rule.from_api(
        rule(
            20,
            "Airbyte CAPI LEAD",
            attributionType="LAST_TOUCH_BY_CAMPAIGN",
            postClickAttributionWindowSize=30,
            viewThroughAttributionWindowSize=7,
        )
    )
    update = m.post(f"{API}/rest/conversions/20", status_code=422, json={"message": "ERROR :: /x :: refused\n"})
    with pytest.raises(ConfigError) as raised:
        follow_config(client, parse(rule_view_through_window=30), ours, logger)
    assert update.last_request.json() == {"patch": {"$set": {"viewThroughAttributionWindowSize": 30}}}
    assert update.last_request.headers["X-RestLi-Method"] == "PARTIAL_UPDATE"
    assert "account=urn%3Ali%3AsponsoredAccount%3A" in update.last_request.url
    assert str(raised.value).startswith(
        "LinkedIn refused to update conversion rule 20 'Airbyte CAPI LEAD' to the configured settings (HTTP 422:"
    )
