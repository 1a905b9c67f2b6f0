"""`POST /rest/conversionEvents` through real HTTP: acceptance, every refusal, all-or-nothing (reference §4, §11)."""

from __future__ import annotations

import copy
import json

import pytest
import requests
from linkedin_capi_sandbox import Sandbox
from linkedin_capi_sandbox.examples import (
    EXAMPLE_ACCOUNT_ID,
    EXAMPLE_BATCH_BODY,
    EXAMPLE_HEADERS,
    EXAMPLE_NOW,
    seed_example,
)

DAY_MS = 86_400_000
NOW_MS = int(EXAMPLE_NOW * 1000)
ELEMENTS = json.loads(EXAMPLE_BATCH_BODY)["elements"]
SINGLE_HEADERS = {k: v for k, v in EXAMPLE_HEADERS.items() if k != "X-RestLi-Method"}


@pytest.fixture
def sb():
    with Sandbox(clock=lambda: EXAMPLE_NOW) as sandbox:
        seed_example(sandbox)
        yield sandbox


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def post_batch(sb: Sandbox, http: requests.Session, elements: list, headers: dict | None = None) -> requests.Response:
    return http.post(
        f"{sb.url}/rest/conversionEvents", data=json.dumps({"elements": elements}), headers=headers or EXAMPLE_HEADERS
    )


def element(rule_id: int = 123456, **changes) -> dict:
    event = copy.deepcopy(ELEMENTS[0])
    event["conversion"] = f"urn:lla:llaPartnerConversion:{rule_id}"
    event.update(changes)
    return event


def test_worked_example_is_accepted_byte_for_byte(sb, http):
    response = http.post(f"{sb.url}/rest/conversionEvents", data=EXAMPLE_BATCH_BODY, headers=EXAMPLE_HEADERS)
    assert response.status_code == 200
    assert response.content == b'{"elements":[{"status":201},{"status":201}]}'
    assert response.headers["Content-Type"] == "application/json"
    events = sb.events()
    assert [e["_rule_id"] for e in events] == [123456, 123457]
    assert [{k: v for k, v in e.items() if not k.startswith("_")} for e in events] == ELEMENTS
    assert all(e["_received_at"] == EXAMPLE_NOW for e in events)
    assert sb.event_ids() == ["order-8c482", "lead-7f01"]
    assert [e["eventId"] for e in sb.events(rule_id=123457)] == ["lead-7f01"]
    assert sb.stats()["batch_sizes"] == [2]


def test_the_422_example_names_both_problems_and_stores_nothing(sb, http):
    elements = copy.deepcopy(ELEMENTS)
    del elements[1]["user"]["userInfo"]["lastName"]
    elements[1]["conversionValue"] = {"currencyCode": "EUR"}
    response = post_batch(sb, http, elements)
    assert response.status_code == 422
    assert response.json() == {
        "status": 422,
        "message": "Index: 1, ERROR :: /user/userInfo/lastName :: field is required but not found and has no default value\n"
        "ERROR :: /conversionValue/amount :: field is required but not found and has no default value\n",
    }
    assert sb.events() == []


def test_422_lists_every_failing_element(sb, http):
    bad_amount = element(conversionValue={"currencyCode": "EUR", "amount": 49.9})
    response = post_batch(sb, http, [element(), bad_amount, element(), element(user={"userInfo": {}})])
    assert response.status_code == 422
    assert response.json()["message"] == (
        "Index: 1, ERROR :: /conversionValue/amount :: 49.9 cannot be coerced to String\n"
        "Index: 3, ERROR :: /user/userIds :: field is required but not found and has no default value\n"
        "ERROR :: /user/userInfo/firstName :: field is required but not found and has no default value\n"
        "ERROR :: /user/userInfo/lastName :: field is required but not found and has no default value\n"
    )


def test_single_event_is_201_with_an_empty_body(sb, http):
    response = http.post(f"{sb.url}/rest/conversionEvents", json=element(), headers=SINGLE_HEADERS)
    assert response.status_code == 201 and response.content == b""
    assert len(sb.events()) == 1 and sb.stats()["batch_sizes"] == []


def test_single_event_422_has_no_index(sb, http):
    response = http.post(f"{sb.url}/rest/conversionEvents", json=element(eventId=7), headers=SINGLE_HEADERS)
    assert response.status_code == 422
    assert response.json()["message"] == "ERROR :: /eventId :: 7 cannot be coerced to String\n"


