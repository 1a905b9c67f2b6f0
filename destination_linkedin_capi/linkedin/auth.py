"""Token providers: one interface — "give me a valid token", "that one was rejected" — for every auth mode.

Every token obtained at run time is registered with the CDK's secret filter before it can reach a log,
and so is every secret a provider is built from. Error sentences never contain a token or a key.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from destination_linkedin_capi import constants as c
from destination_linkedin_capi import failures
from destination_linkedin_capi.errors import ConfigError, TransportError
from destination_linkedin_capi.linkedin.retry import Attempts, Retryable, RetryPolicy, retry_after_seconds, retry_loop
from destination_linkedin_capi.safety import is_header_safe, register_secret

logger = logging.getLogger("airbyte")

#: A cached token is renewed this long before it expires (or at 10% of its lifetime, if that is shorter).
EXPIRY_MARGIN_SECONDS = 300.0
#: LinkedIn may answer 401 (65601 REVOKED_ACCESS_TOKEN) for a token minted moments ago, until it has
#: propagated (a 5-10 s pause fixes it: docs/linkedin-facts.md §8). So a renewed token is used only after
#: this pause, and a token the issuer stands by gets one pause if it was minted within the window.
PROPAGATION_WINDOW_SECONDS = 120.0
PROPAGATION_WAIT_SECONDS = 5.0
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,60}")


class TokenProvider(Protocol):
    """What the client needs from an auth mode."""

    #: Human name of what failed, used in error sentences ("the access token", "the OAuth refresh token").
    description: str
    #: Permissions the issuer reported for the current token (None: not reported, e.g. a Direct API token).
    scopes: frozenset[str] | None
    #: Epoch seconds when the long-lived grant behind the tokens ends, when the issuer says so.
    refresh_token_expires_at: float | None

    def token(self) -> str:
        """A token believed valid now (fetched or refreshed as needed)."""
        ...

    def refresh(self, rejected: str) -> bool:
        """LinkedIn answered 401 to `rejected`: drop it; True when a retry with a new token makes sense."""
        ...


class StaticTokenProvider:
    """Access-token mode: the Direct API token from Campaign Manager. It cannot be refreshed."""

    description = "the access token"
    scopes: frozenset[str] | None = None
    refresh_token_expires_at: float | None = None

    def __init__(self, access_token: str) -> None:
        self._token = access_token.strip()
        register_secret(access_token)

    def token(self) -> str:
        return self._token

    def refresh(self, rejected: str) -> bool:
        return False


@dataclass
class IssuedToken:
    """An access token with what its issuer said about it."""

    value: str
    obtained_at: float
    expires_at: float | None
    waited_for_propagation: bool = False


def _scopes(value: Any) -> frozenset[str] | None:
    """`"r_ads,rw_conversions"` or `"r_ads rw_conversions"` → {"r_ads", "rw_conversions"}."""
    if not isinstance(value, str):
        return None
    return frozenset(part for part in re.split(r"[\s,]+", value) if part)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return float(value)


def _error_code(body: Any) -> str | None:
    """The OAuth-style `error` code of an answer, only when it looks like a code (never free text)."""
    code = body.get("error") if isinstance(body, Mapping) else None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _where(url: str) -> str:
    """Host[:port] of a URL: enough to say which service failed, never a credential in the URL."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class _MintingProvider:
    """Shared life cycle of minted tokens: cache until shortly before expiry, renew on 401, wait out propagation.

    Subclasses only say how to mint (`_mint`); retries of the issuing service live in `_post`.
    """

    description = "the access token"
    service_name = "the token service"
    #: The config field to check when the issuing service misbehaves (a redirect, a malformed token).
    url_field = "Token service URL"
    #: What to check when the service answers 200 without an access token.
    missing_token_advice = "check that Token service URL is the service's token endpoint."

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._session = session or requests.Session()
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._lock = threading.Lock()
        self._current: IssuedToken | None = None
        self.scopes: frozenset[str] | None = None
        self.refresh_token_expires_at: float | None = None

    def _mint(self) -> IssuedToken:
        raise NotImplementedError

    def _issue(self) -> IssuedToken:
        """Mint and register the token with the secret filter before anything can log it; refuse a token no HTTP
        header can carry (a line break would split the header, and the HTTP client's error quotes it escaped)."""
        issued = self._mint()
        register_secret(issued.value)
        if not is_header_safe(issued.value):
            raise ConfigError(failures.token_not_header_safe(self._issuer(), self.url_field))
        return issued

    def _access_token(self, response: requests.Response) -> tuple[Any, str]:
        """The issuer's answer and the access token in it; a refusal, or an answer without a token, is a ConfigError."""
        body = _json(response)
        if response.status_code != 200:
            raise ConfigError(self._refusal(response.status_code, _error_code(body)))
        access_token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(access_token, str) or not access_token.strip():
            raise ConfigError(f"{self._issuer()} answered without an access token; {self.missing_token_advice}")
        return body, access_token

    def _issuer(self) -> str:
        """Who issued the token, as the start of a sentence (e.g. The token service at host:port)."""
        raise NotImplementedError

    def _refusal(self, status: int, code: str | None) -> str:
        """The sentence for the service's refusal (`code`: its OAuth-style error code)."""
        raise NotImplementedError

    def _is_expiring(self, issued: IssuedToken) -> bool:
        if issued.expires_at is None:
            return False
        lifetime = issued.expires_at - issued.obtained_at
        margin = min(EXPIRY_MARGIN_SECONDS, lifetime / 10)
        return self._clock() >= issued.expires_at - margin

    def token(self) -> str:
        with self._lock:
            if self._current is None or self._is_expiring(self._current):
                self._current = self._issue()
            return self._current.value

    def refresh(self, rejected: str) -> bool:
        """Renew, then pause so the new token can propagate (LinkedIn answers 401 to brand-new tokens for a few
        seconds). When the issuer hands back the rejected token itself, only that delay could excuse the 401:
        wait once if it is fresh, else give up."""
        with self._lock:
            current = self._current
            if current is None or current.value != rejected:
                return True  # another caller already replaced the rejected token
            replacement = self._issue()
            if replacement.value == rejected:
                fresh = self._clock() - current.obtained_at < PROPAGATION_WINDOW_SECONDS
                if current.waited_for_propagation or not fresh:
                    return False  # the issuer has nothing better: the grant itself is dead
                current.waited_for_propagation = True
            else:
                self._current = replacement
                replacement.waited_for_propagation = True
            logger.info(
                "LinkedIn rejected %s; retrying with %s in %.0f s, once it has propagated.",
                self.description,
                "the same token" if replacement.value == rejected else "a new one",
                PROPAGATION_WAIT_SECONDS,
            )
            self._sleep(PROPAGATION_WAIT_SECONDS)
            return True

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST to the issuing service; retry 429/5xx/no answer per the retry policy (`Retry-After` honoured)."""

        def attempt(attempts: Attempts) -> requests.Response | Retryable:
            try:
                response = self._session.post(url, timeout=attempts.timeout, allow_redirects=False, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                return Retryable(f"no answer ({type(error).__name__})")
            if 300 <= response.status_code < 400:
                raise ConfigError(failures.redirected(response.status_code, self._issuer(), self.url_field))
            if response.status_code != 429 and response.status_code < 500:
                return response
            return Retryable(f"HTTP {response.status_code}", retry_after_seconds(response.headers.get("Retry-After")))

        def announce(failed: Retryable, attempts: Attempts, wait: float) -> None:
            logger.warning("%s: %s; retry %d in %.1f s", self.service_name, failed.reason, attempts.count, wait)

        def give_up(failed: Retryable, attempts: Attempts) -> Exception:
            return TransportError(self._down_sentence(url, failed.reason, attempts.count))

        return retry_loop(
            self._policy,
            attempt,
            announce=announce,
            give_up=give_up,
            sleep=self._sleep,
            clock=self._clock,
            rng=self._rng,
        )

    def _down_sentence(self, url: str, problem: str, attempts: int) -> str:
        raise NotImplementedError


class TokenIdProvider(_MintingProvider):
    """Token-ID mode: a CDP holds the LinkedIn authorisation; its token service swaps the token ID for a token.

    Contract (docs/authentication.md): POST {url} JSON {"token_id", "account_id"}, optional
    `Authorization: Bearer <service key>`; 200 → {"access_token", "expires_in", "scope", ["refresh_token_expires_at"]}.
    """

    description = "the access token the token service issued for this token ID"
    service_name = "the token service"

    def __init__(
        self, token_id: str, service_url: str, service_key: str | None, account_id: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._token_id = token_id
        self._url = service_url
        self._key = service_key.strip() if service_key and service_key.strip() else None
        self._account_id = account_id
        if self._key:
            register_secret(service_key or "")

    def _mint(self) -> IssuedToken:
        headers = {"Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        now = self._clock()
        response = self._post(
            self._url, json={"token_id": self._token_id, "account_id": str(self._account_id)}, headers=headers
        )
        body, access_token = self._access_token(response)
        expires_in = _seconds(body.get("expires_in"))
        self.scopes = _scopes(body.get("scope"))
        self.refresh_token_expires_at = _seconds(body.get("refresh_token_expires_at"))
        return IssuedToken(access_token, now, now + expires_in if expires_in else None)

    def _issuer(self) -> str:
        return f"The token service at {_where(self._url)}"

    def _refusal(self, status: int, code: str | None) -> str:
        return failures.token_service_refused(status, code, _where(self._url), self._key is not None, self._account_id)

    def _down_sentence(self, url: str, problem: str, attempts: int) -> str:
        return failures.token_service_down(_where(url), problem, attempts)


class OAuth2Provider(_MintingProvider):
    """OAuth mode: mint access tokens from the app's refresh token at LinkedIn's token endpoint (docs/linkedin-facts.md §8)."""

    description = "the access token minted from the OAuth refresh token"
    service_name = "LinkedIn's OAuth service"
    url_field = "OAuth base URL"
    missing_token_advice = "check OAuth base URL."

    def __init__(self, client_id: str, client_secret: str, refresh_token: str, oauth_base_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self._client_id = client_id.strip()
        self._client_secret = client_secret.strip()
        self._refresh_token = refresh_token.strip()
        self._url = oauth_base_url.rstrip("/") + c.OAUTH_TOKEN_PATH
        #: The refresh token LinkedIn answered in place of the configured one, once it has rotated it.
        self.rotated_refresh_token: str | None = None
        self._on_rotation: Callable[[], None] | None = None
        register_secret(client_secret)
        register_secret(refresh_token)

    def _mint(self) -> IssuedToken:
        now = self._clock()
        response = self._post(
            self._url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers={"Accept": "application/json"},
        )
        body, access_token = self._access_token(response)
        new_refresh_token = body.get("refresh_token")
        if isinstance(new_refresh_token, str) and new_refresh_token.strip():
            register_secret(new_refresh_token)
            rotated = new_refresh_token.strip() != self._refresh_token
            self._refresh_token = new_refresh_token.strip()
            if rotated:
                self.rotated_refresh_token = self._refresh_token
                if self._on_rotation is not None:
                    self._on_rotation()  # at once: the old refresh token is dead from now on
        expires_in = _seconds(body.get("expires_in"))
        refresh_expires_in = _seconds(body.get("refresh_token_expires_in"))
        self.scopes = _scopes(body.get("scope"))
        self.refresh_token_expires_at = now + refresh_expires_in if refresh_expires_in else None
        return IssuedToken(access_token, now, now + expires_in if expires_in else None)

    def watch_rotation(self, callback: Callable[[], None]) -> None:
        """Call `callback` the moment LinkedIn rotates the refresh token (airbyte/config_updates.py hands the new one
        to Airbyte then, so a sync that dies right after does not leave the platform with a revoked token)."""
        self._on_rotation = callback

    def _issuer(self) -> str:
        return f"LinkedIn's OAuth service at {_where(self._url)}"

    @staticmethod
    def _refusal(status: int, code: str | None) -> str:
        return failures.oauth_refused(status, code)

    def _down_sentence(self, url: str, problem: str, attempts: int) -> str:
        return failures.oauth_down(_where(url), problem, attempts)
