"""The sandbox's world: ad accounts, tokens, rules, campaigns, credentials, received events, counters.

One lock guards it all; every method is short, so contention stays low even at hundreds of
requests per second. Validation happens outside the lock, only the final write takes it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from linkedin_capi_sandbox import facts

TOKEN_STATES = frozenset({"valid", "revoked", "expired"})
ACCOUNT_STATUSES = frozenset({"ACTIVE", "CANCELED", "DRAFT", "PENDING_DELETION", "REMOVED"})
CAMPAIGN_STATUSES = frozenset(
    {"ACTIVE", "PAUSED", "ARCHIVED", "COMPLETED", "CANCELED", "DRAFT", "PENDING_DELETION", "REMOVED"}
)


@dataclass
class Account:
    id: int
    name: str
    status: str


@dataclass
class Token:
    token: str
    accounts: dict[int, str]
    state: str = "valid"
    expires_at: float | None = None
    #: Whose quota the token spends: LinkedIn meters per member, across all of the member's tokens.
    member: str | None = None

    @property
    def quota_key(self) -> str:
        return self.member or self.token


@dataclass
class Rule:
    """A conversion rule, stored in LinkedIn's own field names."""

    id: int
    account_id: int
    data: dict[str, Any]

    @property
    def enabled(self) -> bool:
        return bool(self.data["enabled"])

    @property
    def conversion_method(self) -> str:
        return str(self.data["conversionMethod"])


@dataclass
class Campaign:
    id: int
    account_id: int
    name: str
    status: str


@dataclass
class RefreshToken:
    client_id: str
    accounts: dict[int, str]
    state: str
    access_token_ttl: int
    expires_at: float
    rotate: bool = False  # each refresh answers a new refresh token and revokes this one
    member: str | None = None  # the member of a rotated token's first grant (one quota across successors)


@dataclass
class CdpTokenId:
    accounts: dict[int, str]
    service_key: str | None
    access_token_ttl: int


@dataclass
class Stats:
    requests: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_path: Counter = field(default_factory=Counter)
    batch_sizes: list[int] = field(default_factory=list)
    throttled: int = 0
    faults: int = 0
    not_recorded: int = 0
    #: Per rule: events received with an eventId the rule had already accepted (LinkedIn would count them again).
    duplicates_received: Counter = field(default_factory=Counter)


def check_roles(accounts: dict[int, str]) -> dict[int, str]:
    """Validate an {account id: role} map; keys may arrive as digit strings from JSON."""
    checked = {}
    for account_id, role in accounts.items():
        if role not in facts.ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {sorted(facts.ROLES)}")
        checked[int(account_id)] = role
    return checked


