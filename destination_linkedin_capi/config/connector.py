"""A typed, validated view of the connector's config (the form in `spec.json`).

Everything else reads `ConnectorConfig`, never the raw dict. Every problem becomes one
`ConfigError` sentence that names the field and the expected form and never echoes a secret.
About 400 lines: one model for the whole form, so every field's rule sits beside its field; the URL
and secret rules (`safety.py`), the request budget store's (`config/budget_store.py`), rejected-records
storage's (`config/storage.py`) and the list forms of the mapping settings (`config/forms.py`) have their own
modules.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.functional_validators import BeforeValidator

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.config.budget_store import (
    BudgetStoreConfig,
    ProcessBudget,
    RedisBudget,
    SqliteBudget,
    check_budget_store,
)
from destination_linkedin_capi.config.forms import (
    as_declared,
    conversion_mapping_text,
    listed_stream_events,
    number_as_text,
    stream_events_form_error,
    unknown_keys,
)
from destination_linkedin_capi.config.storage import parse_storage
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.iso import CURRENCY_CODES, MINOR_UNITS
from destination_linkedin_capi.linkedin.versions import ApiVersion
from destination_linkedin_capi.mapping.paths import is_nested, parse_path
from destination_linkedin_capi.safety import check_url, is_header_safe

EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
MAPPING_FORM = (
    "EVENT=CONVERSION_ID pairs separated by commas, several IDs of one event separated by '|', "
    "e.g. LEAD=22285180|22285190,PURCHASE=22285181"
)
#: Between the conversion rule IDs of one event in the string form of the conversion mapping.
RULE_SEPARATOR = "|"
STREAM_EVENTS_FORM = "stream=EVENT pairs separated by commas, e.g. orders=PURCHASE,signups=SIGN_UP"


def _pairs(text: str, field: str, form: str) -> list[tuple[str, str, str]]:
    """Split `a=b, c=d` into (key, value, raw entry); forgiving about spaces, strict about content."""
    pairs = []
    entries = text.split(",")
    for number, raw in enumerate(entries, start=1):
        entry = raw.strip()
        if not entry:
            if len(entries) == 1:
                raise ConfigError(f"{field} is empty; expected {form}.")
            raise ConfigError(f"{field} has an empty entry (entry {number}); expected {form}.")
        if "=" not in entry:
            raise ConfigError(f"{field} entry '{entry}' has no '='; expected {form}.")
        key, _, value = entry.partition("=")
        pairs.append((key.strip(), value.strip(), entry))
    return pairs


def conversion_rule_id(value: str, field: str, entry: str) -> int:
    """One conversion rule ID of a mapping entry: digits or `urn:lla:llaPartnerConversion:<digits>`, not 0."""
    rule = value.strip().removeprefix(c.CONVERSION_URN_PREFIX)
    if not rule.isdigit() or not rule.isascii() or len(rule) > 19 or int(rule) == 0:
        raise ConfigError(
            f"{field} entry '{entry}': conversion ID '{value.strip()}' must be a number "
            f"(or {c.CONVERSION_URN_PREFIX}<number>); expected {MAPPING_FORM}."
        )
    return int(rule)


def parse_conversion_mapping(text: str) -> dict[str, list[int]]:
    """Parse `LEAD=22285180|22285190,PURCHASE=urn:lla:llaPartnerConversion:22285181` into {event: [rule ids]}:
    an event may go to several rules, separated by `|`, each receiving every event of it."""
    field = "Conversion mapping"
    mapping: dict[str, list[int]] = {}
    seen: dict[str, str] = {}
    for key, value, entry in _pairs(text, field, MAPPING_FORM):
        if not EVENT_NAME.fullmatch(key):
            raise ConfigError(
                f"{field} entry '{entry}': event name '{key}' must start with a letter and contain only "
                f"letters, digits, '_', '.' or '-'; expected {MAPPING_FORM}."
            )
        rules = [conversion_rule_id(part, field, entry) for part in value.split(RULE_SEPARATOR)]
        repeated = next((rule for number, rule in enumerate(rules) if rule in rules[:number]), None)
        if repeated is not None:
            raise ConfigError(f"{field} entry '{entry}': conversion ID {repeated} is listed twice.")
        folded = key.casefold()
        if folded in seen:
            raise ConfigError(
                f"{field} entry '{entry}': event '{key}' is mapped twice (also in '{seen[folded]}'); "
                f"each event may appear once (list several rules as EVENT=ID{RULE_SEPARATOR}ID)."
            )
        seen[folded] = entry
        mapping[key] = rules
    return mapping


def parse_stream_events(value: str | list[Any]) -> dict[str, str]:
    """Parse `orders=PURCHASE,signups=SIGN_UP`, or its list form `[{"stream": "orders", "event": "PURCHASE"}]`,
    into {stream: event}."""
    field = "Stream events"
    result: dict[str, str] = {}
    entries = _pairs(value, field, STREAM_EVENTS_FORM) if isinstance(value, str) else listed_stream_events(value)
    for stream, event, entry in entries:
        if not stream or not event:
            raise ConfigError(f"{field} entry '{entry}' needs a stream and an event; expected {STREAM_EVENTS_FORM}.")
        if stream in result:
            raise ConfigError(f"{field} entry '{entry}': stream '{stream}' appears twice.")
        result[stream] = event
    return result


#: The credentials checked by `safety.is_header_safe` (they travel in headers or form bodies), with their titles.
_SECRET_FIELDS = {
    "access_token": "Access token",
    "token_service_key": "Token service key",
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "refresh_token": "Refresh token",
}


def _check_secrets(credentials: BaseModel) -> None:
    """Refuse a secret holding a line break, space, control or non-ASCII character; never quote it."""
    for name, field in _SECRET_FIELDS.items():
        value = getattr(credentials, name, None)
        if value is None or (name == "token_service_key" and not value.strip()):
            continue
        if not value.strip():
            raise ConfigError(f"{field} is empty (config field 'credentials.{name}').")
        if not is_header_safe(value.strip()):
            raise ConfigError(
                f"{field} (config field 'credentials.{name}') holds a line break, space, control character or "
                "non-ASCII character; paste it again exactly as it was issued."
            )


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TokenIdCredentials(_Model):
    auth_type: Literal["token_id"]
    token_id: Annotated[str, Field(pattern=r"^\s*[0-9]{1,30}\s*$")]
    token_service_url: str
    token_service_key: str | None = None
    conversion_mapping: Any = None  # an older config's place for the top-level conversion_mapping

    @field_validator("token_id")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class AccessTokenCredentials(_Model):
    auth_type: Literal["access_token"]
    access_token: Annotated[str, Field(min_length=1)]
    conversion_mapping: Any = None  # an older config's place for the top-level conversion_mapping


class OAuth2Credentials(_Model):
    auth_type: Literal["oauth2"]
    client_id: Annotated[str, Field(min_length=1)]
    client_secret: Annotated[str, Field(min_length=1)]
    refresh_token: Annotated[str, Field(min_length=1)]
    access_token: str | None = None  # filled in by Airbyte's OAuth flow (advanced_auth in spec.json)
    conversion_mapping: Any = None  # an older config's place for the top-level conversion_mapping


Credentials = Annotated[
    TokenIdCredentials | AccessTokenCredentials | OAuth2Credentials, Field(discriminator="auth_type")
]


class FieldMapping(_Model):
    linkedin_field: str
    record_field: Annotated[str, Field(min_length=1)]
    streams: list[Annotated[str, Field(min_length=1)]] = []  # empty: every stream


class _RawConfig(_Model):
    account_id: Annotated[
        str, BeforeValidator(number_as_text), Field(pattern=r"^\s*(urn:li:sponsoredAccount:)?[0-9]{1,19}\s*$")
    ]
    credentials: Credentials
    conversion_mapping: Any = None  # text or a list of {event, rule_ids}: conversion_mapping_text reads both
    conversion_events: list[Literal[c.CONVERSION_TYPES]] = []  # type: ignore[valid-type]
    field_mappings: list[FieldMapping] = []
    event_name_field: Annotated[str, Field(min_length=1)] = "event_name"
    stream_events: Any = None  # text or a list of {stream, event}: parse_stream_events reads both
    default_currency: Annotated[str, Field(pattern=r"^$|^[A-Za-z]{3}$")] | None = None
    amount_in_minor_units: bool = False
    rule_name_prefix: Annotated[str, Field(min_length=1, max_length=80)] = "Airbyte CAPI"
    rule_attribution_type: Literal[c.ATTRIBUTION_TYPES] = "LAST_TOUCH_BY_CAMPAIGN"  # type: ignore[valid-type]
    rule_post_click_window: Literal[c.POST_CLICK_WINDOWS] = c.DEFAULT_POST_CLICK_WINDOW  # type: ignore[valid-type]
    rule_view_through_window: Literal[c.VIEW_THROUGH_WINDOWS] = c.DEFAULT_VIEW_THROUGH_WINDOW  # type: ignore[valid-type]
    campaign_association: Literal["none", "all_active", "listed"] = "none"
    campaign_ids: list[Annotated[str, BeforeValidator(number_as_text), Field(pattern=r"^\s*[0-9]{1,19}\s*$")]] = []
    api_version: Annotated[str, Field(pattern=r"^[0-9]{6}$")] = c.DEFAULT_API_VERSION
    batch_size: Annotated[int, Field(ge=1, le=c.MAX_BATCH_SIZE)] = c.MAX_BATCH_SIZE
    requests_per_minute: Annotated[int, Field(ge=1, le=c.MAX_REQUESTS_PER_MINUTE)] = c.MAX_REQUESTS_PER_MINUTE
    requests_per_day: Annotated[int, Field(ge=1, le=1_000_000)] = c.DEFAULT_REQUESTS_PER_DAY
    sync_requests_per_day: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    request_budget: BudgetStoreConfig = ProcessBudget(store="process")
    send_once: bool = True
    send_once_when_store_unreachable: Literal["stop", "send"] = "stop"
    invalid_record_policy: Literal["skip", "fail"] = "skip"
    rejected_warn_percent: Annotated[int, Field(ge=0, le=100)] = 50
    max_rejected_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    dry_run: bool = False
    event_age_margin_minutes: Annotated[int, Field(ge=0, le=1440)] = 60
    batch_max_age_seconds: Annotated[int, Field(ge=1, le=600)] = 30
    max_retry_seconds: Annotated[int, Field(ge=0, le=3600)] = 600
    read_timeout_seconds: Annotated[int, Field(ge=1, le=600)] = 60
    throttle_window_seconds: Annotated[float, Field(ge=0.1, le=60)] = 60.0
    api_base_url: str = c.DEFAULT_API_BASE_URL
    oauth_base_url: str = c.DEFAULT_OAUTH_BASE_URL
    # Identifiers added in 2026 (docs/mapping.md §3)
    hash_ip_addresses: bool = False
    # Rejected records and consent: parsed in config/storage.py and mapping/consent.py.
    object_storage_config: dict[str, Any] | None = None
    consent_field: Annotated[str, Field(min_length=1)] | None = None
    consent_values: list[str | int | bool] = list(c.DEFAULT_CONSENT_VALUES)


@dataclass(frozen=True)
class EventConfig:
    """One event the connector may send: its display name, rule ID (None: resolve by rules.py), rule type, and the
    further mapped rules each of its events is also sent to."""

    name: str
    rule_id: int | None
    conversion_type: str | None
    more_rule_ids: tuple[int, ...] = ()

    @property
    def rule_ids(self) -> tuple[int, ...]:
        """Every mapped rule of the event, the first one first (empty: resolved by rules.py)."""
        return () if self.rule_id is None else (self.rule_id, *self.more_rule_ids)


_FIELD_TITLES = {
    "account_id": "Ad account ID",
    "credentials": "Authentication",
    "token_id": "Token ID",
    "token_service_url": "Token service URL",
    "access_token": "Access token",
    "conversion_mapping": "Conversion mapping",
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "refresh_token": "Refresh token",
    "conversion_events": "Conversion events",
    "api_version": "LinkedIn API version",
    "default_currency": "Default currency",
    "request_budget": "Request budget store",
    "url": "Redis URL",
    "path": "SQLite file",
    "key": "Budget key",
    "key_prefix": "Redis key prefix",
    "sync_requests_per_day": "Requests per day for this connection",
    "rejected_warn_percent": "Rejected share warning (%)",
    "max_rejected_percent": "Maximum rejected share (%)",
}


def _record_path(linkedin_field: str, record_field: str) -> str:
    """A `field_mappings` record field: a top-level name, or a path of keys and list indices (`a.b[0].c`)."""
    path = record_field.strip()
    if is_nested(path) and parse_path(path) is None:
        raise ConfigError(
            f"Field mappings: the record field for '{linkedin_field}' is not a valid path; write keys separated by "
            "dots and list positions in brackets, e.g. user_data.address[0].first_name."
        )
    return path


def _field_mappings(items: list[FieldMapping]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The connection-wide mappings (LinkedIn field → record path), and each named stream's own
    (stream → LinkedIn field → record path); a field is mapped at most once for all streams and once per stream."""
    every: dict[str, str] = {}
    per_stream: dict[str, dict[str, str]] = {}
    for item in items:
        path = _record_path(item.linkedin_field, item.record_field)
        if not item.streams:
            if item.linkedin_field in every:
                raise ConfigError(f"Field mappings: LinkedIn field '{item.linkedin_field}' is mapped twice.")
            every[item.linkedin_field] = path
        for stream in dict.fromkeys(name.strip() for name in item.streams):
            fields = per_stream.setdefault(stream, {})
            if item.linkedin_field in fields:
                raise ConfigError(
                    f"Field mappings: LinkedIn field '{item.linkedin_field}' is mapped twice for stream '{stream}'."
                )
            fields[item.linkedin_field] = path
    return every, per_stream


