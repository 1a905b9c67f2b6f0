"""The configured catalog → what the mapper needs of each stream (`StreamInfo`), read once per `write`.

The CLI reads the catalog file as raw JSON, so fields the CDK's model drops (`destination_object_name`,
set by Airbyte's data-activation mappings) survive; the in-process `write` passes the CDK's object, which is
turned back into the same JSON shape first, so both take one path. A stream configured with another destination
sync mode than `append` is written as append, with one warning each at the start of the sync.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from airbyte_cdk.models import ConfiguredAirbyteCatalog, ConfiguredAirbyteCatalogSerializer

from destination_linkedin_capi.config.connector import EventConfig
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.mapping.routing import StreamInfo
from destination_linkedin_capi.report import StreamKey, stream_label

if TYPE_CHECKING:
    from destination_linkedin_capi.linkedin.rules import Rule

logger = logging.getLogger("airbyte")


#: What a conversion sent to LinkedIn allows: it cannot be replaced or deleted through the Conversions API.
SENT_AS_APPEND = "its records are sent as append: a conversion sent to LinkedIn cannot be replaced or deleted"
#: What LinkedIn documents of eventId deduplication (docs/linkedin-facts.md, Sources: Deduplication), and no more.
EVENT_ID_DEDUP = (
    "LinkedIn uses the eventId only to drop a Conversions API event that an Insight Tag event of the same ad "
    "account reported with the same eventId, and documents no deduplication between two Conversions API events, "
    "so a row the source sends again may be counted again; the primary key still keys each row's derived eventId"
)


class CatalogError(ConfigError):
    """A configured catalog that lacks what every configured catalog has, or holds a field of the wrong type."""


def _text_or_none(value: Any) -> bool:
    return value is None or type(value) is str


def _primary_key(value: Any, where: str) -> tuple[tuple[str, ...], ...]:
    """A primary key is a list of field paths, each a list of field names: `[["id"]]`, `[["order", "id"]]`."""
    if value is None:
        return ()
    if type(value) is not list or not all(
        type(path) is list and path and all(type(part) is str for part in path) for path in value
    ):
        raise CatalogError(f'{where} is not a list of field paths such as [["id"]]')
    return tuple(tuple(path) for path in value)


def _declared_fields(schema: Any) -> tuple[str, ...] | None:
    """The top-level fields a stream's JSON schema declares, or None when it declares none (`{"type": "object"}`,
    or a schema of another shape): then only its records can tell where they go."""
    properties = schema.get("properties") if type(schema) is dict else None
    if type(properties) is not dict or not properties:
        return None
    return tuple(name for name in properties if type(name) is str)


def _stream_info(configured: Any, number: int) -> tuple[StreamKey, StreamInfo]:
    where = f"stream {number}"
    if type(configured) is not dict:
        raise CatalogError(f"{where} is not an object")
    stream = configured.get("stream")
    if type(stream) is not dict:
        raise CatalogError(f"{where} has no 'stream' object")
    name, namespace = stream.get("name"), stream.get("namespace")
    if type(name) is not str:
        raise CatalogError(f"{where} has no text 'stream.name'")
    where = f"stream {number} ({name!r})"
    if not _text_or_none(namespace):
        raise CatalogError(f"{where}: 'stream.namespace' is not text")
    object_name = configured.get("destination_object_name")
    if not _text_or_none(object_name):
        raise CatalogError(f"{where}: 'destination_object_name' is not text")
    primary_key = _primary_key(configured.get("primary_key"), f"{where}: 'primary_key'") or _primary_key(
        stream.get("source_defined_primary_key"), f"{where}: 'stream.source_defined_primary_key'"
    )
    sync_id = configured.get("sync_id")  # the platform's sync: names the rejected records' folder
    info = StreamInfo(
        primary_key=primary_key,
        destination_object_name=object_name,
        sync_id=sync_id,
        full_refresh=configured.get("sync_mode") == "full_refresh",
        properties=_declared_fields(stream.get("json_schema")),
    )
    return (namespace, name), info


def streams_of(catalog: Any) -> dict[StreamKey, StreamInfo]:
    """(namespace, name) → StreamInfo for every configured stream of a catalog in its JSON form.

    The primary key is the configured one, else the source-defined one. Raises CatalogError, naming the stream
    (1-based) and field, when the catalog lacks what every configured catalog has or a field has the wrong type."""
    streams = catalog.get("streams") if type(catalog) is dict else None
    if type(streams) is not list:
        raise CatalogError("it has no 'streams' list")
    return dict(_stream_info(configured, number) for number, configured in enumerate(streams, 1))


def sync_mode_warnings(catalog: Any) -> list[str]:
    """One sentence per configured stream whose destination sync mode is not `append` (the only one the spec
    offers, though the API, the CLI and PyAirbyte can configure another): the destination writes it as append."""
    warnings = []
    for configured in catalog["streams"]:
        mode = configured.get("destination_sync_mode")
        if mode in (None, "append"):
            continue
        stream = configured["stream"]
        label = stream_label((stream.get("namespace"), stream["name"]))
        sentence = (
            f"Stream {label!r} is configured with destination sync mode {mode!r}, which this destination does not "
            f"offer; {SENT_AS_APPEND}"
        )
        warnings.append(f"{sentence}. {EVENT_ID_DEDUP}." if "dedup" in str(mode) else f"{sentence}.")
    return warnings


def _usable_streams(catalog: Any, named: str) -> dict[StreamKey, StreamInfo]:
    """`streams_of` for a command, which names the catalog (`named`) in its one-sentence error; one warning per
    stream whose sync mode is written as append."""
    try:
        streams = streams_of(catalog)
    except CatalogError as error:
        raise ConfigError(f"{named} could not be used: {error}.") from None
    for warning in sync_mode_warnings(catalog):
        logger.warning(warning)
    return streams


def read_catalog(path: str) -> dict[StreamKey, StreamInfo]:
    """The configured streams of the catalog file at `path`; ConfigError with one sentence when it is unreadable."""
    try:
        with open(path, "rb") as handle:
            catalog = orjson.loads(handle.read())
    except (OSError, orjson.JSONDecodeError) as error:
        raise ConfigError(f"The configured catalog {path} could not be read ({type(error).__name__}).") from None
    return _usable_streams(catalog, f"The configured catalog {path}")


def catalog_streams(catalog: ConfiguredAirbyteCatalog) -> dict[StreamKey, StreamInfo]:
    """The configured streams of the CDK's catalog object (the in-process `write`)."""
    dumped = ConfiguredAirbyteCatalogSerializer.dump(catalog)
    for configured, original in zip(dumped["streams"], catalog.streams, strict=True):
        name = getattr(original, "destination_object_name", None)  # not in every CDK's model
        if name is not None:
            configured["destination_object_name"] = name
    return _usable_streams(dumped, "The configured catalog")


_RULE_OBJECT = re.compile(r"\(rule ([0-9]{1,19})\)\s*$")


def rule_object_name(rule: Rule) -> str:
    """The operation name discover gives an existing rule: its name and ID, e.g. `CRM leads (rule 22285180)`."""
    return f"{rule.name.strip() or rule.type or 'Conversion rule'} (rule {rule.id})"


def rule_of_object(name: str) -> int | None:
    """The rule ID an operation name of `rule_object_name` carries, else None."""
    match = _RULE_OBJECT.search(name)
    return int(match.group(1)) if match else None


def rule_events(events: Mapping[str, EventConfig], streams: Mapping[StreamKey, StreamInfo]) -> dict[str, EventConfig]:
    """The configured events, plus one per existing rule that the data-activation UI mapped a stream to (its
    discover operation's name), unless that name is a configured event's."""
    result = dict(events)
    for info in streams.values():
        name = (info.destination_object_name or "").strip()
        rule_id = rule_of_object(name) if name else None
        if rule_id is not None and name.casefold() not in result:
            result[name.casefold()] = EventConfig(name, rule_id, None)
    return result
