"""The preflight, run by `check` and at the start of every sync that sends: the token reaches the ad account with
a role that may send conversions, and every rule the sync sends to is in that account, enabled and a Conversions
API rule.

Airbyte does not run `check` before a sync, and events sent to a disabled rule, or to another account's, are
lost without a word; so the sync stops with a configuration error before sending anything. One listing of the
account's rules serves every rule (`account_rules`); the sentences are in failures.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from destination_linkedin_capi import constants as c
from destination_linkedin_capi import failures
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, ForbiddenError, LinkedInApiError
from destination_linkedin_capi.linkedin.accounts import WRITER_ROLES, account_roles
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.rules import CONVERSIONS_API, Rule, get_rule, list_rules

#: How many other reachable ad accounts to search for a mapped rule that is not in the configured one.
MAX_OTHER_ACCOUNTS = 20


@dataclass(frozen=True)
class Preflight:
    """What the preflight found: the member's role on every reachable account, the account's rules by ID."""

    roles: dict[int, str]
    rules: dict[int, Rule]


@contextlib.contextmanager
def asking(config: ConnectorConfig, doing: str) -> Iterator[None]:
    """A LinkedIn call of the preflight: LinkedIn's refusal becomes a ConfigError saying what was being done (the
    user must look at the token, the account or the rule); no answer, or answers that kept failing, propagate
    as they are, for Airbyte to retry the sync."""
    try:
        yield
    except LinkedInApiError as error:
        raise ConfigError(failures.sentence(error, config, doing)) from error


def checked_roles(config: ConnectorConfig, client: LinkedInClient) -> dict[int, str]:
    """Every reachable account's role; ConfigError unless `account_id` is one, with a role that may send."""
    with asking(config, "list the ad accounts this token can reach"):
        roles = account_roles(client)
    role = roles.get(config.account_id)
    if role is None:
        raise ConfigError(failures.account_not_reachable(config.account_id, len(roles)))
    if role not in WRITER_ROLES:
        raise ConfigError(failures.role_cannot_send(role, config.account_id))
    return roles


def account_rules(config: ConnectorConfig, client: LinkedInClient) -> dict[int, Rule]:
    """The ad account's conversion rules by ID, from one listing: the rules any of a sync's rule IDs is checked
    against."""
    with asking(config, f"list the conversion rules of ad account {config.account_id}"):
        return {rule.id: rule for rule in list_rules(client, config.account_urn)}


def rule_problem(config: ConnectorConfig, where: str, rule: Rule | None) -> str | None:
    """Why the rule `where` names ("Event LEAD: conversion rule 21"; None: not in the account's listing) cannot
    record streamed events, or None when it can."""
    if rule is None:
        return failures.rule_missing(where, config.account_id)
    if rule.conversion_method != CONVERSIONS_API:
        return failures.rule_not_conversions_api(where, rule.name, rule.conversion_method)
    if not rule.enabled:
        return failures.rule_disabled(where, rule.name)
    return None


def owner_elsewhere(
    config: ConnectorConfig, client: LinkedInClient, rule_id: int, roles: Mapping[int, str]
) -> int | None:
    """Which other reachable ad account holds the rule (LinkedIn only shows a rule with its account's URN)."""
    others = sorted(account for account in roles if account != config.account_id)
    with asking(config, f"look up conversion rule {rule_id}"):
        for account in others[:MAX_OTHER_ACCOUNTS]:
            try:
                if get_rule(client, rule_id, f"{c.SPONSORED_ACCOUNT_URN_PREFIX}{account}") is not None:
                    return account
            except ForbiddenError:
                continue
    return None


def check_mapped_rules(config: ConnectorConfig, client: LinkedInClient, found: Preflight) -> None:
    """Every mapped rule is in this account, a CONVERSIONS_API rule, enabled; ConfigError naming the first event
    whose rule is not. A rule missing here is looked for in the other reachable accounts, to say where it is."""
    for event, rule_id in [(e, rule_id) for e in config.events.values() for rule_id in e.rule_ids]:
        where = f"Event {event.name}: conversion rule {rule_id}"
        rule = found.rules.get(rule_id)
        if rule is None:
            owner = owner_elsewhere(config, client, rule_id, found.roles)
            if owner is not None:
                raise ConfigError(failures.rule_elsewhere(where, owner, config.account_id))
        problem = rule_problem(config, where, rule)
        if problem is not None:
            raise ConfigError(problem)


def preflight(config: ConnectorConfig, client: LinkedInClient) -> Preflight:
    """The account is reachable with a role that may send, and every mapped rule can record streamed events (rules
    found or created by name are checked when they are chosen: `rules.plan`). Raises ConfigError with the first
    problem's sentence; no answer from LinkedIn propagates typed. Listing the rules once, it returns them."""
    found = Preflight(checked_roles(config, client), account_rules(config, client))
    check_mapped_rules(config, client, found)
    return found
