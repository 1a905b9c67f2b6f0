"""Data activation end to end: `discover` offers the fields, Airbyte maps a stream to an operation
(`destination_object_name`), and `write` sends its records to that event's rule — with no event field in the
records and a stream name that matches no event.
"""

from __future__ import annotations

import datetime as dt
import json

import orjson
import pytest

from integration_tests.writing import RULES, TOKEN, access_token_config, run_write, seed_access_token
from unit_tests.conftest import run_cli

pytestmark = pytest.mark.timeout(120)


def discovered(tmp_path, config) -> dict[str, dict]:
    path = tmp_path / "discover-config.json"
    path.write_text(json.dumps(config))
    code, messages, _, stderr = run_cli(["discover", "--config", str(path)], timeout=60)
    assert code == 0, stderr
    (message,) = messages
    return {op["object_name"]: op for op in message["destination_catalog"]["operations"]}


def activation_stream(name: str, object_name: str) -> dict:
    """A configured stream as the platform sends it after the user picked an operation in the mapping UI."""
    return {
        "stream": {"name": name, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh",
        "destination_sync_mode": "append",
        "destination_object_name": object_name,
    }


def record(stream: str, data: dict) -> bytes:
    return orjson.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 0}})


def test_streams_mapped_to_operations_land_on_their_rules(sandbox, tmp_path):
    seed_access_token(sandbox)
    config = access_token_config(sandbox)  # stream_events names leads/purchases/signups only
    operations = discovered(tmp_path, config)
    assert set(operations) == set(RULES)
    fields = set(operations["PURCHASE"]["json_schema"]["properties"])
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).isoformat()
    orders = [
        {
            "email": f"buyer{n}@example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "conversion_happened_at": when,
            "conversion_value": f"{10 + n}.50",
            "currency_code": "EUR",
            "event_id": f"order-{n}",
        }
        for n in range(5)
    ]
    assert all(set(order) <= fields for order in orders)  # only columns discover offered
    # A record naming another event still follows the stream's operation: the user mapped the stream.
    orders.append({"li_fat_id": "AQE-7", "conversion_happened_at": when, "event_id": "order-5", "event_name": "LEAD"})
    lines = [record("warehouse_orders", order) for order in orders]
    lines += [record("crm_contacts", {"email": "lead@example.com", "conversion_happened_at": when, "event_id": "c1"})]
    lines += [record("wishlist", {"email": "w@example.com", "conversion_happened_at": when, "event_id": "w1"})]
    catalog = {
        "streams": [
            activation_stream("warehouse_orders", "PURCHASE"),
            activation_stream("crm_contacts", "lead"),  # object names match case-insensitively
            activation_stream("wishlist", "ADD_TO_CART"),  # not a configured event
        ]
    }

    run = run_write(tmp_path, config, catalog, lines)

    assert run.code == 0, run.output
    purchases = sandbox.events(RULES["PURCHASE"])
    assert [event["eventId"] for event in purchases] == [f"order-{n}" for n in range(6)]
    assert purchases[0]["conversionValue"] == {"currencyCode": "EUR", "amount": "10.50"}
    assert purchases[0]["user"]["userInfo"] == {"firstName": "Jane", "lastName": "Doe"}
    assert [event["eventId"] for event in sandbox.events(RULES["LEAD"])] == ["c1"]
    assert sandbox.events(RULES["SIGN_UP"]) == []
    assert any("Sync summary: 8 records read, 7 sent, 1 rejected" in line for line in run.logs), run.logs
    assert any("unknown_event: e.g. Stream 'wishlist' is set to send to 'ADD_TO_CART'" in line for line in run.logs)
    assert TOKEN not in run.output


def test_token_id_discover_lists_the_accounts_enabled_capi_rules_and_write_uses_them(sandbox, tmp_path):
    from devtools.sample_data import ACCOUNT

    sandbox.add_cdp_token_id("590708082141560832", {ACCOUNT: "ACCOUNT_MANAGER"})
    ours = sandbox.add_rule(ACCOUNT, name="Airbyte CAPI LEAD", type="LEAD")  # what the LEAD event resolves to
    crm = sandbox.add_rule(ACCOUNT, name="CRM qualified leads", type="QUALIFIED_LEAD")
    sandbox.add_rule(ACCOUNT, name="Old", type="LEAD", enabled=False)
    sandbox.add_rule(ACCOUNT, name="Tag", type="LEAD", conversion_method="INSIGHT_TAG_URL_MATCH_RULES")
    config = {
        "account_id": str(ACCOUNT),
        "credentials": {
            "auth_type": "token_id",
            "token_id": "590708082141560832",
            "token_service_url": f"{sandbox.url}/cdp/v1/token",
        },
        "conversion_events": ["LEAD"],
        "api_base_url": sandbox.url,
        "oauth_base_url": sandbox.url,
    }
    operations = discovered(tmp_path, config)
    assert list(operations) == ["LEAD", f"CRM qualified leads (rule {crm})"]  # not disabled, tag or taken rules

    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).isoformat()
    lines = [
        record("qualified", {"email": f"q{n}@example.com", "conversion_happened_at": when, "event_id": f"q{n}"})
        for n in range(3)
    ]
    lines.append(record("leads", {"email": "l@example.com", "conversion_happened_at": when, "event_id": "l0"}))
    catalog = {
        "streams": [
            activation_stream("qualified", f"CRM qualified leads (rule {crm})"),
            activation_stream("leads", "LEAD"),
        ]
    }
    run = run_write(tmp_path, config, catalog, lines)
    assert run.code == 0, run.output
    assert [event["eventId"] for event in sandbox.events(crm)] == ["q0", "q1", "q2"]
    assert [event["eventId"] for event in sandbox.events(ours)] == ["l0"]
