"""Rejected records: the storage config, the per-STATE counts (`airbyte/state.py`), the writer's gating (a STATE only after its
rejected rows are stored) and both stores — a local directory, and S3 on a real moto server."""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import json
import os
import re
import signal
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from destination_linkedin_capi.airbyte.state import RejectionWindows, StateStats
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.config.storage import LocalStorage, S3Storage, parse_storage
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.linkedin.client import BatchAnswer
from destination_linkedin_capi.rejected.output import PART_BYTES, RejectedOutput, sync_folder
from destination_linkedin_capi.rejected.store import StorageError, backend, probe
from destination_linkedin_capi.report import SyncReport
from destination_linkedin_capi.write.writer import BatchWriter
from unit_tests.s3_server import (  # noqa: F401 - the fixtures
    DENIED_ROLE,
    KEY_ID,
    SECRET,
    role_stand_in,
    s3_server,
    stalled_endpoint,
)

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
        ({"storage_type": "Local", "local_path": "/d", "file_name_format": "{sync_id:d}"}, "formats a variable"),
        ({"storage_type": "Local", "local_path": "/d", "path_format": "{sync_id:>300000000}/"}, "formats a variable"),
        ({"storage_type": "Local", "local_path": "/d", "path_format": "{stream_name!r}/"}, "formats a variable"),
        ({"storage_type": "Local", "local_path": "/d", "path_format": "../{stream_name}/"}, "has a '..' folder"),
        ({**S3_MINIMAL, "path_format": "{sync_id}/../../x/"}, "has a '..' folder"),
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
    assert path.is_relative_to(tmp_path) and path.parent.name == "a%2Fb"


def test_every_stream_has_its_own_folder_and_no_file_is_overwritten(tmp_path):
    streams = [(None, "a/b"), (None, "a_b"), (None, "s"), ("", "s"), (".", "s"), ("..", "s"), ("_", "s"), ("%2E", "s")]
    storage = local(tmp_path, path_format="{namespace}/{stream_name}/", file_name_format="rows{format_extension}")
    for attempt in range(2):  # two attempts of one sync, a file name without time or part number
        output = RejectedOutput(storage, sync_id="42", clock=lambda: 1_795_176_000.0)
        for n, stream in enumerate(streams):
            output.add(stream, None, "too_old", "…", {"id": f"{attempt}-{n}"})
            output.add(stream, None, "too_old", "…", {"id": f"{attempt}-{n}-again"})
            output.before_states()  # a part per row: two parts of each stream in each attempt
            output.add(stream, None, "too_old", "…", {"id": f"{attempt}-{n}-third"})
        output.before_states()
        assert output.written_rows == 3 * len(streams)
    folders = {path.parent for path in tmp_path.rglob("*.jsonl")}
    assert len(folders) == len(streams)
    assert all(folder.is_relative_to(tmp_path) for folder in folders)
    assert len(list(tmp_path.rglob("*.jsonl"))) == 2 * 2 * len(streams)
    assert len(rows_under(tmp_path)) == 2 * 3 * len(streams)  # every row of both attempts is there


def test_a_store_never_replaces_a_file(tmp_path, s3_server):  # noqa: F811
    store = backend(local(tmp_path))
    store.put("x/part.jsonl", b"first\n")
    with pytest.raises(StorageError, match="never replaced"):
        store.put("x/part.jsonl", b"second\n")
    assert (tmp_path / "x" / "part.jsonl").read_bytes() == b"first\n"
    assert [path.name for path in (tmp_path / "x").iterdir()] == ["part.jsonl"]
    bucket = s3_server.new_bucket()
    s3 = backend(parse_storage(s3_server.storage(bucket)))
    s3.put("k.jsonl", b"first\n")
    with pytest.raises(StorageError, match="never replaced"):
        s3.put("k.jsonl", b"second\n")
    assert s3_server.read(bucket, "k.jsonl") == b"first\n"


