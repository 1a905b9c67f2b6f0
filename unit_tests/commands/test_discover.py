"""`python main.py discover` (Airbyte data activation): the message has the protocol's shape, and its schema only
offers fields the mapping really uses — a record shaped by it maps to a LinkedIn event.

The protocol's wire names (airbyte_protocol.yaml, DestinationOperation) are object_name, sync_mode, json_schema
and the optional matching_keys; the message is validated by loading it into the protocol's own dataclasses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest
import requests
import requests_mock
import yaml
from airbyte_protocol_dataclasses.models import AirbyteMessage, DestinationSyncMode, Type
from serpyco_rs import Serializer

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.fields import RECOGNISED_FIELDS
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.results import ConversionEvent
from destination_linkedin_capi.mapping.routing import StreamInfo
from unit_tests import linkedin_mocks as mocks
from unit_tests.conftest import ROOT, run_cli

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)
ACCESS = {"auth_type": "access_token", "access_token": "tok-SECRET", "conversion_mapping": "Lead=11,purchase=12"}
# Nothing listens on port 9: in these tests the token-ID and OAuth modes' rule listing fails at once (one attempt).
TOKEN_ID = {"auth_type": "token_id", "token_id": "590708082141560832", "token_service_url": "http://127.0.0.1:9/x"}
OAUTH = {"auth_type": "oauth2", "client_id": "app", "client_secret": "s-SECRET", "refresh_token": "r-SECRET"}
# A usable value for every field discover may offer; a new field must be added here to be tested.
VALUES: dict[str, Any] = {
    "email": " Jane.Doe@Example.com ",
    "li_fat_id": "AQE12345-abcdef",
    "first_name": "Jane",
    "last_name": "Doe",
    "company_name": "Acme GmbH",
    "title": "CFO",
    "country_code": "Germany",
    "acxiom_id": "AX-1",
    "oracle_moat_id": "OM-1",
    "ip_address": "203.0.113.7",
    "google_aid": "38400000-8cf0-11bd-b23e-10b96e40000d",
    "external_id": "crm-42",
    "lead_id": "urn:li:leadGenFormResponse:123",
    "conversion_happened_at": "2026-11-20T10:00:00Z",
    "conversion_value": "129.90",
    "currency_code": "EUR",
    "event_id": "order-42",
    "conversion_rule_id": "22285180",
}


def discover(write_json, config: dict[str, Any]) -> tuple[int, list[dict], str]:
    code, messages, _, stderr = run_cli(["discover", "--config", str(write_json("config.json", config))])
    return code, messages, stderr


def catalog_of(write_json, config: dict[str, Any]) -> dict[str, Any]:
    code, messages, stderr = discover(write_json, config)
    assert code == 0, stderr
    catalogs = [message for message in messages if message["type"] == "DESTINATION_CATALOG"]
    logs = [message for message in messages if message["type"] == "LOG"]
    assert len(catalogs) == 1 and len(logs) == len(messages) - 1, messages
    if config["credentials"]["auth_type"] != "access_token":  # no LinkedIn here: the rules could not be listed
        assert [log["log"]["message"][:46] for log in logs] == ["discover lists the configured events only: the"]
    return catalogs[0]


def operations(message: dict[str, Any]) -> list[dict[str, Any]]:
    return message["destination_catalog"]["operations"]


def mapper(config: dict[str, Any], operation: dict[str, Any]) -> RecordMapper:
    """The mapper of a sync whose stream `activation` was mapped to the operation in Airbyte's UI."""
    parsed = ConnectorConfig.parse(config)
    rules = {key: number for number, key in enumerate(parsed.events, start=100)}
    stream = StreamInfo(destination_object_name=operation["object_name"])
    return RecordMapper(parsed, rules, {(None, "activation"): stream}, now_ms=lambda: NOW_MS)


