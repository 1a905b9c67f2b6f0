"""Error → user-facing sentence and Airbyte failure type: the one place `check`, `write`, rules and the token
issuers take them from.

Every sentence is built from codes, IDs and LinkedIn's own error message, never from a token or a record
value. docs/linkedin-capi.md's Troubleshooting section quotes each one (a test keeps it true).
"""

from __future__ import annotations

import datetime as dt

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import (
    AuthenticationError,
    ConfigError,
    ConnectorError,
    DailyBudgetExhaustedError,
    ForbiddenError,
    LedgerUnavailableError,
    LinkedInApiError,
    RequestRefusedError,
    RetriesExhaustedError,
    SyncCancelled,
    TransportError,
    VersionSunsetError,
)
from destination_linkedin_capi.linkedin.retry import plural
from destination_linkedin_capi.linkedin.versions import ApiVersion

_TOKEN_PROBLEMS = {
    "INVALID_ACCESS_TOKEN": "is not valid",
    "REVOKED_ACCESS_TOKEN": "has been revoked",
    "EXPIRED_ACCESS_TOKEN": "has expired",
}
#: Errors the user fixes in the configuration (or by re-authorising): Airbyte does not retry them.
_CONFIG = (AuthenticationError, ForbiddenError, VersionSunsetError, ConfigError)
#: Added to the sentence of a sync that gave up on LinkedIn (never to `check`'s or `discover`'s).
NEXT_SYNC_RESUMES = "The next sync resumes from the last checkpoint."
#: Errors that may pass on their own: Airbyte retries the sync.
_TRANSIENT = (
    RetriesExhaustedError,
    TransportError,
    DailyBudgetExhaustedError,
    RequestRefusedError,
    LedgerUnavailableError,
    SyncCancelled,
)


def token_rejected(config: ConnectorConfig, code: str | None) -> str:
    """What to do when LinkedIn answers 401, per auth mode (the token is never quoted)."""
    problem = _TOKEN_PROBLEMS.get(code or "", "is invalid, revoked or expired")
    detail = f" ({code})" if code in _TOKEN_PROBLEMS else ""
    if config.auth_type == "access_token":
        return (
            f"LinkedIn rejected the access token: it {problem}{detail}. Generate a new one in Campaign Manager → "
            "Data → Signals manager → Direct API and paste it into Access token."
        )
    if config.auth_type == "token_id":
        return (
            f"LinkedIn rejected the access token the token service issued for this token ID: it {problem}{detail}. "
            "Re-authorise LinkedIn in your CDP, or ask it to issue a fresh token."
        )
    return (
        f"LinkedIn rejected the access token minted from the refresh token: it {problem}{detail}. Re-authorise "
        "the app (rw_conversions and r_ads scopes) and paste the new refresh token."
    )


def version_sunset(config: ConnectorConfig) -> str:
    """LinkedIn answered 426: the pinned `LinkedIn-Version` is no longer served."""
    return (
        f"LinkedIn no longer serves API version {config.api_version} (HTTP 426, version sunset); set LinkedIn API "
        "version (api_version, in the advanced settings) to a current YYYYMM release, or upgrade the connector."
    )


def version_warning(api_version: str, today: dt.date) -> str | None:
    """A sentence when the pinned `LinkedIn-Version` is sunset within SUNSET_WARNING_DAYS (LinkedIn serves each
    version for at least a year: docs/linkedin-facts.md §2), or is newer than every version this connector knows."""
    version = ApiVersion(api_version)
    if version.newer_than_known:
        return (
            f"LinkedIn API version {api_version} is not known to this connector version; sunset date unknown. "
            "It is used as configured; LinkedIn refuses every call (HTTP 426) once it is sunset."
        )
    sunset = version.sunset
    if sunset is None:
        return None
    days = (sunset - today).days
    if days > c.SUNSET_WARNING_DAYS:
        return None
    when = f"was sunset on {sunset}" if days <= 0 else f"is sunset on {sunset}, in {days} days"
    return (
        f"LinkedIn API version {api_version} {when}; LinkedIn then refuses every call (HTTP 426). "
        "Set LinkedIn API version to a newer YYYYMM release."
    )


