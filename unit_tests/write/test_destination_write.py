"""The CDK's in-process `write` interface (the CLI uses `write_lines`): CDK messages in, STATE messages out."""

import datetime as dt
import json

import pytest
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStream,
    AirbyteStreamState,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    StreamDescriptor,
    SyncMode,
    Type,
)
from airbyte_cdk.models.airbyte_protocol import AirbyteStateBlob
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from destination_linkedin_capi import DestinationLinkedinCapi

CONFIG = {
    "account_id": "512345678",
    "credentials": {"auth_type": "access_token", "access_token": "unused", "conversion_mapping": "LEAD=11"},
    "dry_run": True,
}


def catalog():
    stream = AirbyteStream(name="leads", json_schema={"type": "object"}, supported_sync_modes=[SyncMode.incremental])
    configured = ConfiguredAirbyteStream(
        stream=stream,
        sync_mode=SyncMode.incremental,
        destination_sync_mode=DestinationSyncMode.append,
        primary_key=[["id"]],
    )
    return ConfiguredAirbyteCatalog(streams=[configured])


def record(n, **data):
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    payload = {"id": n, "email": f"user{n}@example.com", "event_time": when, **data}
    return AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(stream="leads", data=payload, emitted_at=0))


def state(cursor):
    stream_state = AirbyteStreamState(
        stream_descriptor=StreamDescriptor(name="leads"), stream_state=AirbyteStateBlob(cursor=cursor)
    )
    return AirbyteMessage(type=Type.STATE, state=AirbyteStateMessage(type=AirbyteStateType.STREAM, stream=stream_state))


def test_in_process_write_yields_states_with_destination_stats():
    messages = [record(1), record(2), state(2), record(3, email=None, event_time=None), state(3)]
    out = list(DestinationLinkedinCapi().write(config=CONFIG, configured_catalog=catalog(), input_messages=messages))
    assert [m.type for m in out] == [Type.STATE, Type.STATE]
    assert [m.state.stream.stream_state.cursor for m in out] == [2, 3]
    assert [m.state.destinationStats.recordCount for m in out] == [2.0, 1.0]


def test_in_process_write_reports_a_bad_config_as_config_error():
    bad = {**CONFIG, "account_id": "not-an-account"}
    with pytest.raises(AirbyteTracedException) as raised:
        list(DestinationLinkedinCapi().write(config=bad, configured_catalog=catalog(), input_messages=[]))
    assert raised.value.failure_type.value == "config_error"
    assert "account_id" in raised.value.message


def test_an_append_dedup_stream_is_written_as_append_after_one_warning(caplog):
    """Append + Deduped is not offered (a sent conversion cannot be replaced): the stream is written exactly as an
    append one, and the sync says so once, before its first record."""
    dedup = catalog()
    dedup.streams[0].destination_sync_mode = DestinationSyncMode.append_dedup
    messages = [record(1), record(2), state(2)]
    with caplog.at_level("INFO", logger="airbyte"):
        out = list(DestinationLinkedinCapi().write(config=CONFIG, configured_catalog=dedup, input_messages=messages))
    expected = list(
        DestinationLinkedinCapi().write(config=CONFIG, configured_catalog=catalog(), input_messages=messages)
    )
    assert out == expected
    logged = [entry.getMessage() for entry in caplog.records]
    warnings = [message for message in logged if "destination sync mode 'append_dedup'" in message]
    assert len(warnings) == 1 and "its records are sent as append" in warnings[0]
    assert logged.index(warnings[0]) < next(i for i, message in enumerate(logged) if "Dry run" in message)


def test_in_process_values_json_cannot_hold_are_rejected_as_on_stdin(caplog):
    """The CDK's in-process messages take the CLI's path of JSON lines: a lone surrogate or NaN is a counted
    `invalid_json` rejection (not a crash), and the other records of the sync are still sent."""
    messages = [record(1), record("\ud800"), record(3, value=float("nan")), record(4, first_name="J\udc00"), state(4)]
    with caplog.at_level("INFO", logger="airbyte"):
        out = list(
            DestinationLinkedinCapi().write(config=CONFIG, configured_catalog=catalog(), input_messages=messages)
        )
    assert [m.state.destinationStats.recordCount for m in out] == [4.0]
    logged = [entry.getMessage() for entry in caplog.records]
    assert "Sync summary: 4 records read, 1 would be sent, 3 rejected, in 1 batch" in "\n".join(logged)
    assert "  stream leads: read 4, would be sent 1, rejected 3 (invalid_json 3)" in logged


def test_in_process_values_json_has_no_type_for_are_read_as_their_text(caplog):
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    messages = [record(1, event_time=when), state(1)]
    with caplog.at_level("INFO", logger="airbyte"):
        list(DestinationLinkedinCapi().write(config=CONFIG, configured_catalog=catalog(), input_messages=messages))
    preview = next(entry.getMessage() for entry in caplog.records if entry.getMessage().startswith("Dry run, would"))
    sent = json.loads(preview.split(": ", 1)[1])
    assert sent["conversionHappenedAt"] == int(when.timestamp() * 1000)
