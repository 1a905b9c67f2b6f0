"""Where rejected-record files go: an S3 bucket (boto3; any S3-compatible endpoint) or a local directory.

Each backend writes one whole object per call, so a part is either complete or absent. `probe` is what
`check` runs: write a small object and delete it again. Error sentences name the bucket or directory and
the storage's error code, never a credential.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Protocol

from destination_linkedin_capi.config.storage import LocalStorage, S3Storage, Storage
from destination_linkedin_capi.errors import ConfigError, ConnectorError, TransportError

PROBE_DIR = "_airbyte_check"


class StorageError(ConfigError):
    """Rejected records could not be written: the sync stops rather than lose them (a config problem)."""


class StorageUnavailableError(TransportError):
    """The storage did not answer, or answered 5xx, after boto3's retries: the sync stops, Airbyte retries it."""


#: S3 error codes that pass on their own (besides any HTTP 5xx).
TRANSIENT_CODES = frozenset({"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling"})


class Backend(Protocol):
    def put(self, key: str, body: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str) -> str: ...


class S3Backend:
    """boto3's S3 client with its standard retries; `role_arn` is assumed through STS when given."""

    def __init__(self, settings: S3Storage) -> None:
        import boto3  # imported here: a sync without S3 storage never pays for it
        from botocore.config import Config

        self._settings = settings
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            region_name=settings.region,
        )
        if settings.role_arn:
            session = self._assumed(session, settings)
        try:
            self._client = session.client(
                "s3",
                endpoint_url=settings.endpoint,
                config=Config(retries={"max_attempts": 6, "mode": "standard"}, connect_timeout=10, read_timeout=60),
            )
        except Exception as error:  # e.g. an endpoint botocore cannot use
            raise StorageError(
                f"Rejected records storage: no S3 client could be made for bucket '{settings.bucket}' ({_code(error)}); "
                "check S3 Endpoint and S3 Bucket Region."
            ) from None

    @staticmethod
    def _assumed(session, settings: S3Storage):  # type: ignore[no-untyped-def]
        import boto3

        extra = {}
        external_id = os.environ.get("AWS_ASSUME_ROLE_EXTERNAL_ID")
        if external_id:
            extra["ExternalId"] = external_id
        try:
            answer = session.client("sts", endpoint_url=settings.endpoint).assume_role(
                RoleArn=settings.role_arn, RoleSessionName="airbyte-linkedin-capi-rejected-records", **extra
            )
        except Exception as error:
            raise StorageError(
                f"Rejected records storage: the role in Role ARN could not be assumed ({_code(error)})."
            ) from None
        credentials = answer["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=settings.region,
        )

    def put(self, key: str, body: bytes) -> None:
        try:
            self._client.put_object(Bucket=self._settings.bucket, Key=key, Body=body)
        except Exception as error:
            if _transient(error):
                raise StorageUnavailableError(
                    f"Rejected records could not be written: bucket '{self._settings.bucket}' did not answer "
                    f"({_code(error)}) after retries; Airbyte retries the sync."
                ) from None
            raise StorageError(
                f"Rejected records could not be written to bucket '{self._settings.bucket}' ({_code(error)}); "
                "check S3 Bucket Name, S3 Bucket Region, S3 Endpoint and that the credentials may write to it."
            ) from None

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._settings.bucket, Key=key)
        except Exception as error:
            raise StorageError(
                f"Rejected records storage: a test object could be written to bucket '{self._settings.bucket}' "
                f"but not deleted ({_code(error)}); allow s3:DeleteObject, or remove it by hand."
            ) from None

    def url(self, key: str) -> str:
        return f"s3://{self._settings.bucket}/{key}"


class LocalBackend:
    """Files under a directory; each written to a temporary name, synced and renamed, so none is half there."""

    def __init__(self, settings: LocalStorage) -> None:
        self._root = Path(settings.root)

    def put(self, key: str, body: bytes) -> None:
        path = self._root / key
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            with os.fdopen(handle, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except OSError as error:
            raise StorageError(
                f"Rejected records could not be written under {self._root} ({type(error).__name__}: "
                f"{error.strerror or 'failed'}); check Local path and that this process may write there."
            ) from None

    def delete(self, key: str) -> None:
        try:
            (self._root / key).unlink()
        except OSError as error:
            raise StorageError(
                f"Rejected records storage: a test file could be written under {self._root} but not deleted "
                f"({type(error).__name__})."
            ) from None

    def url(self, key: str) -> str:
        return str(self._root / key)


def _transient(error: Exception) -> bool:
    from botocore.exceptions import ConnectionError as NoConnection
    from botocore.exceptions import HTTPClientError

    if isinstance(error, (NoConnection, HTTPClientError)):
        return True
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500 or response.get("Error", {}).get("Code") in TRANSIENT_CODES


def _code(error: Exception) -> str:
    """The storage's error code (AccessDenied, NoSuchBucket, …) or the exception's type: never its text,
    which may quote a request."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


def backend(settings: Storage) -> Backend:
    return S3Backend(settings) if isinstance(settings, S3Storage) else LocalBackend(settings)


def probe(settings: Storage) -> str | None:
    """`check`: write and delete a small object; None when both worked, else the sentence to show."""
    key = f"{settings.prefix}{PROBE_DIR}/{uuid.uuid4().hex}.txt"
    try:
        store = backend(settings)
        store.put(key, b"Written by the LinkedIn Conversions API destination's check; safe to delete.\n")
        store.delete(key)
    except ConnectorError as error:
        return str(error)
    return None