def _describe(error: ValidationError) -> str:
    """One sentence from pydantic's first error: the field and the rule, never the value given."""
    first = error.errors()[0]
    loc = list(first["loc"])
    if len(loc) > 2 and loc[0] in ("credentials", "request_budget"):
        del loc[1]  # the union tag (auth_type, store) pydantic adds to the path
    path = ".".join(str(part) for part in loc)
    names = [str(part) for part in loc if not isinstance(part, int)]
    name = names[-1] if names else "config"
    field = _FIELD_TITLES.get(name, name)
    kind = first["type"]
    if kind == "literal_error" and name == "conversion_events":
        return (
            f"Conversion events (config field '{path}') must be LinkedIn conversion types such as LEAD, PURCHASE "
            "or SIGN_UP (see the spec's list)."
        )
    if kind == "missing":
        return f"{field} is required (config field '{path}')."
    if (kind == "union_tag_invalid" or kind == "union_tag_not_found") and loc[:1] == ["request_budget"]:
        return "Request budget store must be one of: process, sqlite, redis (config field 'request_budget.store')."
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return "Authentication must be one of: token_id, access_token, oauth2 (config field 'credentials.auth_type')."
    if kind == "string_pattern_mismatch":
        forms = {
            "account_id": "digits, or urn:li:sponsoredAccount:<digits>",
            "token_id": "digits only",
            "api_version": "six digits YYYYMM, e.g. " + c.DEFAULT_API_VERSION,
            "default_currency": "three letters, e.g. EUR",
            "url": "redis://[:password@]host:port/db or rediss://… for TLS",
        }
        expected = forms.get(name, "the documented form")
        return f"{field} is not valid (config field '{path}'); expected {expected}."
    return f"{field} is not valid (config field '{path}'): {first['msg']}."