def test_a_stream_name_longer_than_a_file_name_may_be_is_shortened(tmp_path):
    long_names = ["é" * 200 + "-one", "é" * 200 + "-two"]  # 400+ bytes each, alike for their first 400
    output = RejectedOutput(local(tmp_path), sync_id="1")
    for name in long_names:
        output.add(("n" * 300, name), None, "too_old", "…", {"stream": name})
    output.before_states()
    paths = list(tmp_path.rglob("*.jsonl"))
    assert len({path.parent for path in paths}) == 2
    assert all(len(part.encode()) <= 255 for path in paths for part in path.relative_to(tmp_path).parts)
    assert sorted(row["stream"] for row in rows_under(tmp_path)) == sorted(long_names)


def test_a_record_nested_too_deep_to_encode_is_stored_as_its_text(tmp_path):
    deep: Any = "bottom"
    for _ in range(990):
        deep = {"d": deep}
    big = {"id": 2**70, "nested": [[[1]]]}  # an integer beyond 64 bits is written exactly, in place
    output = RejectedOutput(local(tmp_path), sync_id="1")
    output.add(LEADS, None, "no_identifier", "…", deep)
    output.add(LEADS, None, "no_identifier", "…", big)
    output.before_states()
    first, second = rows_under(tmp_path)
    assert set(first["record"]) == {"raw_line"}
    text = first["record"]["raw_line"]
    assert text == '{"d":' * 990 + '"bottom"' + "}" * 990
    assert second["record"] == big


def test_a_local_write_that_fails_leaves_no_temporary_file_and_a_full_disk_is_transient(tmp_path, monkeypatch):
    from destination_linkedin_capi.failures import failure_type
    from destination_linkedin_capi.rejected import store as module

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(module.os, "fsync", disk_full)  # where a full disk shows on delayed allocation
    output = RejectedOutput(local(tmp_path), sync_id="1")
    output.add(LEADS, None, "too_old", "…", {"email": "person@example.com"})
    with pytest.raises(Exception) as raised:
        output.before_states()
    assert failure_type(raised.value) == "transient_error"
    assert "No space left on device" in str(raised.value)
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []  # no .part-* file with the row


# --- bounded memory -------------------------------------------------------------------------------------


def test_a_writer_keeping_records_for_storage_holds_little_of_them_in_memory(tmp_path):
    """Batches wait for a blocked sender (as for a slow LinkedIn): their 50 KB records must not all stay in memory."""
    release = threading.Event()

    def send(batch: Any) -> BatchAnswer:
        release.wait(30)
        return BatchAnswer(refused={0: "refused"})

    batch = 200
    output = RejectedOutput(local(tmp_path), sync_id="1")
    tracemalloc.start()
    try:
        writer = BatchWriter(
            send=send, report=SyncReport(), emit=lambda m: None, batch_size=batch, max_age=600, rejected=output
        )
        for n in range(4 * batch - 1):  # one batch with the sender, two queued, one open
            writer.add_event(LEADS, "lead", {"eventId": f"e{n}"}, {"id": n, "blob": f"{n:08d}" + "x" * 50_000})
        writer.flush()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        release.set()
    writer.finish()
    assert held < 16 * 1024 * 1024, f"{held / 1e6:.0f} MB held for {4 * batch * 50_000 / 1e6:.0f} MB of records"
    rows = rows_under(tmp_path)
    assert sorted(row["record"]["id"] for row in rows) == [0, batch, 2 * batch, 3 * batch]  # LinkedIn refused these
    assert rows[0]["record"]["blob"].endswith("x" * 50_000)


# --- the stores and `check`'s probe ----------------------------------------------------------------------


def test_local_probe_writes_and_removes_a_file_and_the_folders_it_created(tmp_path):
    assert probe(local(tmp_path / "new" / "dir"), 20) is None
    assert list(tmp_path.iterdir()) == []  # neither `_airbyte_check` nor the configured folders check created


