"""Conversion rules: which rule each event goes to; find-or-create by name; optional campaign association.

In token-ID and OAuth modes a selected event without a mapped rule gets the account's enabled `CONVERSIONS_API`
rule of its type named `"<prefix> <EVENT>"`, or a new one. Finding looks at every page of the account's rules
and creation happens only when nothing matches, so running `write` twice never creates a duplicate. Resolution
happens once per sync, never per record.

Several first syncs starting at once must still end with one rule per event. With a shared request budget
store, find-or-create of each (account, event) rule runs under the store's lock, whose lease ends by itself so
a killed holder never blocks the others. Without one, and as a second line of defence, syncs converge: after
creating, each lists the rules again, keeps the enabled rule with our name and type that has the lowest ID,
and disables (PARTIAL_UPDATE `enabled: false`) the duplicate it created itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from destination_linkedin_capi import constants as c
from destination_linkedin_capi import failures
from destination_linkedin_capi.budget.base import StoreUnavailable
from destination_linkedin_capi.config.connector import ConnectorConfig, EventConfig
from destination_linkedin_capi.errors import (
    ConfigError,
    ConnectorError,
    ForbiddenError,
    LinkedInApiError,
    RejectedRequestError,
    RetriesExhaustedError,
    TransportError,
)
from destination_linkedin_capi.linkedin.accounts import CAMPAIGN_URN_PREFIX, campaign_ids, encoded, paged, urn_id
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.mapping import reasons

CONVERSIONS_API = "CONVERSIONS_API"
# A rule's attribution settings, in LinkedIn's field names (docs/linkedin-facts.md §7).
ATTRIBUTION = "attributionType"
POST_CLICK = "postClickAttributionWindowSize"
VIEW_THROUGH = "viewThroughAttributionWindowSize"
SETTING_LABELS = {ATTRIBUTION: "attribution", POST_CLICK: "click-through window", VIEW_THROUGH: "view-through window"}
#: Tries at creating one rule; between tries the rules are listed again (with the client's usual retries).
CREATE_ATTEMPTS = 3
#: The longest click-through window every rule type accepts; 365 days only suits POST_CLICK_365_TYPES (docs/linkedin-facts.md §7).
FALLBACK_POST_CLICK_WINDOW = 90
#: The rule lock's lease: longer than listing and creating a rule take, short enough that a killed holder's lock
#: frees soon. A holder slower than this is still safe: convergence removes a duplicate.
LOCK_LEASE_SECONDS = 60.0
#: How long a sync waits for another's rule lock before going on without it (convergence then keeps one rule).
LOCK_WAIT_SECONDS = 90.0


@dataclass(frozen=True)
class Rule:
    """A conversion rule as LinkedIn lists it (docs/linkedin-facts.md §7)."""

    id: int
    name: str
    type: str | None
    conversion_method: str | None
    enabled: bool
    campaigns: frozenset[int] = field(default_factory=frozenset)
    # the attribution settings (None when LinkedIn's answer leaves one out)
    attribution_type: str | None = None
    post_click_window: int | None = None
    view_through_window: int | None = None

    @classmethod
    def from_api(cls, element: dict[str, Any]) -> Rule | None:
        """None when the element has no numeric `id` (nothing to send to)."""
        rule_id = element.get("id")
        if isinstance(rule_id, str) and rule_id.removeprefix(c.CONVERSION_URN_PREFIX).isdigit():
            rule_id = int(rule_id.removeprefix(c.CONVERSION_URN_PREFIX))
        if not isinstance(rule_id, int) or isinstance(rule_id, bool):
            return None
        campaigns = element.get("campaigns") if isinstance(element.get("campaigns"), list) else []
        return cls(
            id=rule_id,
            name=str(element.get("name") or ""),
            type=element.get("type") if isinstance(element.get("type"), str) else None,
            conversion_method=element.get("conversionMethod")
            if isinstance(element.get("conversionMethod"), str)
            else None,
            enabled=element.get("enabled", True) is not False,
            campaigns=frozenset(i for urn in campaigns if (i := urn_id(urn, CAMPAIGN_URN_PREFIX)) is not None),
            attribution_type=_text(element.get("attributionType")),
            post_click_window=_days(element.get(POST_CLICK)),
            view_through_window=_days(element.get(VIEW_THROUGH)),
        )

    def settings(self) -> dict[str, Any]:
        """The attribution settings LinkedIn gave, in its field names."""
        given = {
            ATTRIBUTION: self.attribution_type,
            POST_CLICK: self.post_click_window,
            VIEW_THROUGH: self.view_through_window,
        }
        return {name: value for name, value in given.items() if value is not None}

    @property
    def usable(self) -> bool:
        """Only enabled CONVERSIONS_API rules record streamed events (docs/linkedin-facts.md §7)."""
        return self.enabled and self.conversion_method == CONVERSIONS_API


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _days(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def rule_name(config: ConnectorConfig, event: EventConfig) -> str:
    """Our naming convention for rules we find or create: `"<prefix> <EVENT>"`."""
    return f"{config.rule_name_prefix.strip()} {event.conversion_type}"


def list_rules(client: LinkedInClient, account_urn: str) -> list[Rule]:
    """Every conversion rule of the account, across all pages."""
    query = f"q=account&account={encoded(account_urn)}"
    rules = (Rule.from_api(element) for element in paged(client, c.CONVERSIONS_PATH, query))
    return [rule for rule in rules if rule is not None]


def get_rule(client: LinkedInClient, rule_id: int, account_urn: str) -> Rule | None:
    """One rule by ID (None when LinkedIn answers 404)."""
    try:
        response = client.request("GET", f"{c.CONVERSIONS_PATH}/{rule_id}", params=f"account={encoded(account_urn)}")
    except LinkedInApiError as error:
        if error.status == 404:
            return None
        raise
    body = response.json() if response.content else None
    return Rule.from_api(body) if isinstance(body, dict) else None


@dataclass(frozen=True)
class Resolution:
    """Where one event's conversions go: a rule ID, or a rule still to create (`rule_id` None)."""

    event: EventConfig
    rule_id: int | None
    how: str  # "mapped", "reused" or "create"
    name: str | None = None

    def describe(self) -> str:
        if self.how == "mapped":
            return f"{self.event.name} → rule {' and '.join(map(str, self.event.rule_ids))} (mapped)"
        if self.how == "reused":
            return f"{self.event.name} → rule {self.rule_id} ('{self.name}')"
        return f"{self.event.name} → new rule '{self.name}'"


