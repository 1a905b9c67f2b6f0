"""`object_storage_config`: where rejected records are written (the form Airbyte's data-activation
destinations declare: `storage_type` None, S3 or — for the CLI and PyAirbyte — Local).

Parsed apart from the main config model so each problem gets its own sentence naming the field, never a value.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.safety import check_url

DEFAULT_PATH_FORMAT = "{sync_id}/{namespace}/{stream_name}/"
DEFAULT_FILE_NAME_FORMAT = "{date}_{timestamp}_{part_number}{format_extension}"
#: The variables `path_format` and `file_name_format` may use.
PATH_VARIABLES = frozenset(
    {
        "sync_id",
        "namespace",
        "stream_name",
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "millisecond",
        "epoch",
        "date",
        "timestamp",
        "part_number",
        "format_extension",
    }
)
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class S3Storage:
    bucket: str
    region: str | None
    endpoint: str | None
    prefix: str
    access_key_id: str | None
    secret_access_key: str | None
    role_arn: str | None
    gzip: bool
    path_format: str
    file_name_format: str

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class LocalStorage:
    root: str
    gzip: bool
    path_format: str
    file_name_format: str
    prefix: str = ""

    def describe(self) -> str:
        return self.root.rstrip("/") + "/"


Storage = S3Storage | LocalStorage


def _text(options: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = options.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigError(
                f"Rejected records storage: {name} is required (config field 'object_storage_config.{name}')."
            )
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"Rejected records storage: {name} must be text (config field 'object_storage_config.{name}')."
        )
    return value.strip()


def _template(options: Mapping[str, Any], name: str, default: str) -> str:
    """A path or file-name template: variables only, written bare (a format spec such as `{sync_id:>300000000}`
    could build a name of any size, and one that does not fit the value stops the sync), and no `..` folder."""
    value = _text(options, name) or default
    try:
        fields = [(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(value)]
    except ValueError:
        raise ConfigError(
            f"Rejected records storage: {name} has an unbalanced '{{' or '}}' (config field 'object_storage_config.{name}')."
        ) from None
    names = [field for field, _, _ in fields if field is not None]
    unknown = sorted({field for field in names if field not in PATH_VARIABLES})
    if unknown:
        raise ConfigError(
            f"Rejected records storage: {name} uses unknown variable {', '.join('{' + u + '}' for u in unknown)} "
            f"(config field 'object_storage_config.{name}'); use {', '.join('{' + v + '}' for v in sorted(PATH_VARIABLES))}."
        )
    if any(spec or conversion for field, spec, conversion in fields if field is not None):
        raise ConfigError(
            f"Rejected records storage: {name} formats a variable (':' or '!' after its name; config field "
            f"'object_storage_config.{name}'); write each variable bare, such as {{part_number}}."
        )
    if ".." in value.replace("\\", "/").split("/"):
        raise ConfigError(
            f"Rejected records storage: {name} has a '..' folder (config field 'object_storage_config.{name}'); "
            "remove it."
        )
    return value


def _gzip(options: Mapping[str, Any]) -> bool:
    compression = options.get("compression")
    if compression is None:
        return False
    kind = compression.get("compression_type") if isinstance(compression, Mapping) else None
    if kind not in ("No Compression", "GZIP"):
        raise ConfigError(
            "Rejected records storage: compression must be 'No Compression' or 'GZIP' "
            "(config field 'object_storage_config.compression.compression_type')."
        )
    return kind == "GZIP"


def _check_format(options: Mapping[str, Any]) -> None:
    """Rejected records are JSON lines; the hidden `format` field is accepted only as JSONL (or left out)."""
    form = options.get("format")
    if form is None:
        return
    kind = form.get("format_type") if isinstance(form, Mapping) else form
    if kind != "JSONL":
        raise ConfigError(
            "Rejected records storage: format must be JSONL, the only format rejected records are written in "
            "(config field 'object_storage_config.format.format_type')."
        )


def _s3(options: Mapping[str, Any]) -> S3Storage:
    for name in ("s3_bucket_region", "bucket_path"):  # required by the form, though they may be empty
        if name not in options:
            raise ConfigError(
                f"Rejected records storage: {name} is required (config field 'object_storage_config.{name}')."
            )
    bucket = _text(options, "s3_bucket_name", required=True)
    assert bucket is not None
    if not _BUCKET_NAME.fullmatch(bucket):
        raise ConfigError(
            "Rejected records storage: S3 Bucket Name is not a bucket name (3–63 lower-case letters, digits, '.' "
            "or '-'; config field 'object_storage_config.s3_bucket_name')."
        )
    access_key_id = _text(options, "access_key_id")
    secret_access_key = _text(options, "secret_access_key")
    if (access_key_id is None) != (secret_access_key is None):
        raise ConfigError(
            "Rejected records storage: give both Access Key ID and Secret Access Key, or neither (then the "
            "machine's AWS credentials or Role ARN are used; config field 'object_storage_config')."
        )
    endpoint = _text(options, "s3_endpoint")
    if endpoint is not None:  # the rows are personal data: plain http only to this machine
        endpoint = check_url(endpoint, "Rejected records storage: S3 Endpoint")
    _check_format(options)
    prefix = (_text(options, "bucket_path") or "").strip("/")
    return S3Storage(
        bucket=bucket,
        region=_text(options, "s3_bucket_region"),
        endpoint=endpoint,
        prefix=prefix + "/" if prefix else "",
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        role_arn=_text(options, "role_arn"),
        gzip=_gzip(options),
        path_format=_template(options, "path_format", DEFAULT_PATH_FORMAT),
        file_name_format=_template(options, "file_name_format", DEFAULT_FILE_NAME_FORMAT),
    )


def parse_storage(options: Any) -> Storage | None:
    """The configured storage, or None (`storage_type` None, or no `object_storage_config` at all)."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise ConfigError("Rejected records storage must be an object (config field 'object_storage_config').")
    kind = options.get("storage_type", "None")
    if kind == "None":
        return None
    if kind == "S3":
        return _s3(options)
    if kind == "Local":
        root = _text(options, "local_path", required=True)
        assert root is not None
        return LocalStorage(
            root=root,
            gzip=_gzip(options),
            path_format=_template(options, "path_format", DEFAULT_PATH_FORMAT),
            file_name_format=_template(options, "file_name_format", DEFAULT_FILE_NAME_FORMAT),
        )
    raise ConfigError(
        "Rejected records storage: storage_type must be None, S3 or Local (config field 'object_storage_config.storage_type')."
    )
