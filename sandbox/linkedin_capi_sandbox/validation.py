"""Schema-level validation of one conversion event, as LinkedIn's Rest.li layer does it.

Straight-line checks instead of jsonschema: a 5,000-element batch must validate in milliseconds.
Reasons use Rest.li's own wording (`ValidateDataAgainstSchema`) where LinkedIn's validator would
produce one; checks LinkedIn makes in its resource code (rule lookups) live in the request handler.
Where LinkedIn's documentation is silent the check is the stricter reading (docs/sandbox.md lists them).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from linkedin_capi_sandbox import facts

REQUIRED = "field is required but not found and has no default value"
UNRECOGNIZED = "unrecognized field found but not allowed"
# The two timestamp-window reasons: the handler answers them with LinkedIn's 400, not a 422 line.
TOO_OLD = "conversionHappenedAt is more than 90 days in the past"
IN_FUTURE = "conversionHappenedAt is in the future"
WINDOW_REASONS = frozenset({TOO_OLD, IN_FUTURE})

MAX_AGE_MS = int(facts.MAX_EVENT_AGE.total_seconds() * 1000)
MAX_LONG = 2**63 - 1

EVENT_FIELDS = ("conversion", "conversionHappenedAt", "conversionValue", "eventId", "user")
VALUE_FIELDS = ("currencyCode", "amount")
USER_INFO_FIELDS = ("firstName", "lastName", "companyName", "title", "countryCode")
USER_ID_FIELDS = ("idType", "idValue")
_HEX = frozenset("0123456789abcdef")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

Problems = list[tuple[str, str]]


@cache
def id_types_for_version(api_version: str) -> frozenset[str]:
    """The idType symbols LinkedIn's schema has for `api_version` (YYYYMM)."""
    return frozenset(
        name
        for name, (first, last) in facts.ID_TYPE_VERSIONS.items()
        if first <= api_version and (last is None or api_version <= last)
    )


@cache
def user_fields_for_version(api_version: str) -> frozenset[str]:
    """Fields of `user`: `externalIds` only exists from 202410 on."""
    fields = {"userIds", "userInfo", "lead"}
    if api_version >= facts.EXTERNAL_IDS_SINCE:
        fields.add("externalIds")
    return frozenset(fields)


def validate_element(element: object, *, api_version: str, now_ms: int) -> list[tuple[str, str]]:
    """Every schema problem of one event element as (json pointer, reason); empty when it is valid.

    The timestamp-window problems carry the reasons in `WINDOW_REASONS`; everything else is a 422.
    """
    problems: Problems = []
    if not isinstance(element, dict):
        problems.append(("", "record type is not backed by a DataMap"))
        return problems
    _unknown(element, EVENT_FIELDS, "", problems)
    if "conversion" in element:
        _conversion_urn(element["conversion"], problems)
    else:
        problems.append(("/conversion", REQUIRED))
    if "conversionHappenedAt" in element:
        _timestamp(element["conversionHappenedAt"], now_ms, problems)
    else:
        problems.append(("/conversionHappenedAt", REQUIRED))
    if "user" in element:
        _user(element["user"], api_version, problems)
    else:
        problems.append(("/user", REQUIRED))
    if "conversionValue" in element:
        _conversion_value(element["conversionValue"], problems)
    if "eventId" in element:
        _event_id(element["eventId"], problems)
    return problems


def is_decimal_string(value: str) -> bool:
    """`-?digits(.digits)?` in ASCII, without a regex: the form of `conversionValue.amount`."""
    body = value[1:] if value[:1] == "-" else value
    whole, dot, fraction = body.partition(".")
    if not (whole.isascii() and whole.isdigit()):
        return False
    return not dot or (fraction.isascii() and fraction.isdigit())


def _java(value: Any) -> str:
    """Render a JSON value the way Rest.li's messages do (`String.valueOf` of the Java object)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _unknown(obj: dict, allowed: tuple[str, ...] | frozenset[str], path: str, problems: Problems) -> None:
    for key in obj:
        if key not in allowed:
            problems.append((f"{path}/{key}", UNRECOGNIZED))


def _string(value: Any, path: str, problems: Problems) -> bool:
    """True when `value` is a string; otherwise records Rest.li's coercion error."""
    if isinstance(value, str):
        return True
    problems.append((path, f"{_java(value)} cannot be coerced to String"))
    return False


def _non_empty_string(value: Any, path: str, problems: Problems) -> bool:
    if not _string(value, path, problems):
        return False
    if not value:
        problems.append((path, "string must not be empty"))
        return False
    return True


def _record(value: Any, path: str, problems: Problems) -> bool:
    if isinstance(value, dict):
        return True
    problems.append((path, "record type is not backed by a DataMap"))
    return False


def _conversion_urn(value: Any, problems: Problems) -> None:
    if not _string(value, "/conversion", problems):
        return
    rule = value[len(facts.CONVERSION_URN_PREFIX) :] if value.startswith(facts.CONVERSION_URN_PREFIX) else ""
    if not (rule.isascii() and rule.isdigit() and rule[0] != "0" and len(rule) <= 19):
        problems.append(("/conversion", f"{value} is not a valid {facts.CONVERSION_URN_PREFIX}{{id}} URN"))