def base(credentials: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    unreachable = {"oauth_base_url": "http://127.0.0.1:9", "max_retry_seconds": 0}
    return {"account_id": "512345678", "credentials": credentials, **unreachable, **overrides}


@pytest.mark.parametrize(
    ("credentials", "events", "names"),
    [
        (ACCESS, None, ["Lead", "purchase"]),
        (ACCESS, ["LEAD"], ["Lead"]),
        (TOKEN_ID, ["LEAD", "PURCHASE", "SIGN_UP"], ["LEAD", "PURCHASE", "SIGN_UP"]),
        (OAUTH, ["SIGN_UP"], ["SIGN_UP"]),
    ],
    ids=["access-token-mapping", "access-token-subset", "token-id", "oauth"],
)
def test_one_protocol_valid_operation_per_configured_event(write_json, credentials, events, names):
    config = base(credentials, **({"conversion_events": events} if events else {}))
    message = catalog_of(write_json, config)

    loaded = Serializer(AirbyteMessage, omit_none=True).load(message)
    assert loaded.type == Type.DESTINATION_CATALOG
    assert Serializer(AirbyteMessage, omit_none=True).dump(loaded) == message  # nothing the protocol lacks
    assert [operation.object_name for operation in loaded.destination_catalog.operations] == names
    assert {operation.sync_mode for operation in loaded.destination_catalog.operations} == {DestinationSyncMode.append}


def test_each_schema_is_json_schema_of_fields_the_mapping_recognises(write_json):
    for operation in operations(catalog_of(write_json, base(TOKEN_ID, conversion_events=["LEAD", "PURCHASE"]))):
        schema = operation["json_schema"]
        jsonschema.Draft7Validator.check_schema(schema)
        properties = schema["properties"]
        assert set(properties) <= set(RECOGNISED_FIELDS), set(properties) - set(RECOGNISED_FIELDS)
        assert set(properties) <= set(VALUES), "add a usable value for the new field to VALUES"
        assert all(spec.get("description") for spec in properties.values())
        assert set(schema["required"]) <= set(properties)
        for key in operation["matching_keys"]:
            assert key and set(key) <= set(properties), key


@pytest.mark.parametrize("api_version", ["202604", "202607"])
def test_a_record_shaped_by_the_schema_validates_and_maps_with_every_field_used(write_json, api_version):
    config = base(ACCESS, api_version=api_version)
    operation = operations(catalog_of(write_json, config))[0]
    record = {name: VALUES[name] for name in operation["json_schema"]["properties"]}
    jsonschema.Draft7Validator(operation["json_schema"]).validate(record)

    result = mapper(config, operation).for_stream(None, "activation")(record)
    assert isinstance(result, ConversionEvent), result
    assert result.notes == ()  # nothing offered by discover was dropped
    assert result.payload["eventId"] == "order-42"
    assert result.payload["conversionValue"] == {"currencyCode": "EUR", "amount": "129.90"}
    assert set(result.payload["user"]["userInfo"]) == {"firstName", "lastName", "companyName", "title", "countryCode"}


@pytest.mark.parametrize("api_version", ["202604", "202607"])
def test_every_matching_key_alone_identifies_the_member(write_json, api_version):
    """matching_keys are the alternative ways LinkedIn matches a member: each one alone must be enough."""
    config = base(ACCESS, api_version=api_version)
    operation = operations(catalog_of(write_json, config))[0]
    mapped = mapper(config, operation)
    for key in operation["matching_keys"]:
        record = {"conversion_happened_at": VALUES["conversion_happened_at"], **{name: VALUES[name] for name in key}}
        result = mapped.for_stream(None, "activation")(record)
        assert isinstance(result, ConversionEvent), (key, result)
        assert result.notes == (), key


def test_matching_keys_cover_every_way_the_mapping_identifies_a_member(write_json):
    config = base(ACCESS)
    operation = operations(catalog_of(write_json, config))[0]
    mapped = mapper(config, operation)
    time = {"conversion_happened_at": VALUES["conversion_happened_at"]}
    alone = [
        (name,)
        for name in operation["json_schema"]["properties"]
        if isinstance(mapped.for_stream(None, "activation")({**time, name: VALUES[name]}), ConversionEvent)
    ]
    assert ("email",) in alone and ("li_fat_id",) in alone
    names = {**time, "first_name": "Jane", "last_name": "Doe"}
    assert isinstance(mapped.for_stream(None, "activation")(names), ConversionEvent)
    assert sorted(map(tuple, operation["matching_keys"])) == sorted([*alone, ("first_name", "last_name")])


@pytest.mark.parametrize("api_version, lead_alone", [("202604", False), ("202605", True)])
def test_the_lead_is_a_matching_key_of_its_own_from_202605(write_json, api_version, lead_alone):
    operation = operations(catalog_of(write_json, base(ACCESS, api_version=api_version)))[0]
    assert (["lead_id"] in operation["matching_keys"]) is lead_alone
    assert "lead_id" in operation["json_schema"]["properties"]  # still sent beside another identifier


def test_schema_requires_the_conversion_time(write_json):
    operation = operations(catalog_of(write_json, base(ACCESS)))[0]
    with pytest.raises(jsonschema.ValidationError, match="conversion_happened_at"):
        jsonschema.Draft7Validator(operation["json_schema"]).validate({"email": VALUES["email"]})


def test_an_invalid_config_is_a_config_error_trace_without_a_catalog(write_json):
    code, messages, _ = discover(write_json, base({"auth_type": "access_token", "access_token": "tok-SECRET"}))
    assert code != 0
    traces = [message["trace"]["error"] for message in messages if message["type"] == "TRACE"]
    assert [trace["failure_type"] for trace in traces] == ["config_error"]
    assert "Conversion mapping is required" in traces[0]["message"]
    assert not [message for message in messages if message["type"] == "DESTINATION_CATALOG"]
    assert "tok-SECRET" not in str(messages)


def test_metadata_declares_data_activation_and_discover_answers(write_json):
    data = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
    assert data["supportsDataActivation"] is True
    assert operations(catalog_of(write_json, base(ACCESS)))


# -- existing rules as operations (token-ID and OAuth modes) ------------------------------------------------


def test_existing_rules_become_protocol_valid_operations_that_write_routes_to():
    from destination_linkedin_capi.airbyte.catalog import rule_events, rule_object_name, rule_of_object
    from destination_linkedin_capi.commands.discover import destination_catalog
    from destination_linkedin_capi.linkedin.rules import Rule

    config = ConnectorConfig.parse(base(TOKEN_ID, conversion_events=["LEAD"]))
    rules = [
        Rule(22285180, "CRM leads", "LEAD", "CONVERSIONS_API", True),
        Rule(7, " ", "PURCHASE", "CONVERSIONS_API", True),
    ]
    message = destination_catalog(config, rules)
    loaded = Serializer(AirbyteMessage, omit_none=True).load(message)
    names = [operation.object_name for operation in loaded.destination_catalog.operations]
    assert names == ["LEAD", "CRM leads (rule 22285180)", "PURCHASE (rule 7)"]
    assert Serializer(AirbyteMessage, omit_none=True).dump(loaded) == message
    assert [rule_of_object(rule_object_name(rule)) for rule in rules] == [22285180, 7]
    assert rule_of_object("LEAD") is None and rule_of_object("rule 5") is None

    # Airbyte's UI maps a stream to the rule's operation; write sends it to that rule.
    streams = {(None, "activation"): StreamInfo(destination_object_name="CRM leads (rule 22285180)")}
    events = rule_events(config.events, streams)
    assert events["crm leads (rule 22285180)"].rule_id == 22285180
    assert "crm leads (rule 22285180)" not in config.events  # a new config is made, this one is kept
    config = config.with_events(events)
    mapped = RecordMapper(config, {"lead": 1, "crm leads (rule 22285180)": 22285180}, streams, now_ms=lambda: NOW_MS)
    result = mapped.for_stream(None, "activation")(
        {"email": VALUES["email"], "conversion_happened_at": "2026-11-20T10:00Z"}
    )
    assert isinstance(result, ConversionEvent)
    assert result.payload["conversion"] == "urn:lla:llaPartnerConversion:22285180"


# -- discover's deadline: like check, it gives up within DISCOVER_RETRY_SECONDS ----------------------------


def _hanging(clock, timeouts):
    """A server that accepts the connection and never answers: each attempt costs its whole read timeout."""

    def hang(request, context):
        timeouts.append(request.timeout)
        clock.now += request.timeout[1]
        raise requests.exceptions.ReadTimeout("read timed out")

    return hang


def _rules_url(start: int = 0) -> str:
    return f"{mocks.API}/rest/conversions?q=account&account={mocks.ACCOUNT_Q}&start={start}&count=100"


def _existing_rules(clock):
    from destination_linkedin_capi.commands.discover import existing_rules

    return existing_rules(ConnectorConfig.parse(mocks.config("token_id")), clock=clock, sleep=clock.sleep)


def test_discover_lists_existing_rules_through_the_short_deadline_client():
    from destination_linkedin_capi.commands.discover import DISCOVER_RETRY_SECONDS

    clock = mocks.FakeClock()
    with requests_mock.Mocker(case_sensitive=True) as m:
        mocks.mock_token_service(m)
        listing = m.get(
            _rules_url(),
            complete_qs=True,
            request_headers=mocks.linkedin_headers(mocks.MINTED),
            json=mocks.page([mocks.rule(22285180, "CRM leads"), mocks.rule(7, "Old", enabled=False)]),
        )
        rules = _existing_rules(clock)
    assert [rule.id for rule in rules] == [22285180]
    assert listing.last_request.timeout == (10.0, DISCOVER_RETRY_SECONDS)  # cut to the deadline, not 60 s


def test_discover_stops_within_its_deadline_when_linkedin_never_answers():
    from destination_linkedin_capi.commands.discover import DISCOVER_RETRY_SECONDS

    clock, timeouts = mocks.FakeClock(), []
    with requests_mock.Mocker(case_sensitive=True) as m:
        mocks.mock_token_service(m)
        m.get(_rules_url(), complete_qs=True, json=_hanging(clock, timeouts))
        started = clock.now
        assert _existing_rules(clock) == []
    assert clock.now - started <= DISCOVER_RETRY_SECONDS  # a sync's client would have waited 60 s for the first
    assert timeouts[0] == (10.0, DISCOVER_RETRY_SECONDS)
    assert len(timeouts) == 1  # the first attempt used the whole deadline: no retry after it


def test_discover_stops_within_its_deadline_when_linkedin_keeps_failing():
    """503 after 503: the retries stop at the deadline, not after a sync's 600 s."""
    from destination_linkedin_capi.commands.discover import DISCOVER_RETRY_SECONDS

    clock = mocks.FakeClock()
    with requests_mock.Mocker(case_sensitive=True) as m:
        mocks.mock_token_service(m)
        failing = m.get(_rules_url(), complete_qs=True, status_code=503, json={"status": 503, "message": "down"})
        assert _existing_rules(clock) == []
    assert failing.call_count >= 1 and sum(clock.sleeps) <= DISCOVER_RETRY_SECONDS
    assert clock.now - mocks.NOW <= DISCOVER_RETRY_SECONDS


def test_discover_stops_within_its_deadline_when_the_token_service_never_answers():
    from destination_linkedin_capi.commands.discover import DISCOVER_RETRY_SECONDS

    clock, timeouts = mocks.FakeClock(), []
    with requests_mock.Mocker(case_sensitive=True) as m:
        m.post(mocks.TOKEN_SERVICE, json=_hanging(clock, timeouts))
        assert _existing_rules(clock) == []
        assert not [request for request in m.request_history if request.method == "GET"]  # never reached LinkedIn
    assert clock.now - mocks.NOW <= DISCOVER_RETRY_SECONDS
    assert timeouts[0] == (10.0, DISCOVER_RETRY_SECONDS)