@cache
def connection_specification() -> dict[str, Any]:
    """The `connectionSpecification` of the shipped spec.json."""
    text = resources.files("destination_linkedin_capi").joinpath("spec.json").read_text(encoding="utf-8")
    return json.loads(text)["connectionSpecification"]


def _check_against_spec(config: Mapping[str, Any]) -> None:
    """Backstop: the JSON-schema rules of spec.json, reported by field path and never by value."""
    validator = jsonschema.Draft7Validator(connection_specification())
    error = next(iter(sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return
    path = ".".join(str(part) for part in error.absolute_path) or "config"
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    expected = schema.get("pattern_descriptor") or schema.get("title") or "the form described in the spec"
    raise ConfigError(f"Config field '{path}' is not valid; expected {expected}.")


class ConnectorConfig:
    """The validated config plus what is derived from it (events, URNs, parsed mappings)."""

    def __init__(self, raw: _RawConfig) -> None:
        self.raw = raw
        self.account_id = int(raw.account_id.strip().removeprefix(c.SPONSORED_ACCOUNT_URN_PREFIX))
        self.credentials = raw.credentials
        _check_secrets(raw.credentials)
        self.api_base_url = check_url(raw.api_base_url, "API base URL")
        self.oauth_base_url = check_url(raw.oauth_base_url, "OAuth base URL")
        if isinstance(raw.credentials, TokenIdCredentials):
            check_url(raw.credentials.token_service_url, "Token service URL", allow_query=True)
        #: Sentences `check` and `write` log once each: the config works, but something in it is probably a slip.
        self.warnings: list[str] = []
        mapping_text = self._mapping_text()
        mapping = parse_conversion_mapping(mapping_text) if mapping_text else {}
        self.events = self._events(mapping)
        self.stream_events = self._stream_events()
        self.field_mappings, self.stream_field_mappings = _field_mappings(raw.field_mappings)
        self._check_identifier_versions()
        self.default_currency = raw.default_currency.upper() if raw.default_currency else None
        if self.default_currency and self.default_currency not in CURRENCY_CODES:
            raise ConfigError(
                f"Default currency '{self.default_currency}' is not an ISO 4217 currency code (e.g. USD, EUR)."
            )
        if raw.amount_in_minor_units and self.default_currency and self.default_currency not in MINOR_UNITS:
            raise ConfigError(
                f"Default currency '{self.default_currency}' has no minor units in ISO 4217, so Amount in minor units "
                "cannot convert its amounts; turn one of them off or choose another currency."
            )
        self.rejected_storage = parse_storage(raw.object_storage_config)
        if (
            raw.consent_field is not None
            and is_nested(raw.consent_field.strip())
            and not parse_path(raw.consent_field.strip())
        ):
            raise ConfigError(
                "Consent field is not a valid path; write keys separated by dots and list positions in brackets, e.g. "
                "consents[0].granted."
            )
        check_budget_store(raw.request_budget)
        if raw.consent_field is not None and not raw.consent_values:
            raise ConfigError(
                "Consent values is empty; list the values that mean consent was granted, e.g. true, granted."
            )
        if raw.campaign_association == "listed" and not raw.campaign_ids:
            raise ConfigError(
                "Associate campaigns is 'listed' but Campaign IDs is empty; list at least one campaign ID."
            )
        # The plain settings, as validated (spec.json describes each one).
        self.api_version: str = raw.api_version
        self.dry_run: bool = raw.dry_run
        self.invalid_record_policy: str = raw.invalid_record_policy
        self.rejected_warn_percent: int = raw.rejected_warn_percent
        self.max_rejected_percent: int | None = raw.max_rejected_percent
        self.event_name_field: str = raw.event_name_field
        self.event_age_margin_minutes: int = raw.event_age_margin_minutes
        self.hash_ip_addresses: bool = raw.hash_ip_addresses
        self.amount_in_minor_units: bool = raw.amount_in_minor_units
        self.consent_field: str | None = raw.consent_field
        self.consent_values: list[str | int | bool] = raw.consent_values
        self.batch_size: int = raw.batch_size
        self.batch_max_age_seconds: int = raw.batch_max_age_seconds
        self.max_retry_seconds: int = raw.max_retry_seconds
        self.read_timeout_seconds: int = raw.read_timeout_seconds
        self.requests_per_minute: int = raw.requests_per_minute
        self.requests_per_day: int = raw.requests_per_day
        self.sync_requests_per_day: int | None = raw.sync_requests_per_day
        self.throttle_window_seconds: float = raw.throttle_window_seconds
        self.request_budget: ProcessBudget | SqliteBudget | RedisBudget = raw.request_budget
        self.send_once: bool = raw.send_once
        self.send_once_when_store_unreachable: str = raw.send_once_when_store_unreachable
        self.rule_name_prefix: str = raw.rule_name_prefix
        self.rule_attribution_type: str = raw.rule_attribution_type
        self.rule_post_click_window: int = raw.rule_post_click_window
        self.rule_view_through_window: int = raw.rule_view_through_window
        self.campaign_association: str = raw.campaign_association
        self.campaign_ids: list[str] = raw.campaign_ids

    def _events(self, mapping: dict[str, list[int]]) -> dict[str, EventConfig]:
        selected = list(self.raw.conversion_events)
        events: dict[str, EventConfig] = {}
        if isinstance(self.credentials, AccessTokenCredentials):
            folded = {name.casefold(): name for name in mapping}
            unmapped = [name for name in selected if name.casefold() not in folded]
            if unmapped:
                raise ConfigError(
                    "In access-token mode every selected conversion event needs a rule ID in the conversion mapping; "
                    f"{', '.join(unmapped)} has none. Add it to the mapping or use the token-ID or OAuth mode, which can create rules."
                )
            chosen = [folded[name.casefold()] for name in selected] if selected else list(mapping)
            for name in chosen:
                first, *more = mapping[name]
                events[name.casefold()] = EventConfig(name, first, None, tuple(more))
            return events
        for name, (first, *more) in mapping.items():
            conversion_type = name.upper() if name.upper() in c.CONVERSION_TYPES else None
            events[name.casefold()] = EventConfig(name, first, conversion_type, tuple(more))
        for name in selected:
            events.setdefault(name.casefold(), EventConfig(name, None, name))
        if not events:
            raise ConfigError("Select at least one conversion event (Conversion events), or give a conversion mapping.")
        return events

    def _check_identifier_versions(self) -> None:
        """Hash IP addresses sends SHA256_IP_ADDRESS, which older API versions refuse (docs/linkedin-facts.md §4)."""
        if self.raw.hash_ip_addresses and not ApiVersion(self.raw.api_version).accepts(c.ID_SHA256_IP):
            first = ApiVersion.first_accepting(c.ID_SHA256_IP)
            raise ConfigError(
                f"Hash IP addresses needs LinkedIn API version {first} or later (hashed IP addresses were added then); "
                f"the configured version is {self.raw.api_version}. Turn it off or set a newer version."
            )

    def _mapping_text(self) -> str | None:
        """The top-level conversion mapping, else the one an older config keeps inside Authentication."""
        top = conversion_mapping_text(self.raw.conversion_mapping)
        legacy = conversion_mapping_text(self.credentials.conversion_mapping)
        if top and legacy:
            self.warnings.append(
                "Conversion mapping is given twice: at the top level and inside Authentication (where older configs "
                "kept it); the top-level one is used. Remove credentials.conversion_mapping from the config."
            )
        if not (top or legacy) and isinstance(self.credentials, AccessTokenCredentials):
            raise ConfigError(
                "Conversion mapping is required in access-token mode (config field 'conversion_mapping'): this mode "
                "sends events only to the rules you map."
            )
        return top or legacy

    def _stream_events(self) -> dict[str, str]:
        value = self.raw.stream_events
        if value is None or value == [] or (isinstance(value, str) and not value.strip()):
            return {}
        if not isinstance(value, (str, list)):
            raise stream_events_form_error()
        result = {}
        for stream, event in parse_stream_events(value).items():
            if event.casefold() not in self.events:
                known = ", ".join(e.name for e in self.events.values())
                raise ConfigError(
                    f"Stream events: stream '{stream}' names event '{event}', which is not configured ({known})."
                )
            result[stream] = event.casefold()
        return result

    def field_mappings_for(self, stream: str) -> dict[str, str]:
        """The mappings that apply to a stream: the connection-wide ones, overridden field by field by those
        naming the stream (its name matched exactly, else case-insensitively)."""
        own = self.stream_field_mappings.get(stream)
        if own is None:
            folded = stream.casefold()
            own = next((fields for name, fields in self.stream_field_mappings.items() if name.casefold() == folded), {})
        return {**self.field_mappings, **own}

    @property
    def auth_type(self) -> str:
        return self.credentials.auth_type

    @property
    def account_urn(self) -> str:
        return f"{c.SPONSORED_ACCOUNT_URN_PREFIX}{self.account_id}"

    @property
    def can_manage_rules(self) -> bool:
        return not isinstance(self.credentials, AccessTokenCredentials)

    def with_events(self, events: dict[str, EventConfig]) -> ConnectorConfig:
        """This config with other events (a write adds those of existing rules its catalog names); self is kept."""
        updated = copy.copy(self)
        updated.events = events
        return updated

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> ConnectorConfig:
        """Validate a raw config dict; raise ConfigError with one user-facing sentence."""
        if not isinstance(config, Mapping):
            raise ConfigError("The config must be a JSON object.")
        try:
            raw = _RawConfig.model_validate(dict(config))
        except ValidationError as error:
            raise ConfigError(_describe(error)) from None
        parsed = cls(raw)
        _check_against_spec(as_declared(config))
        unknown = unknown_keys(config, connection_specification()["properties"])
        if unknown:
            parsed.warnings.append(unknown)
        return parsed