def _timestamp(value: Any, now_ms: int, problems: Problems) -> None:
    if type(value) is not int or not -MAX_LONG - 1 <= value <= MAX_LONG:
        problems.append(("/conversionHappenedAt", f"{_java(value)} cannot be coerced to Long"))
    elif value < now_ms - MAX_AGE_MS:
        problems.append(("/conversionHappenedAt", TOO_OLD))
    elif value > now_ms + facts.FUTURE_TOLERANCE_MS:
        problems.append(("/conversionHappenedAt", IN_FUTURE))


def _conversion_value(value: Any, problems: Problems) -> None:
    if not _record(value, "/conversionValue", problems):
        return
    _unknown(value, VALUE_FIELDS, "/conversionValue", problems)
    if "currencyCode" not in value:
        problems.append(("/conversionValue/currencyCode", REQUIRED))
    else:
        code = value["currencyCode"]
        if _string(code, "/conversionValue/currencyCode", problems) and not (
            len(code) == 3 and _UPPER.issuperset(code)
        ):
            problems.append(("/conversionValue/currencyCode", f"{code} is not a three-letter upper-case ISO 4217 code"))
    if "amount" not in value:
        problems.append(("/conversionValue/amount", REQUIRED))
    else:
        amount = value["amount"]
        if _string(amount, "/conversionValue/amount", problems) and not is_decimal_string(amount):
            problems.append(("/conversionValue/amount", f"{amount} is not a decimal number"))


def _event_id(value: Any, problems: Problems) -> None:
    if _non_empty_string(value, "/eventId", problems) and len(value) > facts.MAX_EVENT_ID_LENGTH:
        problems.append(("/eventId", f"length {len(value)} is out of range 1..{facts.MAX_EVENT_ID_LENGTH}"))


def _user(user: Any, api_version: str, problems: Problems) -> None:
    if not _record(user, "/user", problems):
        return
    _unknown(user, user_fields_for_version(api_version), "/user", problems)
    before = len(problems)
    user_ids = user.get("userIds")
    if "userIds" not in user:
        problems.append(("/user/userIds", REQUIRED))
    elif not isinstance(user_ids, list):
        problems.append(("/user/userIds", "array type is not backed by a DataList"))
    else:
        allowed = id_types_for_version(api_version)
        for index, entry in enumerate(user_ids):
            _user_id(entry, f"/user/userIds/{index}", allowed, problems)
    if "userInfo" in user:
        _user_info(user["userInfo"], problems)
    external_ids = user.get("externalIds")
    if "externalIds" in user and "externalIds" in user_fields_for_version(api_version):
        if not isinstance(external_ids, list):
            problems.append(("/user/externalIds", "array type is not backed by a DataList"))
        else:
            for index, item in enumerate(external_ids):
                _non_empty_string(item, f"/user/externalIds/{index}", problems)
    if "lead" in user:
        lead = user["lead"]
        if _string(lead, "/user/lead", problems) and not (
            lead.startswith(facts.LEAD_URN_PREFIX) and len(lead) > len(facts.LEAD_URN_PREFIX)
        ):
            problems.append(("/user/lead", f"{lead} is not a valid {facts.LEAD_URN_PREFIX}{{id}} URN"))
    if len(problems) == before and not (user_ids or "userInfo" in user or external_ids or "lead" in user):
        problems.append(("/user", "no user identifier: userIds is empty and there is no userInfo, externalIds or lead"))
    elif (
        len(problems) == before
        and api_version < facts.LEAD_ALONE_SINCE
        and not (user_ids or "userInfo" in user or external_ids)
    ):
        problems.append(("/user", f"lead alone is not a user identifier before {facts.LEAD_ALONE_SINCE}"))


def _user_id(entry: Any, path: str, allowed: frozenset[str], problems: Problems) -> None:
    if not _record(entry, path, problems):
        return
    _unknown(entry, USER_ID_FIELDS, path, problems)
    id_type = entry.get("idType")
    if "idType" not in entry:
        problems.append((f"{path}/idType", REQUIRED))
    elif not isinstance(id_type, str):
        problems.append((f"{path}/idType", "enum type is not backed by a String"))
    elif id_type not in allowed:
        problems.append((f"{path}/idType", f'"{id_type}" is not an enum symbol'))
    if "idValue" not in entry:
        problems.append((f"{path}/idValue", REQUIRED))
        return
    value = entry["idValue"]
    if not _non_empty_string(value, f"{path}/idValue", problems):
        return
    if id_type in facts.HASHED_ID_TYPES and not (len(value) == 64 and _HEX.issuperset(value)):
        problems.append((f"{path}/idValue", f"{value} is not a lower-case hex SHA-256 digest (64 characters)"))


def _user_info(info: Any, problems: Problems) -> None:
    if not _record(info, "/user/userInfo", problems):
        return
    _unknown(info, USER_INFO_FIELDS, "/user/userInfo", problems)
    for name in ("firstName", "lastName"):
        if name in info:
            _non_empty_string(info[name], f"/user/userInfo/{name}", problems)
        else:
            problems.append((f"/user/userInfo/{name}", REQUIRED))
    for name in ("companyName", "title"):
        if name in info:
            _string(info[name], f"/user/userInfo/{name}", problems)
    if "countryCode" in info:
        code = info["countryCode"]
        if _string(code, "/user/userInfo/countryCode", problems) and not (len(code) == 2 and _UPPER.issuperset(code)):
            problems.append(("/user/userInfo/countryCode", f"{code} is not a two-letter upper-case ISO 3166 code"))
