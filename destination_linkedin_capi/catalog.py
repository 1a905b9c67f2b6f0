"""The configured catalog → what the mapper needs of each stream (`StreamInfo`), read once per `write`.

The CLI reads the catalog file as raw JSON, so fields the CDK's model drops (`destination_object_name`,
set by Airbyte's data-activation mappings) survive; the in-process `write` passes the CDK's object, which is
turned back into the same JSON shape first, so both take one path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from airbyte_cdk.models import ConfiguredAirbyteCatalog, ConfiguredAirbyteCatalogSerializer

from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.mapping import StreamInfo
from destination_linkedin_capi.report import StreamKey


def streams_of(catalog: Mapping[str, Any]) -> dict[StreamKey, StreamInfo]:
    """(namespace, name) → StreamInfo for every configured stream of a catalog in its JSON form.

    The primary key is the configured one, else the source-defined one. Raises KeyError or TypeError when
    the catalog lacks what every configured catalog has (`streams`, each with `stream.name`)."""
    streams = {}
    for configured in catalog["streams"]:
        stream = configured["stream"]
        primary_key = tuple(
            tuple(part) for part in configured.get("primary_key") or stream.get("source_defined_primary_key") or ()
        )
        streams[(stream.get("namespace"), stream["name"])] = StreamInfo(
            primary_key=primary_key,
            destination_object_name=configured.get("destination_object_name"),
            sync_id=configured.get("sync_id"),
        )
    return streams


def read_catalog(path: str) -> dict[StreamKey, StreamInfo]:
    """The configured streams of the catalog file at `path`; ConfigError with one sentence when it is unreadable."""
    try:
        with open(path, "rb") as handle:
            return streams_of(orjson.loads(handle.read()))
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"The configured catalog {path} could not be read ({type(error).__name__}).") from None


def catalog_streams(catalog: ConfiguredAirbyteCatalog) -> dict[StreamKey, StreamInfo]:
    """The configured streams of the CDK's catalog object (the in-process `write`)."""
    dumped = ConfiguredAirbyteCatalogSerializer.dump(catalog)
    for configured, original in zip(dumped["streams"], catalog.streams, strict=True):
        name = getattr(original, "destination_object_name", None)  # not in every CDK's model
        if name is not None:
            configured["destination_object_name"] = name
    return streams_of(dumped)
