"""Rules, campaign associations, ad accounts and campaigns over HTTP (reference §2.1, §5)."""

from __future__ import annotations

import pytest
import requests
from linkedin_capi_sandbox import Sandbox
from linkedin_capi_sandbox.examples import EXAMPLE_ACCOUNT_ID, EXAMPLE_HEADERS, EXAMPLE_NOW, seed_example

ACCOUNT_URN = f"urn:li:sponsoredAccount:{EXAMPLE_ACCOUNT_ID}"
ENCODED_ACCOUNT = ACCOUNT_URN.replace(":", "%3A")
HEADERS = {k: v for k, v in EXAMPLE_HEADERS.items() if k != "X-RestLi-Method"}
NEW_RULE = {
    "name": "CAPI – Closed won",
    "account": ACCOUNT_URN,
    "conversionMethod": "CONVERSIONS_API",
    "type": "PURCHASE",
    "attributionType": "LAST_TOUCH_BY_CAMPAIGN",
    "postClickAttributionWindowSize": 90,
    "viewThroughAttributionWindowSize": 30,
}


@pytest.fixture
def sb():
    with Sandbox(clock=lambda: EXAMPLE_NOW) as sandbox:
        seed_example(sandbox)
        yield sandbox


def get(sb: Sandbox, path: str, **params) -> requests.Response:
    return requests.get(f"{sb.url}{path}", params=params or None, headers=HEADERS)


def key(campaign_id: int, rule_id: int) -> str:
    return f"(campaign:urn%3Ali%3AsponsoredCampaign%3A{campaign_id},conversion:urn%3Alla%3AllaPartnerConversion%3A{rule_id})"


def association(campaign_id: int, rule_id: int) -> dict:
    return {
        "campaign": f"urn:li:sponsoredCampaign:{campaign_id}",
        "conversion": f"urn:lla:llaPartnerConversion:{rule_id}",
    }


def test_rule_list_pages_with_start_count_and_total(sb):
    for number in range(3):
        sb.add_rule(EXAMPLE_ACCOUNT_ID, name=f"extra {number}")
    first = get(sb, "/rest/conversions", q="account", account=ACCOUNT_URN, start=0, count=2).json()
    assert first["paging"] == {"start": 0, "count": 2, "links": [], "total": 5}
    assert [rule["id"] for rule in first["elements"]] == [123456, 123457]
    rest = get(sb, "/rest/conversions", q="account", account=ACCOUNT_URN, start=2, count=10).json()
    assert len(rest["elements"]) == 3
    default = get(sb, "/rest/conversions", q="account", account=ACCOUNT_URN).json()
    assert default["paging"]["count"] == 10


def test_rule_list_fields_projection_and_shape(sb):
    body = get(sb, "/rest/conversions", q="account", account=ACCOUNT_URN, fields="id,enabled,conversionMethod").json()
    assert body["elements"][0] == {"id": 123456, "enabled": True, "conversionMethod": "CONVERSIONS_API"}


def test_rule_list_needs_an_encoded_account_urn(sb):
    raw = requests.get(f"{sb.url}/rest/conversions?q=account&account={ACCOUNT_URN}", headers=HEADERS)
    assert raw.status_code == 400
    assert get(sb, "/rest/conversions", q="account").status_code == 400
    assert get(sb, "/rest/conversions", q="other", account=ACCOUNT_URN).status_code == 400


def test_rule_list_of_unknown_account_is_empty_and_of_foreign_account_403(sb):
    empty = get(sb, "/rest/conversions", q="account", account="urn:li:sponsoredAccount:1").json()
    assert empty["elements"] == [] and empty["paging"]["total"] == 0
    sb.add_account(777)
    response = get(sb, "/rest/conversions", q="account", account="urn:li:sponsoredAccount:777")
    assert response.status_code == 403 and response.json()["code"] == "ACCESS_DENIED"


