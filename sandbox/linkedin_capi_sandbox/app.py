"""`Sandbox`: the Python face of the local LinkedIn CAPI stand-in — start/stop, seed, faults, reads.

Everything here is also reachable over HTTP under `/_sandbox/` (admin_api.py), so a sandbox
started by the CLI in another process can be driven the same way as an in-process one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from linkedin_capi_sandbox import facts
from linkedin_capi_sandbox import responses as r
from linkedin_capi_sandbox.admin_api import AdminApi
from linkedin_capi_sandbox.auth_api import handle_cdp, handle_oauth
from linkedin_capi_sandbox.faults import FaultPlan
from linkedin_capi_sandbox.quotas import Quotas
from linkedin_capi_sandbox.rest_api import RestGateway, VersionPolicy
from linkedin_capi_sandbox.server import HttpServer, Request
from linkedin_capi_sandbox.store import (
    ACCOUNT_STATUSES,
    CAMPAIGN_STATUSES,
    Account,
    Campaign,
    CdpTokenId,
    RefreshToken,
    Store,
    check_choice,
    check_roles,
)

OAUTH_PATH = facts.OAUTH_TOKEN_PATH
CDP_TOKEN_PATH = "/cdp/v1/token"
ADMIN_PREFIX = "/_sandbox/"


class Sandbox:
    """A strict local LinkedIn Conversions API. Use `with Sandbox() as sb:` or `start()`/`stop()`."""

    def __init__(
        self,
        requests_per_minute: int | None = facts.MAX_REQUESTS_PER_MINUTE,
        requests_per_day: int | None = facts.DEFAULT_REQUESTS_PER_DAY,
        window_seconds: float = 60.0,
        day_seconds: float = 86400.0,
        sunset_versions: set[str] | None = None,
        clock: Callable[[], float] | None = None,
        rule_creation_latency: float = 0.0,
    ) -> None:
        self._clock = clock or time.time
        self._store = Store(self._clock)
        self._quotas = Quotas(
            self._clock,
            per_window=requests_per_minute,
            per_day=requests_per_day,
            window_seconds=window_seconds,
            day_seconds=day_seconds,
        )
        self.set_rule_creation_latency(rule_creation_latency)
        self._faults = FaultPlan()
        self._rest = RestGateway(self._store, self._quotas, VersionPolicy(self._clock, sunset_versions))
        self._admin = AdminApi(self)
        self._http: HttpServer | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        """Listen on host:port (0 = an ephemeral port) in a background thread."""
        if self._http is not None:
            raise RuntimeError("the sandbox is already running")
        self._http = HttpServer(self._dispatch, host, port)
        return self

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        host = f"[{self._http.host}]" if ":" in str(self._http.host) else self._http.host
        return f"http://{host}:{self._http.port}"

    def stop(self) -> None:
        """Stop serving and close every open connection; safe to call twice."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Sandbox:
        if self._http is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _dispatch(self, request: Request) -> r.Reply:
        path = request.path
        if path.startswith(ADMIN_PREFIX):
            return self._admin(request)
        fault = self._faults.pick(path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop or fault.status is not None:
                reply = r.Reply(0, drop=True) if fault.drop else r.fault(fault.status or 500, fault.retry_after)
                with self._store.lock:
                    self._store.stats.faults += 1
                self._count(path, reply)
                return reply
        if path.startswith("/rest/"):
            reply = self._rest(request)
        elif path == OAUTH_PATH:
            reply = handle_oauth(self._store, request)
        elif path == CDP_TOKEN_PATH:
            reply = handle_cdp(self._store, request)
        else:
            reply = r.not_found("No virtual resource found")
        self._count(path, reply)
        return reply

    def _count(self, path: str, reply: r.Reply) -> None:
        with self._store.lock:
            stats = self._store.stats
            stats.requests += 1
            stats.by_path[path] += 1
            if not reply.drop:
                stats.by_status[reply.status] += 1

    # -- seeding ---------------------------------------------------------------------------

    def add_account(self, account_id: int, name: str = "Test account", status: str = "ACTIVE") -> None:
        check_choice(status, ACCOUNT_STATUSES, "account status")
        with self._store.lock:
            self._store.accounts[int(account_id)] = Account(int(account_id), name, status)

    def add_token(
        self,
        token: str,
        accounts: dict[int, str],
        state: str = "valid",
        expires_at: float | None = None,
        member: str | None = None,
    ) -> None:
        """Register an access token with {account id: role}; unknown accounts are created. Tokens given the
        same `member` share one quota (LinkedIn meters per member); without one, a token is its own member."""
        self._store.add_token(token, accounts, state, expires_at, member)

    def set_token_state(self, token: str, state: str) -> None:
        check_choice(state, frozenset({"valid", "revoked", "expired"}), "token state")
        with self._store.lock:
            self._store.tokens[token].state = state

    def invalidate_tokens(self, state: str = "expired") -> int:
        """Every currently valid access token (seeded or minted) becomes `state`; returns how many.

        Simulates LinkedIn ending a session mid-sync without the test knowing which token was minted."""
        check_choice(state, frozenset({"revoked", "expired"}), "token state")
        with self._store.lock:
            valid = [token for token in self._store.tokens.values() if token.state == "valid"]
            for token in valid:
                token.state = state
            return len(valid)

    def add_rule(
        self,
        account_id: int,
        *,
        rule_id: int | None = None,
        name: str = "Rule",
        type: str = "LEAD",
        conversion_method: str = "CONVERSIONS_API",
        enabled: bool = True,
    ) -> int:
        """Create (or replace) a conversion rule; returns its id."""
        check_choice(type, facts.CONVERSION_TYPES, "conversion type")
        check_choice(conversion_method, facts.CONVERSION_METHODS, "conversion method")
        data = {"name": name, "type": type, "conversionMethod": conversion_method, "enabled": bool(enabled)}
        return self._store.add_rule(int(account_id), rule_id, data)

    def add_campaign(
        self, account_id: int, *, campaign_id: int | None = None, name: str = "Campaign", status: str = "ACTIVE"
    ) -> int:
        check_choice(status, CAMPAIGN_STATUSES, "campaign status")
        with self._store.lock:
            self._store.ensure_account(int(account_id))
            campaign_id = self._store.new_id() if campaign_id is None else int(campaign_id)
            self._store.campaigns[campaign_id] = Campaign(campaign_id, int(account_id), name, status)
        return campaign_id

    def add_campaign_conversion(self, campaign_id: int, rule_id: int) -> None:
        """Associate a campaign with a rule, as a successful campaignConversions PUT would."""
        with self._store.lock:
            self._store.campaign_conversions.setdefault((int(campaign_id), int(rule_id)), int(self._clock() * 1000))

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        with self._store.lock:
            self._store.oauth_clients[client_id] = client_secret

    def add_refresh_token(
        self,
        client_id: str,
        refresh_token: str,
        accounts: dict[int, str],
        *,
        state: str = "valid",
        access_token_ttl: int = 5_184_000,
        refresh_token_expires_at: float | None = None,
        rotate: bool = False,
    ) -> None:
        """A refresh token of `client_id`; it expires 365 days from now unless told otherwise. With `rotate`,
        every refresh answers a new refresh token (same grant and expiry) and the used one stops working."""
        check_choice(state, frozenset({"valid", "revoked", "expired"}), "refresh token state")
        expires_at = (
            self._clock() + facts.REFRESH_TOKEN_LIFETIME
            if refresh_token_expires_at is None
            else refresh_token_expires_at
        )
        grant = RefreshToken(
            client_id, check_roles(accounts), state, int(access_token_ttl), float(expires_at), bool(rotate)
        )
        with self._store.lock:
            for account_id in grant.accounts:
                self._store.ensure_account(account_id)
            self._store.refresh_tokens[refresh_token] = grant

    def add_cdp_token_id(
        self, token_id: str, accounts: dict[int, str], *, service_key: str | None = None, access_token_ttl: int = 3600
    ) -> None:
        """A token ID the CDP token service can exchange for access tokens on `accounts`."""
        token_id = str(token_id)
        if not (token_id.isascii() and token_id.isdigit()):
            raise ValueError(f"token_id must be digits, not {token_id!r}")
        grant = CdpTokenId(check_roles(accounts), service_key, int(access_token_ttl))
        with self._store.lock:
            for account_id in grant.accounts:
                self._store.ensure_account(account_id)
            self._store.cdp_token_ids[token_id] = grant

    def seed(self, data: dict[str, Any]) -> None:
        """Apply a seed document: {section: [entry, ...]}, each entry the keyword arguments of one
        `add_*` call (see docs/sandbox.md). Unknown sections or keys raise ValueError."""
        sections: dict[str, Callable[..., Any]] = {
            "accounts": self.add_account,
            "tokens": self.add_token,
            "rules": self.add_rule,
            "campaigns": self.add_campaign,
            "campaign_conversions": self.add_campaign_conversion,
            "oauth_clients": self.add_oauth_client,
            "refresh_tokens": self.add_refresh_token,
            "cdp_token_ids": self.add_cdp_token_id,
            "faults": self.add_fault,
        }
        unknown = set(data) - set(sections)
        if unknown:
            raise ValueError(f"unknown seed sections {sorted(unknown)}; expected some of {sorted(sections)}")
        for section, add in sections.items():
            for entry in data.get(section, []):
                try:
                    add(**entry)
                except TypeError as exc:
                    raise ValueError(f"bad entry in seed section {section!r}: {entry!r} ({exc})") from exc

    # -- limits and faults -----------------------------------------------------------------

    def set_limits(
        self,
        *,
        requests_per_minute: int | None = facts.MAX_REQUESTS_PER_MINUTE,
        requests_per_day: int | None = facts.DEFAULT_REQUESTS_PER_DAY,
        window_seconds: float = 60.0,
        day_seconds: float = 86400.0,
    ) -> None:
        """Change the per-token quotas at run time (None = unlimited)."""
        self._quotas.configure(
            per_window=requests_per_minute,
            per_day=requests_per_day,
            window_seconds=window_seconds,
            day_seconds=day_seconds,
        )

    def set_rule_creation_latency(self, seconds: float) -> None:
        """How long creating a conversion rule takes before it exists (0: instant)."""
        if not 0 <= float(seconds) <= 60:
            raise ValueError("rule creation latency must be between 0 and 60 seconds")
        self._store.rule_creation_latency = float(seconds)

    def set_error_indices(self, enabled: bool) -> None:
        """False: 422/400 refusals stop naming element indices, so a client has to isolate bad elements itself."""
        with self._store.lock:
            self._store.error_indices = enabled

    def add_fault(
        self,
        status: int | None = None,
        *,
        count: int = 1,
        after: int = 0,
        path_prefix: str = "/rest/",
        delay: float = 0.0,
        drop: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Fail the next `count` requests under `path_prefix` once `after` of them went through."""
        self._faults.add(
            status, count=count, after=after, path_prefix=path_prefix, delay=delay, drop=drop, retry_after=retry_after
        )

    def set_fault_rate(
        self,
        rate: float,
        *,
        statuses: tuple[int, ...] = (500, 503, 429),
        drop_share: float = 0.0,
        delay: float = 0.0,
        seed: int = 0,
        path_prefix: str = "/rest/conversionEvents",
    ) -> None:
        """Fail a random share `rate` of matching requests (reproducible through `seed`); 0 disables."""
        self._faults.set_rate(
            rate, statuses=tuple(statuses), drop_share=drop_share, delay=delay, seed=seed, path_prefix=path_prefix
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- reading what was received ---------------------------------------------------------

    def events(self, rule_id: int | None = None) -> list[dict]:
        """Accepted events in arrival order, each as received plus `_rule_id` and `_received_at`."""
        with self._store.lock:
            return [dict(e) for e in self._store.events if rule_id is None or e["_rule_id"] == rule_id]

    def event_ids(self) -> list[str]:
        with self._store.lock:
            return [e["eventId"] for e in self._store.events if "eventId" in e]

    def stats(self) -> dict:
        return self._store.stats_view()

    def rules(self, account_id: int) -> list[dict]:
        return [self._store.rule_view(rule) for rule in self._store.rules_of(account_id)]

    def campaign_conversions(self) -> set[tuple[int, int]]:
        with self._store.lock:
            return set(self._store.campaign_conversions)

    def reset_events(self) -> None:
        self._store.clear_events()

    def reset_stats(self) -> None:
        self._store.reset_stats()

    def dump_events_jsonl(self, path: str | Path) -> None:
        """Write the accepted events, one JSON object a line."""
        with open(path, "wb") as out:
            for event in self.events():
                out.write(orjson.dumps(event) + b"\n")
