"""Where rejected-record files go: an S3 bucket (boto3; any S3-compatible endpoint) or a local directory.

Each backend writes one whole object per call, never over an existing one, so a part is either complete or
absent. Every call is bounded: it gives up after its deadline, and at once when the sync is cancelled (the
`sleep` of the sync's cancellation raises then), so a stalled store never holds a sync or `check` for long.
`probe` is what `check` runs: write a small object and delete it again. Error sentences name the bucket or
directory and the storage's error code, never a credential.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from destination_linkedin_capi.config.storage import LocalStorage, S3Storage, Storage
from destination_linkedin_capi.errors import ConfigError, ConnectorError, TransportError

PROBE_DIR = "_airbyte_check"
#: How long one write of a part may take during a sync, boto3's retries included.
SYNC_CALL_SECONDS = 120.0
#: How often a call in progress looks whether the sync was cancelled.
CANCEL_POLL_SECONDS = 0.2
#: `StorageUnavailableError.code` of a call that did not end within its deadline.
NO_ANSWER = "no answer"
#: A role session lasts at least 15 minutes (AWS); it is renewed this long before it ends.
ROLE_RENEW_SECONDS = 5 * 60

Sleep = Callable[[float], None]
T = TypeVar("T")


class StorageError(ConfigError):
    """Rejected records could not be written: the sync stops rather than lose them (a config problem)."""


class StorageUnavailableError(TransportError):
    """The storage did not answer in time, or answered 5xx, or the disk is full: the sync stops, Airbyte retries it.
    `where` names the bucket or directory and `code` the storage's error code, for `check`'s own sentence."""

    def __init__(self, message: str, *, where: str, code: str) -> None:
        super().__init__(message)
        self.where = where
        self.code = code


#: S3 and STS error codes that pass on their own (besides any HTTP 5xx); an expired role session is renewed.
TRANSIENT_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ExpiredToken"}
)
#: Local write errors that pass on their own: a full disk or quota, a busy or vanished network file system.
TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.ETIMEDOUT, errno.ESTALE})

#: What `link` fails with on a file system that has no hard links.
NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})


class Stalled(Exception):
    """A storage call did not end within its deadline (it is abandoned on a daemon thread)."""


class Backend(Protocol):
    def put(self, key: str, body: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str) -> str: ...


def bounded(call: Callable[[], T], seconds: float, sleep: Sleep) -> T:
    """`call()` on a daemon thread, waited for at most `seconds`; `sleep(0)` is asked every poll whether the sync
    was cancelled (it raises then). boto3 has no overall deadline and cannot be interrupted, hence the thread."""
    outcome: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as error:  # handed to the waiting thread
            outcome.append((False, error))
        finally:
            done.set()

    threading.Thread(target=run, name="rejected-records-storage", daemon=True).start()
    deadline = time.monotonic() + seconds
    while not done.wait(min(CANCEL_POLL_SECONDS, max(deadline - time.monotonic(), 0.0))):
        sleep(0)  # raises SyncCancelled once the sync is cancelled
        if time.monotonic() >= deadline:
            raise Stalled()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


class S3Backend:
    """boto3's S3 client with its standard retries; `role_arn` is assumed through STS, and the role session renewed
    before it ends (botocore's refreshable credentials), however long the sync."""

    def __init__(self, settings: S3Storage, *, seconds: float = SYNC_CALL_SECONDS, sleep: Sleep = time.sleep) -> None:
        import boto3  # imported here: a sync without S3 storage never pays for it
        from botocore.config import Config

        self._settings = settings
        self._seconds = seconds
        self._sleep = sleep
        self._conditional = True
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            region_name=settings.region,
        )
        # Each attempt is bounded too, so that boto3's own retries fit the deadline.
        timeouts = min(seconds / 3, 60.0)
        config = Config(
            retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=timeouts, read_timeout=timeouts
        )
        try:
            if settings.role_arn:
                session = self._assumed(session, settings, config)
            self._client = session.client("s3", endpoint_url=settings.endpoint, config=config)
        except ConnectorError:
            raise
        except Exception as error:  # e.g. an endpoint botocore cannot use
            raise StorageError(
                f"Rejected records storage: no S3 client could be made for bucket '{settings.bucket}' ({_code(error)}); "
                "check S3 Endpoint and S3 Bucket Region."
            ) from None

    @staticmethod
    def _assumed(session: Any, settings: S3Storage, config: Any) -> Any:
        """A session whose credentials are the role's, assumed at the first call and renewed before they expire."""
        import boto3
        import botocore.session
        from botocore.credentials import (
            AssumeRoleCredentialFetcher,
            CredentialProvider,
            CredentialResolver,
            DeferredRefreshableCredentials,
        )

        source = session.get_credentials()
        if source is None:
            raise StorageError(
                "Rejected records storage: Role ARN is set but there are no credentials to assume it with; fill in "
                "Access Key ID and Secret Access Key, or give this machine AWS credentials."
            )
        extra = {"RoleSessionName": "airbyte-linkedin-capi-rejected-records"}
        external_id = os.environ.get("AWS_ASSUME_ROLE_EXTERNAL_ID")
        if external_id:
            extra["ExternalId"] = external_id

        def sts(service: str, **credentials: Any) -> Any:  # STS is global: any region reaches it
            region = settings.region or "us-east-1"
            return session.client(
                service, endpoint_url=settings.endpoint, region_name=region, config=config, **credentials
            )

        fetcher = AssumeRoleCredentialFetcher(
            sts, source, settings.role_arn, extra_args=extra, expiry_window_seconds=ROLE_RENEW_SECONDS
        )
        credentials = DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")

        class RoleProvider(CredentialProvider):
            METHOD = "assume-role"

            def load(self) -> Any:
                return credentials

        core = botocore.session.Session()
        core.register_component("credential_provider", CredentialResolver([RoleProvider()]))
        return boto3.session.Session(botocore_session=core, region_name=settings.region)

    def put(self, key: str, body: bytes) -> None:
        """Create the object; `If-None-Match: *` makes the store refuse it rather than replace one of that name."""
        condition = {"IfNoneMatch": "*"} if self._conditional else {}
        try:
            bounded(
                lambda: self._client.put_object(Bucket=self._settings.bucket, Key=key, Body=body, **condition),
                self._seconds,
                self._sleep,
            )
        except ConnectorError:  # the sync was cancelled
            raise
        except Exception as error:
            if _code(error) == "PreconditionFailed" and _retried(error):
                return  # an earlier try of this very call was stored, its answer lost: the name is this attempt's
            if self._conditional and _code(error) == "NotImplemented":  # a store without conditional writes
                self._conditional = False  # names are unique per sync attempt: nothing is replaced without it
                self.put(key, body)
                return
            raise self._error(error) from None

    def _error(self, error: Exception) -> ConnectorError:
        bucket = self._settings.bucket
        where = f"bucket '{bucket}'"
        if isinstance(error, Stalled):
            return StorageUnavailableError(
                f"Rejected records could not be written: bucket '{bucket}' did not answer within {self._seconds:g} s; "
                "Airbyte retries the sync.",
                where=where,
                code=NO_ANSWER,
            )
        if _transient(error):
            return StorageUnavailableError(
                f"Rejected records could not be written: bucket '{bucket}' did not answer ({_code(error)}) after "
                "retries; Airbyte retries the sync.",
                where=where,
                code=_code(error),
            )
        if getattr(error, "operation_name", None) == "AssumeRole":
            return StorageError(
                f"Rejected records storage: the role in Role ARN could not be assumed ({_code(error)})."
            )
        if _code(error) == "PreconditionFailed":
            return StorageError(
                f"Rejected records could not be written to bucket '{bucket}': an object of the same name is there "
                "already, and it is never replaced; check Path format and File name format."
            )
        return StorageError(
            f"Rejected records could not be written to bucket '{bucket}' ({_code(error)}); "
            "check S3 Bucket Name, S3 Bucket Region, S3 Endpoint and that the credentials may write to it."
        )

    def delete(self, key: str) -> None:
        try:
            bounded(
                lambda: self._client.delete_object(Bucket=self._settings.bucket, Key=key), self._seconds, self._sleep
            )
        except ConnectorError:
            raise
        except Exception as error:
            raise StorageError(
                f"Rejected records storage: a test object could be written to bucket '{self._settings.bucket}' "
                f"but not deleted ({_code(error)}); allow s3:DeleteObject, or remove it by hand."
            ) from None

    def url(self, key: str) -> str:
        return f"s3://{self._settings.bucket}/{key}"