def test_a_batch_body_sent_without_batch_create_is_a_422(sb, http):
    response = http.post(f"{sb.url}/rest/conversionEvents", json={"elements": [element()]}, headers=SINGLE_HEADERS)
    assert response.status_code == 422
    assert "ERROR :: /elements :: unrecognized field found but not allowed\n" in response.json()["message"]


def test_the_trailing_slash_path_of_linkedins_gtm_template_works(sb, http):
    response = http.post(f"{sb.url}/rest/conversionEvents/", json=element(), headers=SINGLE_HEADERS)
    assert response.status_code == 201


def test_5000_elements_accepted_and_5001_refused(sb, http):
    assert post_batch(sb, http, [element()] * 5000).status_code == 200
    response = post_batch(sb, http, [element()] * 5001)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "message": "A BATCH_CREATE request must hold 1 to 5000 elements; this one has 5001",
    }
    assert len(sb.events()) == 5000 and sb.stats()["batch_sizes"] == [5000]


def test_empty_and_malformed_batches_are_refused(sb, http):
    assert post_batch(sb, http, []).status_code == 400
    response = http.post(f"{sb.url}/rest/conversionEvents", data=b'{"elements": [', headers=EXAMPLE_HEADERS)
    assert response.status_code == 400 and "Could not parse" in response.json()["message"]
    response = http.post(f"{sb.url}/rest/conversionEvents", json=element(), headers=EXAMPLE_HEADERS)
    assert response.status_code == 400


def test_write_needs_json_content_type(sb, http):
    headers = {**EXAMPLE_HEADERS, "Content-Type": "text/plain"}
    response = http.post(f"{sb.url}/rest/conversionEvents", data=EXAMPLE_BATCH_BODY, headers=headers)
    assert response.status_code == 415


def test_event_older_than_90_days_plus_a_minute_is_a_400_without_code(sb, http):
    edge = element(conversionHappenedAt=NOW_MS - 90 * DAY_MS)
    too_old = element(conversionHappenedAt=NOW_MS - 90 * DAY_MS - 60_000)
    response = post_batch(sb, http, [edge, too_old, edge, too_old])
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"status", "message"}
    assert body["message"].endswith("within the last 90 days and not in the future, indices [1, 3] (0-indexed)")
    assert sb.events() == []
    assert post_batch(sb, http, [edge]).status_code == 200


def test_number_amount_is_a_422(sb, http):
    response = post_batch(sb, http, [element(conversionValue={"currencyCode": "EUR", "amount": 1500.0})])
    assert response.status_code == 422
    assert (
        response.json()["message"]
        == "Index: 0, ERROR :: /conversionValue/amount :: 1500.0 cannot be coerced to String\n"
    )


def test_non_capi_rules_are_a_400_listing_every_index(sb, http):
    tag_rule = sb.add_rule(EXAMPLE_ACCOUNT_ID, name="Insight tag", conversion_method="INSIGHT_TAG_URL_MATCH_RULES")
    response = post_batch(sb, http, [element(tag_rule), element(), element(tag_rule)])
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "message": "Incorrect conversions information provided. Conversion's method should be CONVERSIONS_API, "
        "indices [0, 2] (0-indexed)",
    }
    assert sb.events() == []


def test_unknown_rule_or_rule_of_another_account_is_a_403(sb, http):
    other = sb.add_rule(999, name="Someone else's")
    for rule_id in (424242, other):
        response = post_batch(sb, http, [element(), element(rule_id)])
        assert response.status_code == 403
        assert response.json() == {"status": 403, "message": "No ad accounts found"}
    assert sb.events() == []


def test_a_viewer_cannot_stream(sb, http):
    sb.add_token("viewer", {EXAMPLE_ACCOUNT_ID: "VIEWER"})
    response = post_batch(sb, http, [element()], headers={**EXAMPLE_HEADERS, "Authorization": "Bearer viewer"})
    assert response.status_code == 403
    assert response.json() == {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Not enough permissions to access: conversionEvents.BATCH_CREATE",
    }


