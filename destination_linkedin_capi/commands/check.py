"""`check`: find the problem a sync would hit, in the order a user fixes them, and say it in one sentence.

Steps, stopping at the first failure: (1) the config parses, and a shared request budget store answers
(its use by every sync of the member is reported); (2) a token can be obtained; (3) the token
reaches the ad account with a role that may write conversions; (4) every mapped rule is in that account,
enabled and a CONVERSIONS_API rule; (5) in token-ID/OAuth modes every other event has a rule or one can be
created, and listed campaigns exist. Steps 3 and 4 are the preflight every sync runs before it sends
(linkedin/preflight.py), with the same sentences. Nothing is created or changed; a dry run is checked the
same way (its sync sends nothing, but the credentials must work when it is turned off). The API-version sunset and
refresh-token expiry warnings are logged and appended to the status message, which is all the UI shows.
`check` never raises, and its FAILED text (which the CDK does not filter) never holds a secret: sentences are built from codes and IDs only,
then passed through the secret filter as a second line of defence.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from airbyte_cdk.models import AirbyteConnectionStatus, Status
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

from destination_linkedin_capi import failures
from destination_linkedin_capi.airbyte.config_updates import ConfigUpdates
from destination_linkedin_capi.budget.base import StoreUnavailable, Usage
from destination_linkedin_capi.budget.setup import make_budget
from destination_linkedin_capi.budget.sqlite_store import check_can_create
from destination_linkedin_capi.config.budget_store import SqliteBudget
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, ConnectorError
from destination_linkedin_capi.failures import version_warning
from destination_linkedin_capi.ledger.base import LedgerUnavailable
from destination_linkedin_capi.ledger.setup import make_ledger
from destination_linkedin_capi.linkedin.accounts import campaign_ids
from destination_linkedin_capi.linkedin.auth import TokenProvider
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.connect import COMMAND_RETRY_SECONDS, connect
from destination_linkedin_capi.linkedin.preflight import Preflight, preflight
from destination_linkedin_capi.linkedin.rules import (
    ATTRIBUTION,
    POST_CLICK,
    VIEW_THROUGH,
    Rule,
    describe_differences,
    differences,
    plan,
    wanted_settings,
)
from destination_linkedin_capi.rejected.store import probe

#: `check` gives up on an unresponsive LinkedIn or token service after this long, not the sync's limit.
CHECK_RETRY_SECONDS = COMMAND_RETRY_SECONDS
REFRESH_TOKEN_WARNING_DAYS = 30
DRY_RUN_NOTE = " Dry run: the credentials were checked; a sync maps and previews events but sends none to LinkedIn."


class CheckFailed(Exception):
    """One step found a problem; `str()` is the sentence for the user."""


def refresh_token_warning(config: ConnectorConfig, tokens: TokenProvider, now: float) -> str | None:
    """A sentence when the grant behind the tokens ends within 30 days (refresh tokens last 365 days)."""
    expires_at = tokens.refresh_token_expires_at
    if expires_at is None:
        return None
    days = (expires_at - now) / 86400
    if days > REFRESH_TOKEN_WARNING_DAYS:
        return None
    date = dt.datetime.fromtimestamp(expires_at, tz=dt.timezone.utc).date()
    if config.auth_type == "oauth2":
        return (
            f"The OAuth refresh token expires on {date} (in {max(days, 0):.0f} days) and cannot be extended; "
            "re-authorise the app before then and paste the new refresh token (refresh tokens last 365 days)."
        )
    return (
        f"The LinkedIn authorisation your CDP holds for this token ID expires on {date} (in {max(days, 0):.0f} "
        "days); re-authorise LinkedIn in your CDP before then."
    )


def _obtain_token(tokens: TokenProvider) -> None:
    try:
        tokens.token()
    except ConnectorError as error:
        raise CheckFailed(str(error)) from None


def _preflight(config: ConnectorConfig, client: LinkedInClient) -> Preflight:
    """Steps 3 and 4, as every sync runs them before sending (linkedin/preflight.py)."""
    try:
        return preflight(config, client)
    except ConnectorError as error:  # LinkedIn's refusals are ConfigErrors with their sentence already
        raise CheckFailed(str(error)) from None


def _check_campaigns(config: ConnectorConfig, client: LinkedInClient) -> str:
    """Listed campaigns must exist in the account; returns a phrase for the success message."""
    doing = f"list the campaigns of ad account {config.account_id}"
    try:
        if config.campaign_association == "listed":
            listed = {int(campaign.strip()) for campaign in config.campaign_ids}
            missing = sorted(listed - campaign_ids(client, config.account_id))
            if missing:
                raise CheckFailed(
                    f"Campaign IDs: campaign {', '.join(map(str, missing))} not found in ad account "
                    f"{config.account_id}; correct Campaign IDs."
                )
            return f" Rules will be linked to {len(listed)} listed campaigns."
        if config.campaign_association == "all_active":
            active = campaign_ids(client, config.account_id, "ACTIVE")
            return f" Rules will be linked to the account's {len(active)} active campaigns."
    except ConnectorError as error:
        raise CheckFailed(failures.sentence(error, config, doing)) from None
    return ""


def _check_rules_can_be_had(config: ConnectorConfig, tokens: TokenProvider, rules: list[Rule]) -> list[str]:
    """Token-ID/OAuth: each unmapped event reuses our rule or can create one. Returns event → rule phrases."""
    try:
        plans = plan(config, rules)
    except ConfigError as error:
        raise CheckFailed(str(error)) from None
    to_create = [resolution.event.name for resolution in plans if resolution.how == "create"]
    if to_create and tokens.scopes is not None and "rw_conversions" not in tokens.scopes:
        raise CheckFailed(
            f"{', '.join(to_create)} {'has' if len(to_create) == 1 else 'have'} no conversion rule in ad account "
            f"{config.account_id}, and the token cannot create one (it lacks the rw_conversions permission); "
            "grant rw_conversions, or map those events to existing rules in Conversion mapping."
        )
    return [
        resolution.describe() + (", created at the first sync" if resolution.how == "create" else "")
        for resolution in plans
    ]


#: The config field of each rule setting (the mapped rules are compared on the ones the config sets).
_SETTING_FIELDS = {
    ATTRIBUTION: "rule_attribution_type",
    POST_CLICK: "rule_post_click_window",
    VIEW_THROUGH: "rule_view_through_window",
}


def _settings_warnings(config: ConnectorConfig, rules: list[Rule]) -> list[str]:
    """Rules whose attribution settings differ from the config: the connector's own (the next sync updates them) and
    the mapped ones, compared on the settings the config sets (never changed: the user made them)."""
    by_id = {rule.id: rule for rule in rules}
    warnings = []
    for event in config.events.values():
        for rule in (by_id[rule_id] for rule_id in event.rule_ids if rule_id in by_id):
            wanted = wanted_settings(config, rule.type)
            set_here = {
                name: wanted[name] for name, field in _SETTING_FIELDS.items() if field in config.raw.model_fields_set
            }
            changes = differences(rule, set_here)
            if changes:
                warnings.append(
                    f"Conversion rule {rule.id} '{rule.name}' (event {event.name}) differs from the config "
                    f"({describe_differences(changes)}); the connector never changes a rule it did not create: change "
                    "it in Campaign Manager if you want the configured setting."
                )
    if not config.can_manage_rules:
        return warnings
    for resolution in plan(config, rules):
        ours = by_id[resolution.rule_id] if resolution.how == "reused" and resolution.rule_id is not None else None
        changes = differences(ours, wanted_settings(config, ours.type)) if ours is not None else {}
        if ours is not None and changes:
            warnings.append(
                f"Conversion rule {ours.id} '{ours.name}' (event {resolution.event.name}) differs from the config "
                f"({describe_differences(changes)}); the next sync updates it, as the connector created it."
            )
    return warnings


def _check_budget_store(config: ConnectorConfig) -> str:
    """Step 1b: a shared request budget store answers; returns a phrase with the member's use of the budget."""
    if config.request_budget.store == "process":
        return ""
    budget = make_budget(config)
    store = budget.store
    setting = config.request_budget
    try:
        if isinstance(setting, SqliteBudget) and not os.path.lexists(setting.path.strip()):
            check_can_create(setting.path.strip())  # no sync has used the file yet: nothing to report, nothing left
            usage = Usage(0, 0)
        else:
            usage = budget.usage()
    except StoreUnavailable as problem:
        field = "Redis URL" if config.request_budget.store == "redis" else "SQLite file"
        raise CheckFailed(
            f"The request budget store could not be used: {problem}. Check {field} under Request budget store, "
            "that the store is running and that this host can reach it; or choose 'This sync only'."
        ) from None
    finally:
        store.close()
    window = "minute" if config.throttle_window_seconds == 60 else f"{config.throttle_window_seconds:g} s"
    return (
        f" Request budget ({store.description}, key {budget.key}): today {usage.used_today:,} of "
        f"{config.requests_per_day:,} requests used by every sync of this LinkedIn member; {usage.in_window:,} of "
        f"{config.requests_per_minute:,} in the current {window}."
    )


