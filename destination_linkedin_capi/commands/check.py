"""`check`: find the problem a sync would hit, in the order a user fixes them, and say it in one sentence.

Steps, stopping at the first failure: (1) the config parses, and a shared request budget store answers
(its use by every sync of the member is reported); (2) a token can be obtained; (3) the token
reaches the ad account with a role that may write conversions; (4) every mapped rule is in that account,
enabled and a CONVERSIONS_API rule; (5) in token-ID/OAuth modes every other event has a rule or one can be
created, and listed campaigns exist. Nothing is created or changed; a dry run is checked the same way (its
sync sends nothing, but the credentials must work when it is turned off). The API-version sunset and
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

from destination_linkedin_capi import constants as c
from destination_linkedin_capi import failures
from destination_linkedin_capi.airbyte.config_updates import ConfigUpdates
from destination_linkedin_capi.budget.base import StoreUnavailable, Usage
from destination_linkedin_capi.budget.setup import make_budget
from destination_linkedin_capi.budget.sqlite_store import check_can_create
from destination_linkedin_capi.config.budget_store import SqliteBudget
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, ConnectorError, ForbiddenError
from destination_linkedin_capi.failures import version_warning
from destination_linkedin_capi.linkedin.accounts import WRITER_ROLES, account_roles, campaign_ids
from destination_linkedin_capi.linkedin.auth import TokenProvider
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.connect import COMMAND_RETRY_SECONDS, connect
from destination_linkedin_capi.linkedin.rules import (
    ATTRIBUTION,
    CONVERSIONS_API,
    POST_CLICK,
    VIEW_THROUGH,
    Rule,
    describe_differences,
    differences,
    get_rule,
    list_rules,
    plan,
    wanted_settings,
)
from destination_linkedin_capi.rejected.store import probe

#: `check` gives up on an unresponsive LinkedIn or token service after this long, not the sync's limit.
CHECK_RETRY_SECONDS = COMMAND_RETRY_SECONDS
REFRESH_TOKEN_WARNING_DAYS = 30
#: How many other reachable ad accounts to search for a mapped rule that is not in the configured one.
MAX_OTHER_ACCOUNTS = 20
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


def _check_role(config: ConnectorConfig, client: LinkedInClient) -> dict[int, str]:
    """Step 3: the account is reachable with a role that may write conversions. Returns every account's role."""
    try:
        roles = account_roles(client)
    except ConnectorError as error:
        raise CheckFailed(failures.sentence(error, config, "list the ad accounts this token can reach")) from None
    role = roles.get(config.account_id)
    if role is None:
        raise CheckFailed(
            f"Ad account {config.account_id} is not among the {len(roles)} ad accounts this token can reach; check "
            "Ad account ID (Campaign Manager shows it next to the account name) and that the member who authorised "
            "the token has a role on that account."
        )
    if role not in WRITER_ROLES:
        raise CheckFailed(
            f"The member behind this token has the {role} role on ad account {config.account_id}, which cannot send "
            "conversions; give them Account manager, Campaign manager, Creative manager or Billing admin access in "
            "Campaign Manager → Account settings → Manage access."
        )
    return roles


def _list_rules(config: ConnectorConfig, client: LinkedInClient) -> list[Rule]:
    try:
        return list_rules(client, config.account_urn)
    except ConnectorError as error:
        raise CheckFailed(
            failures.sentence(error, config, f"list the conversion rules of ad account {config.account_id}")
        ) from None


def _owner_elsewhere(client: LinkedInClient, rule_id: int, accounts: list[int]) -> int | None:
    """Which other reachable ad account holds the rule (LinkedIn only shows a rule with its account's URN)."""
    for account in accounts[:MAX_OTHER_ACCOUNTS]:
        try:
            if get_rule(client, rule_id, f"{c.SPONSORED_ACCOUNT_URN_PREFIX}{account}") is not None:
                return account
        except ForbiddenError:
            continue
    return None


def _check_mapped_rules(
    config: ConnectorConfig, client: LinkedInClient, rules: list[Rule], roles: dict[int, str]
) -> None:
    """Step 4: every mapped rule is in this account, a CONVERSIONS_API rule, enabled. Names the event and ID."""
    by_id = {rule.id: rule for rule in rules}
    others = sorted(account for account in roles if account != config.account_id)
    for event, rule_id in [(e, rule_id) for e in config.events.values() for rule_id in e.rule_ids]:
        where = f"Event {event.name}: conversion rule {rule_id}"
        rule = by_id.get(rule_id)
        if rule is None:
            try:
                owner = _owner_elsewhere(client, rule_id, others)
            except ConnectorError as error:
                raise CheckFailed(failures.sentence(error, config, f"look up conversion rule {rule_id}")) from None
            if owner is not None:
                raise CheckFailed(
                    f"{where} belongs to ad account {owner}, not {config.account_id}; map the event to a rule of ad "
                    f"account {config.account_id} in Conversion mapping, or correct Ad account ID."
                )
            raise CheckFailed(
                f"{where} does not exist in ad account {config.account_id}; check the ID in Conversion mapping "
                "(Campaign Manager → Analyze → Conversion tracking → open the rule: the number at the end of its URL)."
            )
        if rule.conversion_method != CONVERSIONS_API:
            method = rule.conversion_method or "non-Conversions-API"
            article = "an" if method[:1] in ("A", "E", "I", "O", "U") else "a"
            raise CheckFailed(
                f"{where} ('{rule.name}') is {article} {method} rule, so LinkedIn "
                "rejects streamed events for it; create a rule whose data source is the Conversions API and map "
                "the event to it."
            )
        if not rule.enabled:
            raise CheckFailed(
                f"{where} ('{rule.name}') is disabled, so it records nothing; enable it in Campaign Manager → "
                "Analyze → Conversion tracking, or map the event to another rule."
            )


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
    warnings: list[str] = []
    warning = version_warning(config.api_version, dt.datetime.fromtimestamp(clock(), tz=dt.timezone.utc).date())
    if warning:
        logger.warning(warning)
        warnings.append(warning)
    if config.rejected_storage is not None:  # written in dry runs too, so checked before them
        problem = probe(config.rejected_storage, CHECK_RETRY_SECONDS)
        if problem:
            return False, problem
    try:
        budget = _check_budget_store(config)
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
        roles = _check_role(config, client)
        rules = _list_rules(config, client)
        _check_mapped_rules(config, client, rules, roles)
        if config.can_manage_rules:
            lines = _check_rules_can_be_had(config, tokens, rules)
            campaigns = _check_campaigns(config, client)
        else:
            lines = [
                f"{event.name} → rule {' and '.join(map(str, event.rule_ids))}" for event in config.events.values()
            ]
            campaigns = ""
        for warning in _settings_warnings(config, rules):
            logger.warning(warning)
            warnings.append(warning)
    except CheckFailed as failure:
        return False, _with_warnings(str(failure), warnings)
    finally:
        if emit is not None:
            ConfigUpdates(config_raw, tokens, emit).flush()
    logger.info("check: event → conversion rule: %s", "; ".join(lines))
    summary = (
        f"Connected to ad account {config.account_id} as {roles[config.account_id]}. Events: {'; '.join(lines)}."
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
