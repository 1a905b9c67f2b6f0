"""catalog.py: the CLI's catalog file and the CDK's catalog object give the same streams."""

from __future__ import annotations

import json
import logging

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

from destination_linkedin_capi.airbyte.catalog import catalog_streams, read_catalog, streams_of
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.mapping.routing import StreamInfo

CATALOG = {
    "streams": [
        {
            "stream": {"name": "leads", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh",
            "destination_sync_mode": "append",
            "primary_key": [["id"]],
        },
        {
            "stream": {
                "name": "orders",
                "namespace": "shop",
                "json_schema": {},
                "supported_sync_modes": ["incremental"],
                "source_defined_primary_key": [["order", "id"]],
            },
            "sync_mode": "incremental",
            "destination_sync_mode": "append",
            "destination_object_name": "PURCHASE",
        },
    ]
}
EXPECTED = {
    (None, "leads"): StreamInfo(primary_key=(("id",),), full_refresh=True),
    ("shop", "orders"): StreamInfo(primary_key=(("order", "id"),), destination_object_name="PURCHASE"),
}


def test_the_file_keeps_the_primary_key_and_the_destination_object_name(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CATALOG))
    assert read_catalog(str(path)) == EXPECTED


def test_the_configured_primary_key_wins_over_the_source_defined_one():
    catalog = json.loads(json.dumps(CATALOG))
    catalog["streams"][1]["primary_key"] = [["sku"]]
    assert streams_of(catalog)[("shop", "orders")].primary_key == (("sku",),)


def test_the_cdk_object_gives_the_same_streams():
    catalog = ConfiguredAirbyteCatalogSerializer.load(CATALOG)
    assert catalog_streams(catalog) == EXPECTED


def test_a_file_that_is_not_json_is_one_config_error_sentence(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text("not json")
    with pytest.raises(ConfigError, match=r"The configured catalog .* could not be read \(JSONDecodeError\)\."):
        read_catalog(str(path))


def with_stream(**changes):
    catalog = json.loads(json.dumps(CATALOG))
    catalog["streams"][1].update(changes)
    return catalog


@pytest.mark.parametrize(
    "catalog, problem",
    [
        ([], "it has no 'streams' list"),
        ({"streams": 5}, "it has no 'streams' list"),
        ({"other": []}, "it has no 'streams' list"),
        ({"streams": ["x"]}, "stream 1 is not an object"),
        ({"streams": [{"stream": {}}]}, "stream 1 has no text 'stream.name'"),
        (with_stream(stream=None), "stream 2 has no 'stream' object"),
        (with_stream(destination_object_name=123), "stream 2 ('orders'): 'destination_object_name' is not text"),
        (
            with_stream(primary_key="id"),
            "stream 2 ('orders'): 'primary_key' is not a list of field paths such as [[\"id\"]]",
        ),
        (
            with_stream(primary_key=[[5]]),
            "stream 2 ('orders'): 'primary_key' is not a list of field paths such as [[\"id\"]]",
        ),
        (
            with_stream(stream={"name": "orders", "namespace": 5}),
            "stream 2 ('orders'): 'stream.namespace' is not text",
        ),
    ],
)
def test_a_catalog_with_a_missing_or_mistyped_field_names_the_stream_and_field(tmp_path, catalog, problem):
    """`destination_object_name: 123` used to end in a traceback mid-sync, `stream: null` in "(AttributeError)", and a
    primary key "id" silently became the key paths i and d."""
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    with pytest.raises(ConfigError) as raised:
        read_catalog(str(path))
    assert str(raised.value) == f"The configured catalog {path} could not be used: {problem}."


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="could not be read"):
        read_catalog(str(tmp_path / "absent.json"))


# -- a destination sync mode other than append: written as append, with one warning per stream -----------------


def test_an_append_dedup_stream_gets_one_warning_that_it_is_sent_as_append(tmp_path, caplog):
    catalog = with_stream(destination_sync_mode="append_dedup")
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert read_catalog(str(path)) == EXPECTED  # written exactly as an append stream
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        "Stream 'shop.orders' is configured with destination sync mode 'append_dedup', which this destination does "
        "not offer; its records are sent as append"
    )
    # Only what LinkedIn documents: eventId deduplication against the Insight Tag, none between CAPI events.
    assert (
        "Insight Tag" in warnings[0] and "documents no deduplication between two Conversions API events" in warnings[0]
    )


def test_the_cdk_object_warns_the_same_and_append_streams_say_nothing(caplog):
    catalog = json.loads(json.dumps(CATALOG))
    catalog["streams"][0]["destination_sync_mode"] = "append_dedup"
    catalog["streams"][1]["destination_sync_mode"] = "overwrite"
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert catalog_streams(ConfiguredAirbyteCatalogSerializer.load(catalog)) == EXPECTED
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert [warning.split(",")[0] for warning in warnings] == [
        "Stream 'leads' is configured with destination sync mode 'append_dedup'",
        "Stream 'shop.orders' is configured with destination sync mode 'overwrite'",
    ]
    assert "Insight Tag" in warnings[0] and "Insight Tag" not in warnings[1]  # overwrite is not about dedup
    assert "cannot be replaced or deleted" in warnings[1]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        catalog_streams(ConfiguredAirbyteCatalogSerializer.load(CATALOG))
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_the_fields_a_json_schema_declares_are_kept_and_a_schema_without_properties_declares_none():
    def stream(name, schema):
        return {"stream": {"name": name, "json_schema": schema}, "destination_sync_mode": "append", "sync_id": 1}

    declared = {"type": "object", "properties": {"id": {"type": "string"}, "Create Date": {"type": "string"}}}
    streams = streams_of(
        {
            "streams": [
                stream("crm", declared),  # as PyAirbyte writes a source-file stream
                stream("raw", {"type": "object"}),
                stream("empty", {"type": "object", "properties": {}}),
                stream("odd", {"type": "object", "properties": ["id"]}),
            ]
        }
    )
    assert streams[(None, "crm")].properties == ("id", "Create Date")
    assert [streams[(None, name)].properties for name in ("raw", "empty", "odd")] == [None, None, None]