def _check_ledger(config: ConnectorConfig) -> str:
    """Step 1c: the sent-events ledger answers (in the budget's store); returns a phrase with how many entries it holds."""
    if not config.send_once or config.request_budget.store == "process":
        return ""
    setting = config.request_budget
    if isinstance(setting, SqliteBudget) and not os.path.lexists(setting.path.strip()):
        return " Sent-events ledger: no entries yet."
    ledger = make_ledger(config)
    try:
        entries = ledger.count()
    except LedgerUnavailable as problem:
        raise CheckFailed(
            f"The sent-events ledger could not be used: {problem}. It is kept in the Request budget store; check that "
            "the store is running and that this host can reach it, or turn Send each conversion once off."
        ) from None
    finally:
        ledger.close()
    return f" Sent-events ledger ({ledger.description}): {entries:,} conversions LinkedIn accepted in the last 90 days."


def check_connection(
    config_raw: Mapping[str, Any],
    logger: logging.Logger,
    *,
    session: requests.Session | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    emit: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[bool, str]:
    """Run the steps; (True, summary) or (False, the first problem's sentence). May raise only on a bug.
    `emit` receives the CONTROL message of a refresh token LinkedIn rotated while checking (config_updates.py).
    The steps are listed in the order a user reads them, each returning early with its sentence."""
    try:
        config = ConnectorConfig.parse(config_raw)
    except ConfigError as error:
        return False, str(error)
    warnings: list[str] = list(config.warnings)
    for slip in config.warnings:
        logger.warning(slip)
    warning = version_warning(config.api_version, dt.datetime.fromtimestamp(clock(), tz=dt.timezone.utc).date())
    if warning:
        logger.warning(warning)
        warnings.append(warning)
    if config.rejected_storage is not None:  # written in dry runs too, so checked before them
        problem = probe(config.rejected_storage, CHECK_RETRY_SECONDS)
        if problem:
            return False, problem
    try:
        budget = _check_budget_store(config) + _check_ledger(config)
    except CheckFailed as failure:
        return False, _with_warnings(str(failure), warnings)
    client = connect(config, deadline_seconds=CHECK_RETRY_SECONDS, session=session, clock=clock, sleep=sleep)
    tokens = client.tokens
    try:
        _obtain_token(tokens)
        warning = refresh_token_warning(config, tokens, clock())
        if warning:
            logger.warning(warning)
            warnings.append(warning)
        found = _preflight(config, client)
        if config.can_manage_rules:
            lines = _check_rules_can_be_had(config, tokens, list(found.rules.values()))
            campaigns = _check_campaigns(config, client)
        else:
            lines = [
                f"{event.name} → rule {' and '.join(map(str, event.rule_ids))}" for event in config.events.values()
            ]
            campaigns = ""
        for warning in _settings_warnings(config, list(found.rules.values())):
            logger.warning(warning)
            warnings.append(warning)
    except CheckFailed as failure:
        return False, _with_warnings(str(failure), warnings)
    finally:
        if emit is not None:
            ConfigUpdates(config_raw, tokens, emit).flush()
    logger.info("check: event → conversion rule: %s", "; ".join(lines))
    summary = (
        f"Connected to ad account {config.account_id} as {found.roles[config.account_id]}. Events: {'; '.join(lines)}."
        f"{campaigns}{budget}"
    )
    if config.dry_run:
        summary += DRY_RUN_NOTE
    return True, _with_warnings(summary, warnings)


def _with_warnings(sentence: str, warnings: list[str]) -> str:
    """The status message with the sunset and refresh-token warnings after it: the UI shows only this text."""
    return " ".join([sentence, *(f"Warning: {warning}" for warning in warnings)])


def run_check(
    config_raw: Mapping[str, Any],
    logger: logging.Logger,
    *,
    session: requests.Session | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    emit: Callable[[dict[str, Any]], None] | None = None,
) -> AirbyteConnectionStatus:
    """`Destination.check`: never raises; the message is secret-filtered because the CDK does not do it."""
    try:
        ok, sentence = check_connection(config_raw, logger, session=session, clock=clock, sleep=sleep, emit=emit)
    except Exception as error:  # a bug must not crash check; the type name carries no secret
        logger.error("check failed unexpectedly: %s", type(error).__name__)
        ok, sentence = False, f"Unexpected error while checking the connection ({type(error).__name__})."
    return AirbyteConnectionStatus(status=Status.SUCCEEDED if ok else Status.FAILED, message=filter_secrets(sentence))