def ours(config: ConnectorConfig, event: EventConfig, rules: list[Rule]) -> list[Rule]:
    """The rules carrying our name and the event's type, lowest ID first (the one every sync keeps)."""
    name = rule_name(config, event).casefold()
    return sorted(
        (rule for rule in rules if rule.name.strip().casefold() == name and rule.type == event.conversion_type),
        key=lambda rule: rule.id,
    )


def plan(config: ConnectorConfig, rules: list[Rule]) -> list[Resolution]:
    """Decide, without side effects, the rule of every configured event (used by `check` and `resolve_rules`).

    A disabled rule with our name and type is taken as the user's decision to stop that event: we refuse
    rather than create a second rule of the same name behind their back.
    """
    plans = []
    for event in config.events.values():
        if event.rule_id is not None:
            plans.append(Resolution(event, event.rule_id, "mapped"))
            continue
        name = rule_name(config, event)
        named = ours(config, event, rules)
        usable = [rule for rule in named if rule.usable]
        if usable:
            plans.append(Resolution(event, usable[0].id, "reused", usable[0].name))
            continue
        disabled = [rule for rule in named if rule.conversion_method == CONVERSIONS_API]
        if disabled:
            raise ConfigError(
                f"Conversion rule {disabled[0].id} '{name}' for event {event.name} is disabled in ad account "
                f"{config.account_id}; enable it in Campaign Manager → Analyze → Conversion tracking, or remove "
                f"{event.name} from Conversion events. The connector does not create a second rule with the same name."
            )
        plans.append(Resolution(event, None, "create", name))
    return plans


def wanted_settings(config: ConnectorConfig, conversion_type: str | None) -> dict[str, Any]:
    """The attribution settings the config asks of a rule of this type (LinkedIn's field names), with the 365-day
    click-through window lowered where the type does not allow it."""
    window = config.rule_post_click_window
    if window == 365 and conversion_type not in c.POST_CLICK_365_TYPES:
        window = FALLBACK_POST_CLICK_WINDOW
    return {
        ATTRIBUTION: config.rule_attribution_type,
        POST_CLICK: window,
        VIEW_THROUGH: config.rule_view_through_window,
    }


