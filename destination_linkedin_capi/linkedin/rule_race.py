"""Race-free rule creation when several first syncs start at once (issue: one rule per event, never two).

With a shared request budget store, find-or-create of each (account, event) rule runs under the store's lock,
whose lease ends by itself so a killed holder never blocks the others. Without one — and as a second line of
defence — syncs converge: after creating, each lists the rules again, keeps the enabled rule with our name and
type that has the lowest ID, and disables (PARTIAL_UPDATE `enabled: false`) the duplicate it created itself.
"""

from __future__ import annotations

import logging

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.budget.base import StoreUnavailable
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConnectorError
from destination_linkedin_capi.linkedin.accounts import encoded
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.rules import Resolution, create_once, list_rules, ours

#: The lock's lease: longer than listing and creating a rule take, short enough that a killed holder's lock
#: frees soon. A holder slower than this is still safe: convergence removes a duplicate.
LOCK_LEASE_SECONDS = 60.0
#: How long a sync waits for another's lock before going on without it (convergence then keeps one rule).
LOCK_WAIT_SECONDS = 90.0


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