def test_get_one_rule_needs_its_account(sb):
    response = requests.get(f"{sb.url}/rest/conversions/123456?account={ENCODED_ACCOUNT}", headers=HEADERS)
    assert response.status_code == 200 and response.json()["id"] == 123456
    assert requests.get(f"{sb.url}/rest/conversions/123456", headers=HEADERS).status_code == 400
    assert requests.get(f"{sb.url}/rest/conversions/999?account={ENCODED_ACCOUNT}", headers=HEADERS).status_code == 404


def test_create_rule_is_201_with_restli_id_and_body(sb):
    response = requests.post(f"{sb.url}/rest/conversions", json=NEW_RULE, headers=HEADERS)
    assert response.status_code == 201
    rule_id = int(response.headers["x-restli-id"])
    assert response.headers["Location"] == f"/conversions/{rule_id}"
    body = response.json()
    assert body == {
        **NEW_RULE,
        "id": rule_id,
        "enabled": True,
        "campaigns": [],
        "associatedCampaigns": [],
        "urlRules": [],
        "created": int(EXAMPLE_NOW * 1000),
        "lastModified": int(EXAMPLE_NOW * 1000),
    }
    assert [rule["id"] for rule in sb.rules(EXAMPLE_ACCOUNT_ID)][-1] == rule_id


def test_create_rule_validates_the_body(sb):
    bad = {**NEW_RULE, "type": "PURCHASES", "id": 5, "colour": "red", "postClickAttributionWindowSize": 45}
    del bad["name"]
    response = requests.post(f"{sb.url}/rest/conversions", json=bad, headers=HEADERS)
    assert response.status_code == 422
    message = response.json()["message"]
    for line in (
        "ERROR :: /id :: ReadOnly field present in a create request\n",
        "ERROR :: /colour :: unrecognized field found but not allowed\n",
        "ERROR :: /name :: field is required but not found and has no default value\n",
        'ERROR :: /type :: "PURCHASES" is not an enum symbol\n',
        "ERROR :: /postClickAttributionWindowSize :: 45 is not one of [1, 7, 30, 90, 365]\n",
    ):
        assert line in message
    view_through = requests.post(
        f"{sb.url}/rest/conversions", json={**NEW_RULE, "viewThroughAttributionWindowSize": 14}, headers=HEADERS
    )
    assert (
        "ERROR :: /viewThroughAttributionWindowSize :: 14 is not one of [1, 7, 30, 90]\n"
        in view_through.json()["message"]
    )
    lead_365 = requests.post(
        f"{sb.url}/rest/conversions",
        json={**NEW_RULE, "type": "SIGN_UP", "postClickAttributionWindowSize": 365},
        headers=HEADERS,
    )
    assert lead_365.status_code == 422


def test_create_rule_needs_a_writing_role_on_the_account(sb):
    sb.add_token("viewer", {EXAMPLE_ACCOUNT_ID: "VIEWER"})
    response = requests.post(
        f"{sb.url}/rest/conversions", json=NEW_RULE, headers={**HEADERS, "Authorization": "Bearer viewer"}
    )
    assert response.status_code == 403
    foreign = {**NEW_RULE, "account": "urn:li:sponsoredAccount:1"}
    assert requests.post(f"{sb.url}/rest/conversions", json=foreign, headers=HEADERS).status_code == 403


def test_partial_update_is_204_and_changes_the_rule(sb):
    url = f"{sb.url}/rest/conversions/123456?account={ENCODED_ACCOUNT}"
    headers = {**HEADERS, "X-RestLi-Method": "PARTIAL_UPDATE"}
    response = requests.post(url, json={"patch": {"$set": {"name": "Renamed", "enabled": False}}}, headers=headers)
    assert response.status_code == 204 and response.content == b""
    rule = sb.rules(EXAMPLE_ACCOUNT_ID)[0]
    assert rule["name"] == "Renamed" and rule["enabled"] is False


