"""docs/mapping.md stays true: its code tables equal the code's, and its examples map as shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.mapping.fields import RECOGNISED_FIELDS, TARGETS
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.reasons import NOTE_REASONS, REJECTION_REASONS
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection
from destination_linkedin_capi.mapping.routing import StreamInfo

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mapping.md").read_text(encoding="utf-8")
NOW = 1788350400000  # 2026-09-02T12:00:00Z


def section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else None]


def code_table(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\| `([a-z0-9_]+)` \| (.+?) \|$", text, re.M))


def test_rejection_table_equals_the_code():
    assert code_table(section("4. Rejection codes")) == REJECTION_REASONS


def test_note_table_equals_the_code():
    assert code_table(section("5. Notes")) == NOTE_REASONS


def test_recognised_field_table_lists_every_alias():
    rows = {}
    for name, recognised in re.findall(
        r"^\| [^|]+ \| `?([a-z0-9_]+)`?[^|]* \| (.+) \|$", section("2. Recognised fields"), re.M
    ):
        rows.setdefault(name, "")
        rows[name] += recognised
    for field, aliases in RECOGNISED_FIELDS.items():
        row = rows[TARGETS.get(field, field)]
        for alias in aliases:
            assert f"`{alias}`" in row, (field, alias)


def mapper() -> RecordMapper:
    config = ConnectorConfig.parse(
        {
            "account_id": "1",
            "credentials": {
                "auth_type": "access_token",
                "access_token": "t",
                "conversion_mapping": "LEAD=123457,PURCHASE=123456",
            },
            "stream_events": "orders=PURCHASE",
        }
    )
    streams: dict[tuple[str | None, str], StreamInfo] = {(None, "orders"): StreamInfo(primary_key=(("order_id",),))}
    return RecordMapper(config, {"lead": 123457, "purchase": 123456}, streams, now_ms=lambda: NOW)


def examples() -> list:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section("6. Examples"), re.S)]


def test_purchase_example():
    record, expected = examples()[0:2]
    result = mapper().for_stream(None, "orders")(record)
    assert isinstance(result, ConversionEvent)
    assert json.dumps(result.payload) == json.dumps(expected)
    assert result.identifiers == ("email", "li_fat_id", "name")


def test_lead_example():
    record, expected = examples()[2:4]
    result = mapper().for_stream(None, "lead")(record)
    assert isinstance(result, ConversionEvent)
    assert re.fullmatch(r"[0-9a-f]{32}", result.payload["eventId"])
    expected["eventId"] = result.payload["eventId"]
    assert json.dumps(result.payload) == json.dumps(expected)
    assert result.notes == ("unknown_country_dropped",)


def test_rejection_example():
    record = {"email": "jane@example.com", "created_at": "2026-09-01", "value": "12,5", "currency": "EUR"}
    result = mapper().for_stream(None, "orders")(record)
    assert isinstance(result, Rejection)
    assert f"`{result.reason}` — *{result.message}*" in DOC.replace("\n", " ").replace(
        "\\*", "*"
    )  # \* in Markdown is *