def differences(rule: Rule, wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """LinkedIn field → (the rule's value, the wanted one) for each setting the rule has and that differs."""
    given = rule.settings()
    return {name: (given[name], value) for name, value in wanted.items() if name in given and given[name] != value}


def describe_differences(changes: dict[str, tuple[Any, Any]]) -> str:
    """`click-through window 30 → 90 days; attribution A → B`, for logs and `check`."""
    phrases = []
    for name, (old, new) in changes.items():
        unit = " days" if name != ATTRIBUTION else ""
        phrases.append(f"{SETTING_LABELS[name]} {old}{unit} → {new}{unit}")
    return "; ".join(phrases)


def follow_config(
    client: LinkedInClient, config: ConnectorConfig, rule: Rule, logger: logging.Logger
) -> dict[str, tuple[Any, Any]]:
    """A rule the connector created (our name and type) takes the configured attribution settings: one
    PARTIAL_UPDATE of the settings that differ, logged once. Rules the connector did not create never come here."""
    changes = differences(rule, wanted_settings(config, rule.type))
    if not changes:
        return changes
    try:
        client.request(
            "POST",
            f"{c.CONVERSIONS_PATH}/{rule.id}",
            params=f"account={encoded(config.account_urn)}",
            json={"patch": {"$set": {name: new for name, (_, new) in changes.items()}}},
            restli_method="PARTIAL_UPDATE",
        )
    except (ForbiddenError, RejectedRequestError) as error:
        doing = f"update conversion rule {rule.id} '{rule.name}' to the configured settings"
        raise _refused(config, doing, error, "correct the rule settings (Advanced)") from error
    logger.info(
        "Conversion rule %d '%s' follows the config now: %s.", rule.id, rule.name, describe_differences(changes)
    )
    return changes


def post_click_window(config: ConnectorConfig, conversion_type: str, logger: logging.Logger) -> int:
    """The configured click-through window, or 90 days where LinkedIn allows 365 only for other types."""
    window = config.rule_post_click_window
    if window == 365 and conversion_type not in c.POST_CLICK_365_TYPES:
        logger.warning(
            "A 365-day click-through window is not allowed for %s rules; creating it with %d days.",
            conversion_type,
            FALLBACK_POST_CLICK_WINDOW,
        )
        return FALLBACK_POST_CLICK_WINDOW
    return window


def _refused(
    config: ConnectorConfig, doing: str, error: ForbiddenError | RejectedRequestError, advice: str
) -> ConfigError:
    """LinkedIn refused a rule write: a 403 says what the token lacks, any other refusal quotes LinkedIn's reason."""
    if isinstance(error, ForbiddenError):
        return ConfigError(failures.forbidden(config, doing, error))
    return ConfigError(f"LinkedIn refused to {doing} (HTTP {error.status}: {error.message}); {advice}.")


def create_rule(client: LinkedInClient, config: ConnectorConfig, resolution: Resolution, logger: logging.Logger) -> int:
    """POST a new CONVERSIONS_API rule, once: a blind retry after a lost answer could create a duplicate. Its ID
    comes from the body or the `x-restli-id` header (docs/linkedin-facts.md §1)."""
    event = resolution.event
    assert event.conversion_type is not None and resolution.name is not None
    payload = {
        "name": resolution.name,
        "account": config.account_urn,
        "conversionMethod": CONVERSIONS_API,
        "type": event.conversion_type,
        "enabled": True,
        "attributionType": config.rule_attribution_type,
        "postClickAttributionWindowSize": post_click_window(config, event.conversion_type, logger),
        "viewThroughAttributionWindowSize": config.rule_view_through_window,
    }
    try:
        response = client.request("POST", c.CONVERSIONS_PATH, json=payload, once=True)
    except (ForbiddenError, RejectedRequestError) as error:
        doing = f"create conversion rule '{resolution.name}' for event {event.name} in ad account {config.account_id}"
        advice = f"map {event.name} to an existing rule in Conversion mapping, or correct the rule settings (Advanced)"
        raise _refused(config, doing, error, advice) from error
    body = response.json() if response.content else None
    created = Rule.from_api(body) if isinstance(body, dict) else None
    header = response.headers.get("x-restli-id", "").removeprefix(c.CONVERSION_URN_PREFIX)
    if created is None and not header.isdigit():
        raise TransportError(
            f"LinkedIn created conversion rule '{resolution.name}' but did not say its ID; the next sync will find it."
        )
    return created.id if created is not None else int(header)


def create_once(client: LinkedInClient, config: ConnectorConfig, resolution: Resolution, logger: logging.Logger) -> int:
    """Create the rule without ever creating it twice: each POST is sent once, and after a failure without a clear
    refusal (429/5xx/no answer) the rules are listed again, because the POST may have landed."""
    attempt = 1
    while True:
        try:
            return create_rule(client, config, resolution, logger)
        except (RetriesExhaustedError, TransportError):
            if attempt == CREATE_ATTEMPTS:
                raise
        again = next(r for r in plan(config, list_rules(client, config.account_urn)) if r.event == resolution.event)
        if again.rule_id is not None:
            return again.rule_id
        logger.warning("Creating conversion rule '%s' failed (attempt %d); trying again.", resolution.name, attempt)
        attempt += 1


def disable_rule(client: LinkedInClient, config: ConnectorConfig, rule_id: int) -> None:
    client.request(
        "POST",
        f"{c.CONVERSIONS_PATH}/{rule_id}",
        params=f"account={encoded(config.account_urn)}",
        json={"patch": {"$set": {"enabled": False}}},
        restli_method="PARTIAL_UPDATE",
    )


def converge(
    client: LinkedInClient, config: ConnectorConfig, resolution: Resolution, created: int, logger: logging.Logger
) -> tuple[int, frozenset[int]]:
    """After creating rule `created`: the rule every sync keeps (lowest enabled ID) and its campaigns."""
    usable = [rule for rule in ours(config, resolution.event, list_rules(client, config.account_urn)) if rule.usable]
    if not usable or usable[0].id == created:
        return created, usable[0].campaigns if usable else frozenset()
    kept = usable[0]
    try:
        disable_rule(client, config, created)
    except ConnectorError as error:
        logger.warning(
            "Another sync created conversion rule %d '%s' at the same time as this one created rule %d; this sync "
            "uses rule %d, but could not disable its duplicate %d (%s): disable it in Campaign Manager.",
            kept.id, resolution.name, created, kept.id, created, error,
        )  # fmt: skip
        return kept.id, kept.campaigns
    logger.warning(
        "Another sync created conversion rule %d '%s' at the same time as this one created rule %d; every sync "
        "uses rule %d (the lowest ID), and this sync disabled its own duplicate %d.",
        kept.id, resolution.name, created, kept.id, created,
    )  # fmt: skip
    return kept.id, kept.campaigns


def find_or_create(
    client: LinkedInClient, config: ConnectorConfig, resolution: Resolution, logger: logging.Logger
) -> tuple[int, bool, frozenset[int]]:
    """(rule ID, whether this sync created it, its campaigns) for an event `plan` found no rule for."""
    store = client.budget.store if client.budget is not None else None
    event = resolution.event
    if store is not None and store.shared:
        name = f"rule:{config.account_id}:{event.conversion_type}:{(resolution.name or '').casefold()}"
        try:
            with store.lock(name, LOCK_LEASE_SECONDS, LOCK_WAIT_SECONDS) as held:
                if not held:
                    logger.warning(
                        "Waited %.0f s for another sync's rule lock %s; going on without it.", LOCK_WAIT_SECONDS, name
                    )
                usable = [rule for rule in ours(config, event, list_rules(client, config.account_urn)) if rule.usable]
                if usable:  # another sync created it while this one waited for the lock
                    return usable[0].id, False, usable[0].campaigns
                created = create_once(client, config, resolution, logger)
                kept, campaigns = converge(client, config, resolution, created, logger)
                return kept, kept == created, campaigns
        except StoreUnavailable as problem:
            logger.warning("The rule lock could not be taken (%s); creating the rule without it.", problem)
    created = create_once(client, config, resolution, logger)
    kept, campaigns = converge(client, config, resolution, created, logger)
    return kept, kept == created, campaigns


def associate_campaigns(
    client: LinkedInClient, config: ConnectorConfig, rule: int, wanted: set[int], present: frozenset[int]
) -> int:
    """Add-only: link each wanted campaign not yet linked to the rule (PUT is idempotent). Returns how many."""
    conversion = f"{c.CONVERSION_URN_PREFIX}{rule}"
    added = 0
    for campaign_id in sorted(wanted - present):
        campaign = f"{CAMPAIGN_URN_PREFIX}{campaign_id}"
        key = f"(campaign:{encoded(campaign)},conversion:{encoded(conversion)})"
        try:
            client.request(
                "PUT", f"{c.CAMPAIGN_CONVERSIONS_PATH}/{key}", json={"campaign": campaign, "conversion": conversion}
            )
        except (ForbiddenError, RejectedRequestError) as error:
            raise ConfigError(
                f"LinkedIn refused to associate campaign {campaign_id} with conversion rule {rule} "
                f"(HTTP {error.status}: {error.message}); check that the campaign belongs to ad account "
                f"{config.account_id} (Campaign IDs)."
            ) from error
        except LinkedInApiError as error:
            if error.status != 404:
                raise
            raise ConfigError(
                f"Campaign {campaign_id} was not found in ad account {config.account_id}; correct Campaign IDs."
            ) from error
        added += 1
    return added


def wanted_campaigns(client: LinkedInClient, config: ConnectorConfig) -> set[int]:
    """The campaigns our rules should be linked to, per `campaign_association`."""
    if config.campaign_association == "all_active":
        return campaign_ids(client, config.account_id, "ACTIVE")
    if config.campaign_association == "listed":
        return {int(campaign.strip()) for campaign in config.campaign_ids}
    return set()


def resolve_rules(
    config: ConnectorConfig, client: LinkedInClient, logger: logging.Logger, listed: list[Rule] | None = None
) -> dict[str, int]:
    """Casefolded event key → rule ID for every configured event; called once at the start of `write`, after the
    preflight has verified the mapped rules and `listed` the account's rules (otherwise they are listed here).

    Access-token mode returns the mapping as is (that token cannot manage rules).
    Otherwise unmapped events get a reused or newly created rule, then the optional campaign association.
    Raises ConfigError with one sentence when a rule cannot be had; LinkedIn/transport errors propagate typed.
    """
    if not config.can_manage_rules:
        resolved = {key: event.rule_id for key, event in config.events.items() if event.rule_id is not None}
        logger.info(
            "Conversion rules: %s.",
            ", ".join(f"{e.name} → rule {' and '.join(map(str, e.rule_ids))}" for e in config.events.values()),
        )
        return resolved
    try:
        rules = listed if listed is not None else list_rules(client, config.account_urn)
    except ForbiddenError as error:
        raise ConfigError(
            failures.forbidden(config, f"list the conversion rules of ad account {config.account_id}", error)
        ) from error
    by_id = {rule.id: rule for rule in rules}
    resolved: dict[str, int] = {}
    lines = []
    managed: dict[int, frozenset[int]] = {}
    for resolution in plan(config, rules):
        key = resolution.event.name.casefold()
        if resolution.how == "create":
            rule_id, created, campaigns = find_or_create(client, config, resolution, logger)
            lines.append(
                f"{resolution.event.name} → rule {rule_id} ({'created' if created else 'reused'} '{resolution.name}')"
            )
            managed[rule_id] = campaigns
        else:
            assert resolution.rule_id is not None
            rule_id = resolution.rule_id
            lines.append(resolution.describe())
            if resolution.how == "reused":
                managed[rule_id] = by_id[rule_id].campaigns
                follow_config(client, config, by_id[rule_id], logger)
        resolved[key] = rule_id
    wanted = wanted_campaigns(client, config) if managed else set()
    if wanted:
        added = sum(associate_campaigns(client, config, rule, wanted, present) for rule, present in managed.items())
        lines.append(f"campaign links added: {added} ({len(wanted)} campaigns × {len(managed)} rules wanted)")
    logger.info("Conversion rules: %s.", "; ".join(lines))
    return resolved


class AccountRules:
    """Which conversion rules rows may name (field conversion_rule_id): the account's enabled CONVERSIONS_API rules.
    The account's rules are listed once, when a row first names a rule, and each ID's verdict is kept for the sync."""

    def __init__(self, client: LinkedInClient, config: ConnectorConfig, listed: dict[int, Rule] | None = None) -> None:
        """`listed`: the account's rules by ID when the sync's start listed them already (linkedin/preflight.py)."""
        self._client = client
        self._config = config
        self._rules: dict[int, Rule] | None = listed
        self._verdicts: dict[int, str | None] = {}

    def refusal(self, rule_id: int) -> str | None:
        """None when rows may go to `rule_id`, else the sentence saying why not."""
        if rule_id in self._verdicts:
            return self._verdicts[rule_id]
        if self._rules is None:
            try:
                self._rules = {rule.id: rule for rule in list_rules(self._client, self._config.account_urn)}
            except ForbiddenError as error:
                doing = f"list the conversion rules of ad account {self._config.account_id}"
                raise ConfigError(failures.forbidden(self._config, doing, error)) from error
        rule = self._rules.get(rule_id)
        why = None
        if rule is None:
            why = "is not a rule of this ad account (it does not exist, or belongs to another account)"
        elif rule.conversion_method != CONVERSIONS_API:
            method = rule.conversion_method or "non-Conversions-API"
            why = f"is {'an' if method[:1] in 'AEIOU' else 'a'} {method} rule, not a Conversions API rule"
        elif not rule.enabled:
            why = "is disabled"
        verdict = None if why is None else reasons.unknown_conversion_rule(rule_id, self._config.account_id, why)
        self._verdicts[rule_id] = verdict
        return verdict