class LocalBackend:
    """Files under a directory; each written to a temporary name, synced, then linked to its own name (which
    fails when that name exists: nothing is overwritten), so none is half there. No temporary file outlives a
    failed write."""

    def __init__(
        self, settings: LocalStorage, *, seconds: float = SYNC_CALL_SECONDS, sleep: Sleep = time.sleep
    ) -> None:
        self._root = Path(settings.root)
        self._seconds = seconds
        self._sleep = sleep

    def put(self, key: str, body: bytes) -> None:
        try:
            bounded(lambda: self._create(self._root / key, body), self._seconds, self._sleep)
        except ConnectorError:
            raise
        except Stalled:
            raise StorageUnavailableError(
                f"Rejected records could not be written under {self._root}: the write did not end within "
                f"{self._seconds:g} s; Airbyte retries the sync.",
                where=str(self._root),
                code=NO_ANSWER,
            ) from None
        except FileExistsError:
            raise StorageError(
                f"Rejected records could not be written under {self._root}: a file of the same name is there "
                "already, and it is never replaced; check Path format and File name format."
            ) from None
        except OSError as error:
            problem = f"{type(error).__name__}: {error.strerror or 'failed'}"
            if error.errno in TRANSIENT_ERRNOS:
                raise StorageUnavailableError(
                    f"Rejected records could not be written under {self._root} ({problem}); free some space, "
                    "Airbyte retries the sync.",
                    where=str(self._root),
                    code=problem,
                ) from None
            raise StorageError(
                f"Rejected records could not be written under {self._root} ({problem}); check Local path and "
                "that this process may write there."
            ) from None

    @staticmethod
    def _create(path: Path, body: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, path)  # FileExistsError rather than replace a file
            except OSError as error:
                if error.errno not in NO_HARD_LINKS:
                    raise
                if path.exists():  # a file system without hard links (FAT, some network mounts)
                    raise FileExistsError(errno.EEXIST, "File exists") from None
                os.replace(temporary, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def delete(self, key: str) -> None:
        path = self._root / key
        try:
            bounded(path.unlink, self._seconds, self._sleep)
        except ConnectorError:
            raise
        except Exception as error:
            raise StorageError(
                f"Rejected records storage: a test file could be written under {self._root} but not deleted "
                f"({type(error).__name__})."
            ) from None
        with contextlib.suppress(OSError):  # `check`'s folder, when no other check is using it
            path.parent.rmdir()

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


def _retried(error: Exception) -> bool:
    """Whether boto3 got this answer on a retry of the call."""
    response = getattr(error, "response", None)
    return isinstance(response, dict) and bool(response.get("ResponseMetadata", {}).get("RetryAttempts"))


def _code(error: Exception) -> str:
    """The storage's error code (AccessDenied, NoSuchBucket, …) or the exception's type: never its text,
    which may quote a request."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


def backend(settings: Storage, *, seconds: float = SYNC_CALL_SECONDS, sleep: Sleep = time.sleep) -> Backend:
    """The store for `settings`, each call bounded by `seconds` and cut short when `sleep` raises."""
    if isinstance(settings, S3Storage):
        return S3Backend(settings, seconds=seconds, sleep=sleep)
    return LocalBackend(settings, seconds=seconds, sleep=sleep)


def probe(settings: Storage, seconds: float) -> str | None:
    """`check`: write and delete a small object, each call within `seconds`; None when both worked, else the
    sentence to show."""
    key = f"{settings.prefix}{PROBE_DIR}/{uuid.uuid4().hex}.txt"
    created = _first_missing(Path(settings.root)) if isinstance(settings, LocalStorage) else None
    try:
        store = backend(settings, seconds=seconds)
        store.put(key, b"Written by the LinkedIn Conversions API destination's check; safe to delete.\n")
        store.delete(key)
    except StorageUnavailableError as error:
        if error.code == NO_ANSWER:
            what = "S3 Endpoint and that this host can reach it" if isinstance(settings, S3Storage) else "Local path"
            return (
                f"Rejected records storage: {error.where} did not answer within {seconds:g} s; check {what}, "
                "then run check again."
            )
        return (
            f"Rejected records storage: the test write to {error.where} failed ({error.code}), which usually passes "
            "on its own; run check again later."
        )
    except ConnectorError as error:
        return str(error)
    finally:
        if created is not None:
            _remove_empty(Path(settings.root), created)
    return None


def _first_missing(folder: Path) -> Path | None:
    """The outermost of `folder` and its parents that does not exist yet: where `check`'s folders would begin."""
    missing = None
    for path in (folder, *folder.parents):
        try:
            if path.exists():
                break
        except (OSError, ValueError):  # a path the system refuses: the put says so
            return None
        missing = path
    return missing


def _remove_empty(folder: Path, up_to: Path) -> None:
    """Remove `folder` and its parents up to `up_to`, each only while empty: what `check` created, nothing else."""
    for path in (folder, *folder.parents):
        try:
            path.rmdir()
        except OSError:
            return
        if path == up_to:
            return