def forbidden(config: ConnectorConfig, doing: str, error: LinkedInApiError) -> str:
    """LinkedIn answered 403 while trying to `doing`: the same advice wherever it happens."""
    return (
        f"LinkedIn refused to {doing} (HTTP 403: {error.message}); the token needs the r_ads and rw_conversions "
        f"permissions and a role other than VIEWER on ad account {config.account_id}, and mapped conversion rules "
        "must belong to that account."
    )


def not_conversions_api_rule(rule: str) -> str:
    """LinkedIn refused a batch because its rule is an Insight Tag rule, not a Conversions API one."""
    return (
        f"LinkedIn refused events for conversion rule {rule}: it is not a Conversions API rule. "
        "Map the event to a rule created for the Conversions API (conversion method CONVERSIONS_API)."
    )


def sentence(error: BaseException, config: ConnectorConfig, doing: str | None = None) -> str:
    """One user-facing sentence for an error met while trying to `doing` (e.g. "list the rules"); without
    `doing`, for an error that ends a sync, where the step is not known. Only a sync's sentence speaks of
    checkpoints: `check` and `discover` have none."""
    if isinstance(error, RetriesExhaustedError) and doing is None:
        return f"{error} {NEXT_SYNC_RESUMES}"
    if isinstance(error, AuthenticationError):
        return token_rejected(config, error.code)
    if isinstance(error, VersionSunsetError):
        return version_sunset(config)
    if isinstance(error, ForbiddenError):
        events = ", ".join(event.name for event in config.events.values())
        return forbidden(
            config, doing or f"let this token use ad account {config.account_id} or the rules of {events}", error
        )
    if isinstance(error, LinkedInApiError):
        if doing is None:
            return f"LinkedIn answered HTTP {error.status}: {error.message}"
        return f"LinkedIn refused to {doing} (HTTP {error.status}: {error.message})."
    if isinstance(error, ConnectorError) or doing is None:
        return str(error)
    return f"Could not {doing}: {error}"


# --- the preflight (`check`, and the start of every sync): the ad account and the rules a sync sends to -----
def account_not_reachable(account_id: int, reachable: int) -> str:
    return (
        f"Ad account {account_id} is not among the {reachable} ad accounts this token can reach; check "
        "Ad account ID (Campaign Manager shows it next to the account name) and that the member who authorised "
        "the token has a role on that account."
    )


def role_cannot_send(role: str, account_id: int) -> str:
    return (
        f"The member behind this token has the {role} role on ad account {account_id}, which cannot send "
        "conversions; give them Account manager, Campaign manager, Creative manager or Billing admin access in "
        "Campaign Manager → Account settings → Manage access."
    )


def rule_elsewhere(where: str, owner: int, account_id: int) -> str:
    """`where`: what sends to the rule and the rule, e.g. "Event LEAD: conversion rule 21"."""
    return (
        f"{where} belongs to ad account {owner}, not {account_id}; map the event to a rule of ad "
        f"account {account_id} in Conversion mapping, or correct Ad account ID."
    )


def rule_missing(where: str, account_id: int) -> str:
    return (
        f"{where} does not exist in ad account {account_id}; check the ID in Conversion mapping "
        "(Campaign Manager → Analyze → Conversion tracking → open the rule: the number at the end of its URL)."
    )


def rule_not_conversions_api(where: str, name: str, method: str | None) -> str:
    method = method or "non-Conversions-API"
    article = "an" if method[:1] in ("A", "E", "I", "O", "U") else "a"
    return (
        f"{where} ('{name}') is {article} {method} rule, so LinkedIn rejects streamed events for it; create a rule "
        "whose data source is the Conversions API and map the event to it."
    )


def rule_disabled(where: str, name: str) -> str:
    return (
        f"{where} ('{name}') is disabled, so it records nothing; enable it in Campaign Manager → Analyze → "
        "Conversion tracking, or map the event to another rule."
    )


# --- routing, judged from the configured catalog at the start of a sync --------------------------------------
def unroutable_stream(label: str, name: str, field: str, configured: str) -> str:
    """A stream none of whose records can name an event: every one would be rejected as `unknown_event`."""
    return (
        f"Stream '{label}' cannot be routed to an event: its schema has no '{field}' field, it is not in Stream "
        f"events, its name is not an event, and more than one event is configured ({configured}); add "
        f"'{name}=EVENT' to Stream events, or set Event name field to a field the stream has."
    )