def test_partial_update_refuses_immutable_and_bad_fields(sb):
    url = f"{sb.url}/rest/conversions/123456?account={ENCODED_ACCOUNT}"
    headers = {**HEADERS, "X-RestLi-Method": "PARTIAL_UPDATE"}
    response = requests.post(url, json={"patch": {"$set": {"account": "urn:li:sponsoredAccount:1"}}}, headers=headers)
    assert response.status_code == 422
    assert response.json()["message"] == "ERROR :: /account :: CreateOnly field present in a partial_update request\n"
    assert requests.post(url, json={"name": "x"}, headers=headers).status_code == 400
    assert requests.post(url, json={"patch": {"$set": {"name": "x"}}}, headers=HEADERS).status_code == 405


def test_partial_update_of_the_attribution_settings_is_validated_like_a_creation(sb):
    url = f"{sb.url}/rest/conversions/123456?account={ENCODED_ACCOUNT}"
    headers = {**HEADERS, "X-RestLi-Method": "PARTIAL_UPDATE"}
    settings = {
        "attributionType": "LAST_TOUCH_BY_CONVERSION",
        "postClickAttributionWindowSize": 90,
        "viewThroughAttributionWindowSize": 30,
    }
    assert requests.post(url, json={"patch": {"$set": settings}}, headers=headers).status_code == 204
    rule = sb.rules(EXAMPLE_ACCOUNT_ID)[0]
    assert {name: rule[name] for name in settings} == settings
    refused = {
        "viewThroughAttributionWindowSize": 14,
        "postClickAttributionWindowSize": "30",
        "attributionType": "FIRST_TOUCH",
    }
    for name, value in refused.items():
        response = requests.post(url, json={"patch": {"$set": {name: value}}}, headers=headers)
        assert response.status_code == 422 and response.json()["message"].startswith(f"ERROR :: /{name} :: ")
    assert {name: sb.rules(EXAMPLE_ACCOUNT_ID)[0][name] for name in settings} == settings  # nothing applied


def test_a_365_day_window_is_refused_on_a_type_that_does_not_allow_it_even_by_partial_update(sb):
    rule_id = sb.add_rule(EXAMPLE_ACCOUNT_ID, name="Sign-ups", type="SIGN_UP")
    url = f"{sb.url}/rest/conversions/{rule_id}?account={ENCODED_ACCOUNT}"
    headers = {**HEADERS, "X-RestLi-Method": "PARTIAL_UPDATE"}
    response = requests.post(url, json={"patch": {"$set": {"postClickAttributionWindowSize": 365}}}, headers=headers)
    assert response.status_code == 422
    assert "365 is not allowed for type SIGN_UP" in response.json()["message"]


def test_campaign_association_single_put_decodes_the_key(sb):
    campaign = sb.add_campaign(EXAMPLE_ACCOUNT_ID, campaign_id=555)
    response = requests.put(
        f"{sb.url}/rest/campaignConversions/{key(campaign, 123456)}", json=association(555, 123456), headers=HEADERS
    )
    assert response.status_code == 204
    assert sb.campaign_conversions() == {(555, 123456)}
    rule = sb.rules(EXAMPLE_ACCOUNT_ID)[0]
    assert rule["campaigns"] == ["urn:li:sponsoredCampaign:555"]
    assert rule["associatedCampaigns"][0]["campaign"] == "urn:li:sponsoredCampaign:555"