def check_choice(value: str, allowed: frozenset[str] | tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {sorted(allowed)}")
    return value


class Store:
    """Thread-safe state shared by the request handlers and the Python API."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.accounts: dict[int, Account] = {}
        self.tokens: dict[str, Token] = {}
        self.rules: dict[int, Rule] = {}
        self.campaigns: dict[int, Campaign] = {}
        self.campaign_conversions: dict[tuple[int, int], int] = {}  # (campaign, rule) → associatedAt ms
        self.oauth_clients: dict[str, str] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.cdp_token_ids: dict[str, CdpTokenId] = {}
        self.events: list[dict[str, Any]] = []
        #: Per rule, the eventIds of its stored events: what makes a later copy a duplicate (no more than `events`).
        self.event_ids_by_rule: dict[int, set[str]] = {}
        #: Seconds a rule creation takes before the rule exists (a real API takes a while: the race of
        #: parallel first syncs is reproducible only when it is not instant).
        self.rule_creation_latency = 0.0
        # False: refusal messages name no element index (as some LinkedIn errors do), so clients must bisect.
        self.error_indices = True
        self.stats = Stats()
        self._next_id = 100_000_000

    def new_id(self) -> int:
        """A fresh id for a rule or campaign, never colliding with seeded ones."""
        with self.lock:
            while self._next_id in self.rules or self._next_id in self.campaigns:
                self._next_id += 1
            self._next_id += 1
            return self._next_id - 1

    def ensure_account(self, account_id: int) -> None:
        """Accounts named by a token, rule or campaign exist implicitly (a default name and ACTIVE)."""
        with self.lock:
            if account_id not in self.accounts:
                self.accounts[account_id] = Account(account_id, "Test account", "ACTIVE")

    def add_token(
        self, token: str, accounts: dict[int, str], state: str, expires_at: float | None, member: str | None = None
    ) -> None:
        check_choice(state, TOKEN_STATES, "token state")
        roles = check_roles(accounts)
        with self.lock:
            for account_id in roles:
                self.ensure_account(account_id)
            self.tokens[token] = Token(token, roles, state, expires_at, member)

    def add_rule(self, account_id: int, rule_id: int | None, data: dict[str, Any]) -> int:
        now_ms = int(self.clock() * 1000)
        with self.lock:
            self.ensure_account(account_id)
            rule_id = self.new_id() if rule_id is None else int(rule_id)
            body = {
                "id": rule_id,
                "name": data["name"],
                "account": f"{facts.SPONSORED_ACCOUNT_URN_PREFIX}{account_id}",
                "conversionMethod": data["conversionMethod"],
                "type": data["type"],
                "enabled": data.get("enabled", True),
                "attributionType": data.get("attributionType", "LAST_TOUCH_BY_CAMPAIGN"),
                "postClickAttributionWindowSize": data.get(
                    "postClickAttributionWindowSize", facts.DEFAULT_POST_CLICK_WINDOW
                ),
                "viewThroughAttributionWindowSize": data.get(
                    "viewThroughAttributionWindowSize", facts.DEFAULT_VIEW_THROUGH_WINDOW
                ),
                "campaigns": [],
                "associatedCampaigns": [],
                "urlRules": [],
                "created": now_ms,
                "lastModified": now_ms,
            }
            self.rules[rule_id] = Rule(rule_id, account_id, body)
            return rule_id

    def rules_of(self, account_id: int) -> list[Rule]:
        """The account's rules by id, as LinkedIn lists them."""
        with self.lock:
            return sorted(
                (rule for rule in self.rules.values() if rule.account_id == account_id), key=lambda rule: rule.id
            )

    def rule_view(self, rule: Rule) -> dict[str, Any]:
        """The rule as LinkedIn shows it, with its campaign associations filled in."""
        with self.lock:
            pairs = sorted((cid, at) for (cid, rid), at in self.campaign_conversions.items() if rid == rule.id)
            view = dict(rule.data)
        view["campaigns"] = [f"urn:li:sponsoredCampaign:{cid}" for cid, _ in pairs]
        view["associatedCampaigns"] = [
            {
                "campaign": f"urn:li:sponsoredCampaign:{cid}",
                "conversion": f"{facts.CONVERSION_URN_PREFIX}{rule.id}",
                "associatedAt": at,
            }
            for cid, at in pairs
        ]
        return view

    def record_events(self, elements: list[dict[str, Any]], rules: list[Rule], batch: bool) -> None:
        """Store accepted elements; events on disabled rules are answered 201 but not recorded. An event whose eventId
        its rule already holds is stored too (LinkedIn would count it again) and counted in `duplicates_received`."""
        received_at = self.clock()
        with self.lock:
            for element, rule in zip(elements, rules, strict=True):
                if not rule.enabled:
                    self.stats.not_recorded += 1
                    continue
                self.events.append({**element, "_rule_id": rule.id, "_received_at": received_at})
                if "eventId" in element:
                    seen = self.event_ids_by_rule.setdefault(rule.id, set())
                    if element["eventId"] in seen:
                        self.stats.duplicates_received[rule.id] += 1
                    else:
                        seen.add(element["eventId"])
            if batch:
                self.stats.batch_sizes.append(len(elements))

    def clear_events(self) -> None:
        """Forget every stored event, and with them the eventIds a later copy would duplicate."""
        with self.lock:
            self.events.clear()
            self.event_ids_by_rule.clear()

    def reset_stats(self) -> None:
        with self.lock:
            self.stats = Stats()

    def stats_view(self) -> dict[str, Any]:
        with self.lock:
            s = self.stats
            return {
                "requests": s.requests,
                "by_status": dict(s.by_status),
                "by_path": dict(s.by_path),
                "batch_sizes": list(s.batch_sizes),
                "throttled": s.throttled,
                "faults": s.faults,
                "not_recorded": s.not_recorded,
                "duplicates_received": sum(s.duplicates_received.values()),
                "duplicates_by_rule": dict(s.duplicates_received),
            }