def stream_events_unknown_stream(stream: str) -> str:
    return (
        f"Stream events names stream '{stream}', which is not in this sync's catalog; check its spelling "
        "(the entry is ignored)."
    )


def failure_type(error: BaseException) -> str:
    """The Airbyte failure type: config_error (the user must change something), transient_error (Airbyte retries)
    or system_error (a bug, or an answer the connector does not expect)."""
    if isinstance(error, _CONFIG):
        return "config_error"
    if isinstance(error, _TRANSIENT):
        return "transient_error"
    return "system_error"


# --- the token issuers (auth.py): a CDP's token service, LinkedIn's OAuth service ----------------------------
def token_service_refused(status: int, code: str | None, where: str, has_key: bool, account_id: int) -> str:
    """The token service answered an error; `code` is its OAuth-style `error` (only ever a code, never text)."""
    if code == "invalid_service_key":
        problem = "refused the Token service key" if has_key else "requires a Token service key"
        return f"The token service {problem} (invalid_service_key); enter the key your CDP gave you."
    if code == "unknown_token_id":
        return (
            "The token service does not know this Token ID (unknown_token_id); copy it again from your CDP's "
            "LinkedIn connection."
        )
    if code == "account_not_authorized":
        return (
            f"The token service says this Token ID is not authorised for ad account {account_id} "
            "(account_not_authorized); authorise that ad account in your CDP, or correct Ad account ID."
        )
    if code == "invalid_request":
        return (
            "The token service refused the request as malformed (invalid_request); check that Token service URL "
            "is the service's token endpoint."
        )
    return (
        f"The token service at {where} refused the token ID ({_answer(status, code)}); check Token service URL and "
        "Token service key."
    )


def token_service_down(where: str, problem: str, attempts: int) -> str:
    return (
        f"The token service at {where} is not answering ({problem}, {plural(attempts, 'attempt')}); it may be down. "
        "Try again later, or check Token service URL."
    )


def oauth_refused(status: int, code: str | None) -> str:
    """LinkedIn's OAuth service refused to refresh the access token."""
    if code == "invalid_grant":
        return (
            "LinkedIn refused the refresh token (invalid_grant): it has expired, was revoked or belongs to "
            "another app. Re-authorise the app and paste the new refresh token: refresh tokens last 365 days "
            "from the first authorisation."
        )
    if code == "invalid_client" or status == 401:
        return (
            "LinkedIn refused the client ID or client secret (invalid_client); copy both again from Developer "
            "Portal → My apps → your app → Auth."
        )
    return (
        f"LinkedIn's OAuth service refused to refresh the access token ({_answer(status, code)}); check Client ID, "
        "Client secret and Refresh token."
    )


def oauth_down(where: str, problem: str, attempts: int) -> str:
    return (
        f"LinkedIn's OAuth service at {where} is not answering ({problem}, {plural(attempts, 'attempt')}). "
        "Try again later."
    )


def _answer(status: int, code: str | None) -> str:
    """An issuer's refusal for a sentence: `HTTP 400, invalid_scope` (the code is only ever a code, never text).
    The rest of each issuer's sentences stays written out whole, though alike: each gives its own advice, and the
    docs test reads whole sentences from the source to find them in the troubleshooting section."""
    return f"HTTP {status}" + (f", {code}" if code else "")


# --- answers the connector refuses to act on (auth.py, client.py) -------------------------------------------
def redirected(status: int, who: str, field: str) -> str:
    """A 3xx answer: redirects are never followed, so no event or credential goes to another address."""
    return (
        f"{who} answered HTTP {status}, a redirect; the connector does not follow redirects, so nothing was sent "
        f"to the other address. Check {field}."
    )


def token_not_header_safe(issuer: str, field: str) -> str:
    """The issuer handed out a token no HTTP header can carry (the token itself is never quoted)."""
    return (
        f"{issuer} returned an access token that is not a valid HTTP header value (it holds a line break, space, "
        f"control or non-ASCII character), so it cannot be used; check {field}, or ask the service's operator to "
        "fix it."
    )