def test_local_probe_leaves_folders_that_were_there(tmp_path):
    (tmp_path / "rejected" / "old").mkdir(parents=True)
    assert probe(local(tmp_path / "rejected"), 20) is None
    assert [path.name for path in tmp_path.iterdir()] == ["rejected"]
    assert [path.name for path in (tmp_path / "rejected").iterdir()] == ["old"]
    (tmp_path / "empty").mkdir()
    assert probe(local(tmp_path / "empty" / "new"), 20) is None
    assert list((tmp_path / "empty").iterdir()) == []  # its own folder removed, the empty one it found kept


def test_local_probe_names_the_problem(tmp_path):
    (tmp_path / "file").write_text("x")
    problem = probe(local(tmp_path / "file" / "sub"), 20)
    assert problem is not None and problem.startswith("Rejected records could not be written under")


def test_check_gives_up_on_a_stalled_store_with_a_sentence_for_check(stalled_endpoint):  # noqa: F811
    storage = parse_storage(
        {**S3_MINIMAL, "s3_endpoint": stalled_endpoint.url, "access_key_id": KEY_ID, "secret_access_key": SECRET}
    )
    started = time.monotonic()
    problem = probe(storage, 2)
    took = time.monotonic() - started
    assert took < 8, f"check waited {took:.0f} s for a stalled store"
    assert problem == (
        "Rejected records storage: bucket 'b-1' did not answer within 2 s; check S3 Endpoint and that this host can "
        "reach it, then run check again."
    )


def test_a_cancelled_sync_does_not_wait_for_a_stalled_store(stalled_endpoint):  # noqa: F811
    from destination_linkedin_capi.airbyte.cancel import Cancellation
    from destination_linkedin_capi.errors import SyncCancelled

    storage = parse_storage(
        {**S3_MINIMAL, "s3_endpoint": stalled_endpoint.url, "access_key_id": KEY_ID, "secret_access_key": SECRET}
    )
    cancellation = Cancellation()
    output = RejectedOutput(storage, sync_id="1", sleep=cancellation.sleep)
    output.add(LEADS, None, "too_old", "…", {"id": 1})
    with cancellation.handling_signals():
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        with pytest.raises(SyncCancelled):
            output.before_states()  # as the sender does, holding the writer's state lock
    assert time.monotonic() - started < 4


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
    assert probe(parse_storage(s3_server.storage(bucket)), 20) is None
    assert s3_server.keys(bucket) == []


def test_s3_probe_names_the_missing_bucket_and_no_secret(s3_server):  # noqa: F811
    problem = probe(parse_storage(s3_server.storage("no-such-bucket-here")), 20)
    assert problem is not None
    assert "bucket 'no-such-bucket-here' (NoSuchBucket)" in problem
    assert SECRET not in problem


def test_s3_with_a_role_to_assume(s3_server):  # noqa: F811
    bucket = s3_server.new_bucket()
    storage = parse_storage(s3_server.storage(bucket, role_arn="arn:aws:iam::123456789012:role/rejected-writer"))
    store = backend(storage)
    store.put("linkedin/rejected/x.jsonl", b"{}\n")
    assert s3_server.keys(bucket) == ["linkedin/rejected/x.jsonl"]


def test_a_role_session_is_renewed_when_it_expires(role_stand_in):  # noqa: F811
    storage = parse_storage(
        {
            **S3_MINIMAL,
            "s3_endpoint": role_stand_in.endpoint,
            "s3_bucket_region": "us-east-1",
            "access_key_id": KEY_ID,
            "secret_access_key": SECRET,
            "role_arn": "arn:aws:iam::123456789012:role/rejected-writer",
        }
    )
    store = backend(storage)
    store.put("first.jsonl", b"{}\n")
    time.sleep(role_stand_in.session_seconds + 0.5)  # the session the first write used has expired
    store.put("second.jsonl", b"{}\n")
    assert sorted(role_stand_in.objects) == ["/b-1/first.jsonl", "/b-1/second.jsonl"]
    assert role_stand_in.assumed >= 2