def test_campaign_association_refuses_raw_urns_and_mismatches(sb):
    sb.add_campaign(EXAMPLE_ACCOUNT_ID, campaign_id=555)
    raw_key = "(campaign:urn:li:sponsoredCampaign:555,conversion:urn:lla:llaPartnerConversion:123456)"
    assert (
        requests.put(
            f"{sb.url}/rest/campaignConversions/{raw_key}", json=association(555, 123456), headers=HEADERS
        ).status_code
        == 400
    )
    mismatch = requests.put(
        f"{sb.url}/rest/campaignConversions/{key(555, 123456)}", json=association(555, 123457), headers=HEADERS
    )
    assert mismatch.status_code == 400
    other_account = sb.add_campaign(999)
    foreign = requests.put(
        f"{sb.url}/rest/campaignConversions/{key(other_account, 123456)}",
        json=association(other_account, 123456),
        headers=HEADERS,
    )
    assert foreign.status_code == 400
    assert sb.campaign_conversions() == set()


def test_campaign_association_batch_put(sb):
    for campaign in (1, 2):
        sb.add_campaign(EXAMPLE_ACCOUNT_ID, campaign_id=campaign)
    ids = f"List({key(1, 123456)},{key(2, 123456)},{key(3, 123456)})"
    entities = {key(c, 123456): association(c, 123456) for c in (1, 2, 3)}
    response = requests.put(
        f"{sb.url}/rest/campaignConversions?ids={ids}", json={"entities": entities}, headers=HEADERS
    )
    assert response.status_code == 200
    body = response.json()
    assert body["results"] == {key(1, 123456): {"status": 204}, key(2, 123456): {"status": 204}}
    assert body["errors"][key(3, 123456)]["status"] == 400
    assert sb.campaign_conversions() == {(1, 123456), (2, 123456)}
    wrong_keys = requests.put(
        f"{sb.url}/rest/campaignConversions?ids=List({key(1, 123456)})", json={"entities": entities}, headers=HEADERS
    )
    assert wrong_keys.status_code == 400


def test_ad_account_and_authenticated_user_roles(sb):
    sb.add_account(777, name="Not mine")
    account = get(sb, f"/rest/adAccounts/{EXAMPLE_ACCOUNT_ID}").json()
    assert account["id"] == EXAMPLE_ACCOUNT_ID and account["name"] == "Acme GmbH" and account["status"] == "ACTIVE"
    assert get(sb, "/rest/adAccounts/777").status_code == 403
    assert get(sb, "/rest/adAccounts/778").status_code == 404
    users = get(sb, "/rest/adAccountUsers", q="authenticatedUser").json()["elements"]
    assert [(u["account"], u["role"]) for u in users] == [(ACCOUNT_URN, "ACCOUNT_MANAGER")]
    searched = get(sb, "/rest/adAccounts", q="search").json()["elements"]
    assert [a["id"] for a in searched] == [EXAMPLE_ACCOUNT_ID]


def test_campaign_search_filters_by_status(sb):
    sb.add_campaign(EXAMPLE_ACCOUNT_ID, campaign_id=1, status="ACTIVE")
    sb.add_campaign(EXAMPLE_ACCOUNT_ID, campaign_id=2, status="DRAFT")
    sb.add_campaign(EXAMPLE_ACCOUNT_ID, campaign_id=3, status="PAUSED")
    sb.add_campaign(999, campaign_id=4, status="ACTIVE")
    path = f"/rest/adAccounts/{EXAMPLE_ACCOUNT_ID}/adCampaigns?q=search"
    found = requests.get(f"{sb.url}{path}&search=(status:(values:List(ACTIVE,DRAFT)))", headers=HEADERS).json()
    assert [c["id"] for c in found["elements"]] == [1, 2]
    assert found["elements"][0]["account"] == ACCOUNT_URN
    assert len(requests.get(f"{sb.url}{path}", headers=HEADERS).json()["elements"]) == 3


def test_campaign_search_with_percent_encoded_structure_is_400(sb):
    path = f"/rest/adAccounts/{EXAMPLE_ACCOUNT_ID}/adCampaigns"
    response = requests.get(
        f"{sb.url}{path}", params={"q": "search", "search": "(status:(values:List(ACTIVE)))"}, headers=HEADERS
    )
    assert "%28status" in response.url
    assert response.status_code == 400
