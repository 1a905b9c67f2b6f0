"""The `/rest/` gateway: token (401), quota (429), `LinkedIn-Version` (400/426), then the resource.

Order: LinkedIn's order between the token and the version check is not documented; the token
comes first here, and a request is counted against its token's quota once the token is known good.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from linkedin_capi_sandbox import facts
from linkedin_capi_sandbox import responses as r
from linkedin_capi_sandbox.accounts_api import handle_ad_account_users, handle_ad_accounts
from linkedin_capi_sandbox.events_api import handle as handle_events
from linkedin_capi_sandbox.quotas import Quotas
from linkedin_capi_sandbox.rest_call import Call
from linkedin_capi_sandbox.rules_api import handle_campaign_conversions, handle_rules
from linkedin_capi_sandbox.server import Request
from linkedin_capi_sandbox.store import Store, Token

# No 202512 release appears in LinkedIn's listings.
NEVER_RELEASED = frozenset({"202512"})
OLDEST_LISTED = min(facts.VERSION_SUNSET_DATES)


class VersionPolicy:
    """Which `LinkedIn-Version` values answer 426 `NONEXISTENT_VERSION`.

    A version is inactive when it is sunset (by default: its sunset date in `constants` has come,
    or it is older than the oldest listed version; an explicit set replaces that), when it was
    never released (an impossible month, 202512), or when it lies after the clock's month.
    """

    def __init__(self, clock: Callable[[], float], sunset_versions: set[str] | None) -> None:
        self._clock = clock
        self.sunset_versions = None if sunset_versions is None else frozenset(sunset_versions)

    def is_active(self, version: str) -> bool:
        today = dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc).date()
        if not 1 <= int(version[4:]) <= 12 or version in NEVER_RELEASED or version > today.strftime("%Y%m"):
            return False
        if self.sunset_versions is not None:
            return version not in self.sunset_versions
        sunset = facts.VERSION_SUNSET_DATES.get(version)
        return version >= OLDEST_LISTED and (sunset is None or sunset > today)


class RestGateway:
    """Authenticate, meter and version-check one `/rest/` request, then hand it to its resource."""

    def __init__(self, store: Store, quotas: Quotas, versions: VersionPolicy) -> None:
        self.store = store
        self.quotas = quotas
        self.versions = versions

    def __call__(self, request: Request) -> r.Reply:
        token = self._authenticate(request)
        if isinstance(token, r.Reply):
            return token
        if not self.quotas.admit(token.quota_key):
            with self.store.lock:
                self.store.stats.throttled += 1
            return r.throttled()
        version = request.header("LinkedIn-Version")
        if version is None:
            return r.version_missing()
        version = version.strip()
        if not (len(version) == 6 and version.isascii() and version.isdigit()):
            return r.version_invalid(version)
        if not self.versions.is_active(version):
            return r.version_not_active(version)
        return self._route(Call(request, token, version))

    def _authenticate(self, request: Request) -> Token | r.Reply:
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return r.missing_token()
        token = self.store.tokens.get(value)
        if token is None:
            return r.invalid_token()
        if token.state == "revoked":
            return r.revoked_token()
        if token.state == "expired" or (token.expires_at is not None and self.store.clock() >= token.expires_at):
            return r.expired_token()
        return token

    def _route(self, call: Call) -> r.Reply:
        segments = call.request.path.split("/")[2:]  # "", "rest", resource, ...
        resource, keys = segments[0], segments[1:]
        if resource == "conversionEvents" and keys in ([], [""]):
            return handle_events(self.store, call)
        if resource == "conversions" and len(keys) <= 1:
            return handle_rules(self.store, call, keys[0] if keys else None)
        if resource == "campaignConversions" and len(keys) <= 1:
            return handle_campaign_conversions(self.store, call, keys[0] if keys else None)
        if resource == "adAccounts":
            return handle_ad_accounts(self.store, call, keys)
        if resource == "adAccountUsers" and not keys:
            return handle_ad_account_users(self.store, call)
        return r.not_found("No virtual resource found")
