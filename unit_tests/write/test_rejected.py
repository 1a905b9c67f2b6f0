"""Rejected records: the storage config, the per-STATE counts (`airbyte/state.py`), the writer's gating (a STATE only after its
rejected rows are stored) and both stores — a local directory, and S3 on a real moto server."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from destination_linkedin_capi.airbyte.state import RejectionWindows, StateStats
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.config.storage import LocalStorage, S3Storage, parse_storage
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.linkedin.client import BatchAnswer
from destination_linkedin_capi.rejected.output import PART_BYTES, RejectedOutput
from destination_linkedin_capi.rejected.store import StorageError, backend, probe
from destination_linkedin_capi.report import SyncReport
from destination_linkedin_capi.write.writer import BatchWriter
from unit_tests.s3_server import SECRET, s3_server  # noqa: F401 - the fixture

LEADS = (None, "leads")
S3_MINIMAL = {"storage_type": "S3", "s3_bucket_name": "b-1", "s3_bucket_region": "", "bucket_path": ""}
ORDERS = ("shop", "orders")


def local(path: Path, **extra: Any) -> LocalStorage:
    storage = parse_storage({"storage_type": "Local", "local_path": str(path), **extra})
    assert isinstance(storage, LocalStorage)
    return storage


def rows_under(root: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(root.rglob("*.jsonl*")):
        data = path.read_bytes()
        text = gzip.decompress(data) if path.name.endswith(".gz") else data
        rows.extend(json.loads(line) for line in text.splitlines())
    return rows


# --- the config -----------------------------------------------------------------------------------------


def test_no_storage_is_the_default():
    assert parse_storage(None) is None
    assert parse_storage({"storage_type": "None"}) is None
    config = ConnectorConfig.parse(
        {
            "account_id": "1",
            "credentials": {"auth_type": "access_token", "access_token": "t", "conversion_mapping": "LEAD=1"},
        }
    )
    assert config.rejected_storage is None


def test_s3_fields_as_airbyte_declares_them():
    storage = parse_storage(
        {
            "storage_type": "S3",
            "access_key_id": "AKIA1",
            "secret_access_key": "s",
            "role_arn": "arn:aws:iam::1:role/r",
            "s3_bucket_name": "my-bucket",
            "s3_bucket_region": "",
            "s3_endpoint": "http://localhost:9000",
            "bucket_path": "/prefix/sub/",
            "format": {"format_type": "JSONL", "flattening": "No flattening"},
            "compression": {"compression_type": "GZIP"},
        }
    )
    assert storage == S3Storage(
        bucket="my-bucket",
        region=None,
        endpoint="http://localhost:9000",
        prefix="prefix/sub/",
        access_key_id="AKIA1",
        secret_access_key="s",
        role_arn="arn:aws:iam::1:role/r",
        gzip=True,
        path_format="{sync_id}/{namespace}/{stream_name}/",
        file_name_format="{date}_{timestamp}_{part_number}{format_extension}",
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"storage_type": "GCS"}, "storage_type must be None, S3 or Local"),
        ({"storage_type": "S3", "s3_bucket_region": "us-east-1", "bucket_path": ""}, "s3_bucket_name is required"),
        ({"storage_type": "S3", "s3_bucket_name": "b-1", "s3_bucket_region": ""}, "bucket_path is required"),
        (
            {"storage_type": "S3", "s3_bucket_name": "s3://bucket", "s3_bucket_region": "", "bucket_path": ""},
            "S3 Bucket Name is not a bucket name",
        ),
        ({**S3_MINIMAL, "access_key_id": "SECRETKEYID"}, "give both"),
        ({**S3_MINIMAL, "format": {"format_type": "CSV"}}, "format must be JSONL"),
        ({**S3_MINIMAL, "s3_endpoint": "localhost:9000"}, "S3 Endpoint is not an http(s) URL"),
        ({**S3_MINIMAL, "s3_endpoint": "http://minio.example.com:9000"}, "S3 Endpoint uses plain http://"),
        ({"storage_type": "Local"}, "local_path is required"),
        ({"storage_type": "Local", "local_path": "/d", "path_format": "{stream}/"}, "unknown variable {stream}"),
        ({"storage_type": "Local", "local_path": "/d", "compression": {"compression_type": "ZIP"}}, "compression"),
    ],
)
def test_storage_config_problems_are_one_sentence_without_values(options, expected):
    with pytest.raises(ConfigError) as raised:
        parse_storage(options)
    assert expected in str(raised.value)
    assert "SECRETKEYID" not in str(raised.value)


# --- counting rejections per STATE ---------------------------------------------------------------------


def test_windows_give_each_state_the_rejections_before_it():
    windows = RejectionWindows()
    windows.count(LEADS, None)  # read before the first state
    first = windows.state_added((1, 2))  # the state fell after two records of batch 1
    windows.count(LEADS, None)  # read after it
    windows.count(LEADS, (1, 1))  # LinkedIn refused batch 1's second record: before the state
    windows.count(LEADS, (1, 2))  # ... and its third: after it
    second = windows.state_added((2, 0))
    windows.count(ORDERS, (2, 5))  # after both
    assert windows.take(first, LEADS, every_stream=False) == 2
    assert windows.take(second, ORDERS, every_stream=False) == 0
    assert windows.take(second, LEADS, every_stream=False) == 2
    assert windows.take(second + 1, None, every_stream=True) == 1


def stream_state(**extra: Any) -> dict[str, Any]:
    return {
        "type": "STATE",
        "id": 7,
        "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "leads"}, "stream_state": {}}, **extra},
    }


def test_a_state_moves_its_rejections_into_rejected_record_count():
    report = SyncReport()
    stats = StateStats(report)
    for _ in range(3):
        report.record_read(LEADS)
    stats.rejected(LEADS)
    held = stats.received(stream_state(destinationStats={"recordCount": 99.0}), (1, 0))
    stamped = stats.stamp(held)
    assert stamped["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}
    assert stamped["id"] == 7  # every other field as received
    report.record_read(LEADS)
    again = stats.stamp(stats.received(stream_state(), (1, 0)))
    assert again["state"]["destinationStats"] == {"recordCount": 1.0}  # none rejected since


def test_without_rejected_record_count_a_state_counts_every_record_read():
    """The in-process path: the CDK's models drop `rejectedRecordCount`, so `recordCount` keeps the rejected."""
    report = SyncReport()
    stats = StateStats(report, rejected_count=False)
    for _ in range(3):
        report.record_read(LEADS)
    stats.rejected(LEADS)
    stamped = stats.stamp(stats.received(stream_state(), (1, 0)))
    assert stamped["state"]["destinationStats"] == {"recordCount": 3.0}