def test_precedence_schema_then_rule_then_method_then_window(sb, http):
    tag_rule = sb.add_rule(EXAMPLE_ACCOUNT_ID, conversion_method="INSIGHT_TAG_JAVASCRIPT_EVENT")
    old = NOW_MS - 100 * DAY_MS
    schema_bad = element(eventId=1)
    assert (
        post_batch(
            sb, http, [element(424242), element(tag_rule), element(conversionHappenedAt=old), schema_bad]
        ).status_code
        == 422
    )
    assert (
        post_batch(sb, http, [element(424242), element(tag_rule), element(conversionHappenedAt=old)]).status_code == 403
    )
    response = post_batch(sb, http, [element(conversionHappenedAt=old), element(tag_rule)])
    assert response.status_code == 400 and "CONVERSIONS_API, indices [1]" in response.json()["message"]


def test_disabled_rule_answers_201_but_records_nothing(sb, http):
    disabled = sb.add_rule(EXAMPLE_ACCOUNT_ID, enabled=False)
    response = post_batch(sb, http, [element(disabled), element()])
    assert response.status_code == 200
    assert [e["_rule_id"] for e in sb.events()] == [123456]
    assert sb.stats()["not_recorded"] == 1


def test_an_event_id_its_rule_already_holds_is_stored_and_counted_as_a_duplicate_per_rule(sb, http):
    """LinkedIn would count a re-sent event again: the sandbox stores it as received and counts it, per rule."""
    disabled = sb.add_rule(EXAMPLE_ACCOUNT_ID, enabled=False)
    no_id = element()
    del no_id["eventId"]
    first = [element(123456, eventId="a"), element(123457, eventId="a"), no_id, element(disabled, eventId="a")]
    assert post_batch(sb, http, first).status_code == 200
    assert sb.stats()["duplicates_received"] == 0 and sb.stats()["duplicates_by_rule"] == {}

    again = [element(123456, eventId="a"), element(123456, eventId="b"), element(123456, eventId="b"), no_id]
    assert (
        post_batch(sb, http, [*again, element(123457, eventId="a"), element(disabled, eventId="a")]).status_code == 200
    )
    assert [e.get("eventId") for e in sb.events(rule_id=123456)] == ["a", None, "a", "b", "b", None]
    stats = sb.stats()
    assert stats["duplicates_by_rule"] == {123456: 2, 123457: 1}  # "a" again, "b" twice in one batch
    assert stats["duplicates_received"] == 3
    assert stats["not_recorded"] == 2  # a disabled rule records nothing, so it holds no duplicate either


def test_resetting_stats_keeps_the_event_ids_and_resetting_events_forgets_them(sb, http):
    assert post_batch(sb, http, [element(eventId="a")]).status_code == 200
    sb.reset_stats()
    assert post_batch(sb, http, [element(eventId="a")]).status_code == 200
    assert sb.stats()["duplicates_received"] == 1
    sb.reset_events()
    sb.reset_stats()
    assert post_batch(sb, http, [element(eventId="a")]).status_code == 200
    assert sb.stats()["duplicates_received"] == 0 and len(sb.events()) == 1


def test_events_dump_as_jsonl(sb, http, tmp_path):
    http.post(f"{sb.url}/rest/conversionEvents", data=EXAMPLE_BATCH_BODY, headers=EXAMPLE_HEADERS)
    path = tmp_path / "events.jsonl"
    sb.dump_events_jsonl(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["eventId"] for line in lines] == ["order-8c482", "lead-7f01"]
    sb.reset_events()
    assert sb.events() == [] and sb.event_ids() == []


def test_error_indices_can_be_switched_off_to_force_bisection(sb, http):
    sb.set_error_indices(False)
    bad_amount = element(conversionValue={"currencyCode": "EUR", "amount": 49.9})
    response = post_batch(sb, http, [element(), bad_amount])
    assert response.status_code == 422
    assert response.json()["message"] == "ERROR :: /conversionValue/amount :: 49.9 cannot be coerced to String\n"
    too_old = element(conversionHappenedAt=NOW_MS - 91 * DAY_MS)
    response = post_batch(sb, http, [element(), too_old])
    assert response.status_code == 400
    assert "indices" not in response.json()["message"]
    assert sb.events() == []
    http.post(f"{sb.url}/_sandbox/error-indices", json={"enabled": True}).raise_for_status()
    assert "Index: 1, ERROR ::" in post_batch(sb, http, [element(), bad_amount]).json()["message"]
