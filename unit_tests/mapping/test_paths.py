"""`field_mappings` paths step into lists (`user_data.address[0].first_name`), and a mapped path that no record
of a whole sync has is named in one warning at the end, never once per record."""

from __future__ import annotations

import logging

import pytest

from destination_linkedin_capi import DestinationLinkedinCapi
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.paths import parse_path, path_text
from destination_linkedin_capi.mapping.results import ConversionEvent
from unit_tests.mapping.test_table import BASE, NOW
from unit_tests.write.test_destination_write import CONFIG, catalog, record, state

ADDRESS = {"address": [{"first_name": "Jane", "last_name": "Doe", "country": "Germany"}, {"first_name": "Old"}]}
NAME_MAPPINGS = [
    {"linkedin_field": "first_name", "record_field": "user_data.address[0].first_name"},
    {"linkedin_field": "last_name", "record_field": "user_data.address[0].last_name"},
    {"linkedin_field": "country_code", "record_field": "user_data.address[0].country"},
]


def mapper(field_mappings: list[dict]) -> RecordMapper:
    raw = {
        "account_id": "512345678",
        "credentials": {"auth_type": "access_token", "access_token": "t", "conversion_mapping": "LEAD=1"},
        "field_mappings": field_mappings,
    }
    return RecordMapper(ConnectorConfig.parse(raw), {"lead": 1}, {}, now_ms=lambda: NOW)


@pytest.mark.parametrize(
    "text, steps",
    [
        ("email", ("email",)),
        ("user.email", ("user", "email")),
        ("user_data.address[0].first_name", ("user_data", "address", 0, "first_name")),
        ("emails[1]", ("emails", 1)),
        ("grid[0][2].x", ("grid", 0, 2, "x")),
    ],
)
def test_paths_parse_and_print_back(text, steps):
    assert parse_path(text) == steps
    assert path_text(steps) == text


@pytest.mark.parametrize("text", ["a..b", "a[x]", "a[0", "[0].a", "a.[0]", "a[-1]", "a]"])
def test_malformed_paths_are_refused(text):
    assert parse_path(text) is None
    with pytest.raises(ConfigError, match="Field mappings: the record field for 'email' is not a valid path"):
        mapper([{"linkedin_field": "email", "record_field": text}])


def test_a_path_steps_into_a_list():
    result = mapper(NAME_MAPPINGS).for_stream(None, "lead")({**BASE, "user_data": ADDRESS})
    assert isinstance(result, ConversionEvent)
    assert result.payload["user"]["userInfo"] == {"firstName": "Jane", "lastName": "Doe", "countryCode": "DE"}
    assert result.identifiers == ("email", "name")


@pytest.mark.parametrize(
    "user_data",
    [
        {"address": []},  # past the end
        {"address": {"0": {"first_name": "Jane", "last_name": "Doe"}}},  # an object, not a list
        {"address": "Jane Doe"},
        None,
    ],
)
def test_a_path_that_does_not_fit_finds_nothing(user_data):
    result = mapper(NAME_MAPPINGS).for_stream(None, "lead")({**BASE, "user_data": user_data})
    assert isinstance(result, ConversionEvent)
    assert "userInfo" not in result.payload["user"] and result.notes == ()


def test_a_second_list_element_is_reached_by_its_index():
    m = mapper([{"linkedin_field": "email", "record_field": "emails[1]"}])
    result = m.for_stream(None, "lead")({**BASE, "email": None, "emails": ["", "jane.doe@example.com"]})
    assert isinstance(result, ConversionEvent)
    assert result.payload["user"]["userIds"] == [
        {"idType": "SHA256_EMAIL", "idValue": "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"}
    ]


def test_the_mapper_tracks_which_mapped_paths_were_found():
    m = mapper([*NAME_MAPPINGS, {"linkedin_field": "event_id", "record_field": "order_ref"}])
    m.for_stream(None, "lead")({**BASE, "user_data": {"address": []}})
    assert m.unresolved_mappings() == [
        ("first_name", "user_data.address[0].first_name"),
        ("last_name", "user_data.address[0].last_name"),
        ("country_code", "user_data.address[0].country"),
        ("event_id", "order_ref"),
    ]
    m.for_stream(None, "lead")({**BASE, "ORDER_REF": "o-1", "user_data": {"address": [{"first_name": "J"}]}})
    assert m.unresolved_mappings() == [
        ("last_name", "user_data.address[0].last_name"),
        ("country_code", "user_data.address[0].country"),
    ]


def write(config: dict, messages: list, caplog) -> list[str]:
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        list(DestinationLinkedinCapi().write(config=config, configured_catalog=catalog(), input_messages=messages))
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_path_never_found_in_a_sync_gives_one_warning_naming_it(caplog):
    config = {
        **CONFIG,
        "field_mappings": [*NAME_MAPPINGS[:1], {"linkedin_field": "lead_id", "record_field": "form.id"}],
    }
    messages = [record(n, user_data={"address": [{"first_name": "Jane"}]}) for n in range(50)] + [state(1)]
    warnings = [w for w in write(config, messages, caplog) if w.startswith("Field mappings")]
    assert warnings == [
        "Field mappings: no record of this sync has 'form.id' (mapped to lead_id); check the path's spelling, "
        "nesting and list positions."
    ]


def test_no_warning_when_every_mapped_path_was_found_once(caplog):
    config = {**CONFIG, "field_mappings": NAME_MAPPINGS[:1]}
    messages = [record(n) for n in range(20)] + [record(20, user_data=ADDRESS), state(1)]
    assert not [w for w in write(config, messages, caplog) if w.startswith("Field mappings")]