def test_a_state_without_a_state_object_is_echoed_as_received():
    report = SyncReport()
    stats = StateStats(report)
    report.record_read(LEADS)
    message = {"type": "STATE", "id": 1, "state": None}
    assert stats.stamp(stats.received(message, (1, 0))) == {"type": "STATE", "id": 1, "state": None}


# --- the writer: rows stored before the STATE that covers them -------------------------------------------


class StateWatcher:
    """The writer's `emit`: at each STATE, read what the store holds — the rows must already be there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: list[tuple[dict[str, Any], list[str]]] = []

    def __call__(self, message: dict[str, Any]) -> None:
        self.seen.append((message, [row["record"]["id"] for row in rows_under(self.root)]))


def state(cursor: int) -> dict[str, Any]:
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": "leads"}, "stream_state": {"cursor": cursor}},
        },
    }


def test_every_state_comes_after_the_rejected_rows_it_covers(tmp_path):
    refuse = {1}  # LinkedIn refuses the second event of every batch

    def send(batch: Any) -> BatchAnswer:
        return BatchAnswer(
            refused={i: "Field 'conversionHappenedAt' is too old" for i in range(len(batch)) if i in refuse}
        )

    output = RejectedOutput(local(tmp_path), sync_id="42", clock=lambda: 1_795_176_000.0)
    watcher = StateWatcher(tmp_path)
    report = SyncReport()
    writer = BatchWriter(send=send, report=report, emit=watcher, batch_size=3, max_age=600, rejected=output)

    def event(n: int) -> None:
        report.record_read(LEADS)  # as the session does
        writer.add_event(LEADS, "lead", {"eventId": f"e{n}"}, {"id": f"r{n}"})

    report.record_read(LEADS)
    writer.reject(LEADS, None, "no_identifier", "The record has no email …", {"id": "m1"})
    for n in range(3):
        event(n)  # a full batch: r1 refused
    writer.add_state(state(1))
    event(3)
    event(4)  # refused (second of batch 2)
    writer.add_state(state(2))
    writer.reject(LEADS, None, "too_old", "…", {"id": "m2"})  # after the last state
    writer.finish()
    (first, at_first), (second, at_second) = watcher.seen
    assert set(at_first) >= {"m1", "r1"}  # later rows may be stored already too: never fewer
    assert set(at_second) >= {"m1", "r1", "r4"}
    assert first["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 2.0}
    assert second["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 1.0}
    rows = rows_under(tmp_path)
    assert {row["record"]["id"] for row in rows} == {"m1", "r1", "r4", "m2"}  # the last one at the end
    refused = next(row for row in rows if row["record"]["id"] == "r4")
    assert refused["reason"] == "linkedin_rejected" and refused["event"] == "lead"
    assert refused["message"] == "LinkedIn refused the event: Field 'conversionHappenedAt' is too old"
    assert refused["rejected_at"] == "2026-11-20T12:00:00.000+00:00" and refused["stream"] == "leads"
    assert all(path.parent == tmp_path / "42" / "leads" for path in tmp_path.rglob("*.jsonl"))


def test_a_store_that_fails_stops_the_sync_before_the_state(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the directory should be")
    emitted: list[dict[str, Any]] = []
    writer = BatchWriter(
        send=None,
        report=SyncReport(),
        emit=emitted.append,
        batch_size=10,
        max_age=600,
        rejected=RejectedOutput(local(blocker), sync_id="1"),
    )
    writer.reject(LEADS, None, "too_old", "…", {"id": 1})
    writer.add_event(LEADS, "lead", {"eventId": "e"}, {"id": 2})
    writer.add_state(state(1))
    with pytest.raises(StorageError) as raised:
        writer.finish()
    assert emitted == []
    assert "Rejected records could not be written under" in str(raised.value)


def test_parts_are_written_before_memory_grows(tmp_path):
    output = RejectedOutput(local(tmp_path, compression={"compression_type": "GZIP"}), sync_id="7")
    big = {"id": 0, "blob": "x" * 100_000}
    for n in range(PART_BYTES // 100_000 + 2):
        output.add(ORDERS, None, "too_old", "…", {**big, "id": n})
    assert len(output.written_files) == 1  # written without waiting for a STATE
    output.before_states()
    assert len(output.written_files) == 2
    assert all(name.endswith(".jsonl.gz") and name.startswith("7/shop/orders/") for name in output.written_files)
    assert len(rows_under(tmp_path)) == PART_BYTES // 100_000 + 2


def test_names_cannot_leave_the_folder(tmp_path):
    output = RejectedOutput(local(tmp_path), sync_id="1")
    output.add(("../..", "a/b"), None, "too_old", "…", {})
    output.before_states()
    (path,) = tmp_path.rglob("*.jsonl")
    assert path.is_relative_to(tmp_path) and path.parent.name == "a_b"


# --- the stores and `check`'s probe ----------------------------------------------------------------------


def test_local_probe_writes_and_removes_a_file(tmp_path):
    assert probe(local(tmp_path / "new" / "dir")) is None
    assert (tmp_path / "new" / "dir" / "_airbyte_check").is_dir()
    assert list((tmp_path / "new").rglob("*.txt")) == []


def test_local_probe_names_the_problem(tmp_path):
    (tmp_path / "file").write_text("x")
    problem = probe(local(tmp_path / "file" / "sub"))
    assert problem is not None and problem.startswith("Rejected records could not be written under")


def test_s3_store_writes_parts_a_user_can_read(s3_server, tmp_path):  # noqa: F811
    bucket = s3_server.new_bucket()
    storage = parse_storage(s3_server.storage(bucket, compression={"compression_type": "GZIP"}))
    output = RejectedOutput(storage, sync_id="4711")
    output.add(ORDERS, "purchase", "linkedin_rejected", "LinkedIn refused the event: …", {"id": 9, "email": "a@b.c"})
    output.add(LEADS, None, "no_consent", "Field 'consent' …", {"id": 10})
    output.before_states()
    keys = s3_server.keys(bucket)
    assert len(keys) == 2
    assert all(key.startswith("linkedin/rejected/4711/") and key.endswith(".jsonl.gz") for key in keys)
    orders = next(key for key in keys if "/shop/orders/" in key)
    (row,) = [json.loads(line) for line in gzip.decompress(s3_server.read(bucket, orders)).splitlines()]
    assert row["record"] == {"id": 9, "email": "a@b.c"} and row["reason"] == "linkedin_rejected"
    assert (
        output.summary_line()
        == "  rejected records: 2 written to s3://" + bucket + "/linkedin/rejected/4711/ (2 files)"
    )


def test_s3_probe_leaves_nothing_behind(s3_server):  # noqa: F811
    bucket = s3_server.new_bucket()
    assert probe(parse_storage(s3_server.storage(bucket))) is None
    assert s3_server.keys(bucket) == []


def test_s3_probe_names_the_missing_bucket_and_no_secret(s3_server):  # noqa: F811
    problem = probe(parse_storage(s3_server.storage("no-such-bucket-here")))
    assert problem is not None
    assert "bucket 'no-such-bucket-here' (NoSuchBucket)" in problem
    assert SECRET not in problem


def test_s3_with_a_role_to_assume(s3_server):  # noqa: F811
    bucket = s3_server.new_bucket()
    storage = parse_storage(s3_server.storage(bucket, role_arn="arn:aws:iam::123456789012:role/rejected-writer"))
    store = backend(storage)
    store.put("linkedin/rejected/x.jsonl", b"{}\n")
    assert s3_server.keys(bucket) == ["linkedin/rejected/x.jsonl"]


def test_an_unreachable_or_failing_store_is_transient_and_a_refusal_is_not():
    from botocore.exceptions import ClientError, EndpointConnectionError

    from destination_linkedin_capi.failures import failure_type
    from destination_linkedin_capi.rejected.store import StorageUnavailableError, _transient

    def answer(status: int, code: str) -> ClientError:
        return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")

    assert _transient(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert _transient(answer(503, "SlowDown")) and _transient(answer(500, "InternalError"))
    assert not _transient(answer(403, "AccessDenied")) and not _transient(answer(404, "NoSuchBucket"))
    assert failure_type(StorageUnavailableError("…")) == "transient_error"
    assert failure_type(StorageError("…")) == "config_error"


def test_windows_forget_the_boundaries_of_emitted_states():
    windows = RejectionWindows()
    for seq in range(1, 1001):
        number = windows.state_added((seq, 3))
        assert windows.take(number, LEADS, every_stream=False) == 0
    assert len(windows._boundaries) == 0  # a long sync without rejections keeps nothing per state
    windows.count(LEADS, (1001, 0))  # a LinkedIn rejection after all of them
    assert windows.take(1000, LEADS, every_stream=False) == 1