def test_a_role_that_cannot_be_assumed_ends_the_sync_with_its_sentence(role_stand_in):  # noqa: F811
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException, FailureType

    from destination_linkedin_capi.mapping.routing import StreamInfo
    from destination_linkedin_capi.write.session import WriteSession

    storage = {
        **S3_MINIMAL,
        "s3_endpoint": role_stand_in.endpoint,
        "s3_bucket_region": "us-east-1",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "role_arn": DENIED_ROLE,
    }
    config = ConnectorConfig.parse(
        {
            "account_id": "512345678",
            "credentials": {"auth_type": "access_token", "access_token": "unused", "conversion_mapping": "LEAD=11"},
            "stream_events": "leads=LEAD",
            "dry_run": True,
            "object_storage_config": storage,
        }
    )
    lines = [
        json.dumps({"type": "RECORD", "record": {"stream": "leads", "data": {"id": 1}, "emitted_at": 0}}).encode(),
        json.dumps({"type": "STATE", "state": {"type": "GLOBAL", "global": {}}, "id": 1}).encode(),
    ]
    emitted: list[dict[str, Any]] = []
    with pytest.raises(AirbyteTracedException) as raised:
        WriteSession(config, {(None, "leads"): StreamInfo()}, emitted.append).run(lines)
    assert raised.value.failure_type == FailureType.config_error
    assert raised.value.message == "Rejected records storage: the role in Role ARN could not be assumed (AccessDenied)."
    assert [m for m in emitted if m["type"] == "STATE"] == []


def test_an_unreachable_or_failing_store_is_transient_and_a_refusal_is_not():
    from botocore.exceptions import ClientError, EndpointConnectionError

    from destination_linkedin_capi.failures import failure_type
    from destination_linkedin_capi.rejected.store import StorageUnavailableError, _transient

    def answer(status: int, code: str) -> ClientError:
        return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")

    assert _transient(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert _transient(answer(503, "SlowDown")) and _transient(answer(500, "InternalError"))
    assert _transient(answer(400, "ExpiredToken"))  # a role session ended: renewed at the next attempt
    assert not _transient(answer(403, "AccessDenied")) and not _transient(answer(404, "NoSuchBucket"))
    assert failure_type(StorageUnavailableError("…", where="bucket 'b'", code="SlowDown")) == "transient_error"
    assert failure_type(StorageError("…")) == "config_error"


def test_windows_forget_the_boundaries_of_emitted_states():
    windows = RejectionWindows()
    for seq in range(1, 1001):
        number = windows.state_added((seq, 3))
        assert windows.take(number, LEADS, every_stream=False) == 0
    assert len(windows._boundaries) == 0  # a long sync without rejections keeps nothing per state
    windows.count(LEADS, (1001, 0))  # a LinkedIn rejection after all of them
    assert windows.take(1000, LEADS, every_stream=False) == 1


@pytest.mark.parametrize("sync_id", [0, 1, 9])
def test_a_sync_id_every_run_may_carry_gets_the_run_id(sync_id):
    now = dt.datetime(2026, 12, 1, 21, 15, tzinfo=dt.timezone.utc)
    folder = sync_folder(sync_id, now)
    assert re.fullmatch(rf"{sync_id}-run-20261201T211500Z-[0-9a-f]{{6}}", folder), folder
    assert sync_folder(sync_id, now) != folder  # PyAirbyte's runs, all sync 1, each get their own folder


def test_airbyte_sync_ids_stay_as_they_are_and_a_missing_one_is_a_run_id():
    assert sync_folder(10) == "10" and sync_folder(4711) == "4711" and sync_folder("abc") == "abc"
    assert sync_folder(None).startswith("run-")
