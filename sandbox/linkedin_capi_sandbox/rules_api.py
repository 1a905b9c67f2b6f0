"""Conversion rules (`/rest/conversions`) and campaign associations (`/rest/campaignConversions`).

Rule bodies are checked field by field with Rest.li's wording, so a client that creates or edits
a rule wrongly gets the 422 LinkedIn would give instead of a silent success.
"""

from __future__ import annotations

import time
from typing import Any

from linkedin_capi_sandbox import facts
from linkedin_capi_sandbox import responses as r
from linkedin_capi_sandbox.rest_call import (
    Call,
    account_param,
    collection,
    finder,
    project,
    require_json_body,
)
from linkedin_capi_sandbox.restli import RestliSyntaxError, parse_element, urn_id
from linkedin_capi_sandbox.store import Store
from linkedin_capi_sandbox.validation import REQUIRED, UNRECOGNIZED

CAMPAIGN_URN_PREFIX = "urn:li:sponsoredCampaign:"
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "created",
        "lastModified",
        "campaigns",
        "associatedCampaigns",
        "urlRules",
        "value",
        "imagePixelTag",
        "lastCallbackAt",
    }
)
CREATE_ONLY_FIELDS = frozenset({"account", "conversionMethod"})
EDITABLE_FIELDS = frozenset(
    {"name", "type", "enabled", "attributionType", "postClickAttributionWindowSize", "viewThroughAttributionWindowSize"}
)
ENUMS: dict[str, frozenset[str] | tuple[str, ...]] = {
    "type": facts.CONVERSION_TYPES,
    "conversionMethod": facts.CONVERSION_METHODS,
    "attributionType": facts.ATTRIBUTION_TYPES,
}
WINDOWS = {
    "postClickAttributionWindowSize": facts.POST_CLICK_WINDOWS,
    "viewThroughAttributionWindowSize": facts.VIEW_THROUGH_WINDOWS,
}


def handle_rules(store: Store, call: Call, rule_key: str | None) -> r.Reply:
    """Route `/rest/conversions[/{id}]` by method and `X-RestLi-Method`."""
    method = call.request.method
    restli_method = (call.request.header("X-RestLi-Method") or "").upper()
    if rule_key is None:
        if method == "GET":
            return _list_rules(store, call)
        if method == "POST" and restli_method in ("", "CREATE"):
            return _create_rule(store, call)
    elif rule_key.isascii() and rule_key.isdigit():
        if method == "GET":
            return _get_rule(store, call, int(rule_key))
        if method == "POST" and restli_method == "PARTIAL_UPDATE":
            return _update_rule(store, call, int(rule_key))
    else:
        return r.bad_request(f"Invalid conversion id {rule_key!r}")
    return r.error(405, f"{method} (X-RestLi-Method {restli_method or 'none'}) is not supported on conversions")


def _list_rules(store: Store, call: Call) -> r.Reply:
    refusal = finder(call.request, "account")
    if refusal is not None:
        return refusal
    account_id = account_param(call.request)
    if isinstance(account_id, r.Reply):
        return account_id
    if account_id in store.accounts and account_id not in call.token.accounts:
        return r.access_denied("conversions.FINDER-account")
    return collection(call.request, [store.rule_view(rule) for rule in store.rules_of(account_id)])


def _get_rule(store: Store, call: Call, rule_id: int) -> r.Reply:
    account_id = account_param(call.request)
    if isinstance(account_id, r.Reply):
        return account_id
    if account_id not in call.token.accounts:
        return r.access_denied("conversions.GET")
    rule = store.rules.get(rule_id)
    if rule is None or rule.account_id != account_id:
        return r.not_found(f"Conversion {rule_id} not found in account {account_id}")
    return r.json_reply(200, project(call.request, store.rule_view(rule)))


def _create_rule(store: Store, call: Call) -> r.Reply:
    body = require_json_body(call.request)
    if isinstance(body, r.Reply):
        return body
    if not isinstance(body, dict):
        return r.unprocessable("ERROR ::  :: record type is not backed by a DataMap\n")
    problems = [(f"/{key}", "ReadOnly field present in a create request") for key in body if key in READ_ONLY_FIELDS]
    allowed = READ_ONLY_FIELDS | CREATE_ONLY_FIELDS | EDITABLE_FIELDS
    problems += [(f"/{key}", UNRECOGNIZED) for key in body if key not in allowed]
    problems += [(f"/{key}", REQUIRED) for key in ("name", "account", "conversionMethod", "type") if key not in body]
    problems += _field_problems(body)
    account_id = urn_id(body.get("account"), facts.SPONSORED_ACCOUNT_URN_PREFIX)
    if "account" in body and account_id is None:
        problems.append(
            ("/account", f"{body['account']} is not a valid {facts.SPONSORED_ACCOUNT_URN_PREFIX}{{id}} URN")
        )
    if problems:
        return _unprocessable(problems)
    assert account_id is not None
    if call.token.accounts.get(account_id) not in facts.WRITE_ROLES:
        return r.access_denied("conversions.CREATE")
    if store.rule_creation_latency:
        time.sleep(store.rule_creation_latency)  # outside the lock: parallel creations overlap, as on LinkedIn
    rule_id = store.add_rule(account_id, None, body)
    headers = {"x-restli-id": str(rule_id), "Location": f"/conversions/{rule_id}"}
    return r.json_reply(201, store.rule_view(store.rules[rule_id]), headers)


def _update_rule(store: Store, call: Call, rule_id: int) -> r.Reply:
    account_id = account_param(call.request)
    if isinstance(account_id, r.Reply):
        return account_id
    body = require_json_body(call.request)
    if isinstance(body, r.Reply):
        return body
    patch = body.get("patch") if isinstance(body, dict) else None
    if (
        not isinstance(patch, dict)
        or set(body) != {"patch"}
        or set(patch) != {"$set"}
        or not isinstance(patch["$set"], dict)
    ):
        return r.bad_request('A PARTIAL_UPDATE body must be {"patch": {"$set": {...}}}')
    changes: dict[str, Any] = patch["$set"]
    problems = [
        (f"/{key}", "ReadOnly field present in a partial_update request") for key in changes if key in READ_ONLY_FIELDS
    ]
    problems += [
        (f"/{key}", "CreateOnly field present in a partial_update request")
        for key in changes
        if key in CREATE_ONLY_FIELDS
    ]
    problems += [
        (f"/{key}", UNRECOGNIZED)
        for key in changes
        if key not in READ_ONLY_FIELDS | CREATE_ONLY_FIELDS | EDITABLE_FIELDS
    ]
    rule = store.rules.get(rule_id)
    if rule is not None:
        problems += _field_problems({**rule.data, **changes})
    if problems:
        return _unprocessable(problems)
    if call.token.accounts.get(account_id) not in facts.WRITE_ROLES:
        return r.access_denied("conversions.PARTIAL_UPDATE")
    if rule is None or rule.account_id != account_id:
        return r.not_found(f"Conversion {rule_id} not found in account {account_id}")
    with store.lock:
        rule.data.update(changes)
        rule.data["lastModified"] = int(store.clock() * 1000)
    return r.empty_reply(204)


def _field_problems(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Type and enum problems of rule fields, and the 365-day window allowed only for some types."""
    problems = []
    if "name" in fields and not (isinstance(fields["name"], str) and fields["name"].strip()):
        problems.append(("/name", f"{fields['name']} is not a non-empty String"))
    if "enabled" in fields and not isinstance(fields["enabled"], bool):
        problems.append(("/enabled", f"{fields['enabled']} cannot be coerced to Boolean"))
    for key, symbols in ENUMS.items():
        if key in fields and fields[key] not in symbols:
            problems.append((f"/{key}", f'"{fields[key]}" is not an enum symbol'))
    for key, sizes in WINDOWS.items():
        value = fields.get(key)
        if key in fields and (type(value) is not int or value not in sizes):
            problems.append((f"/{key}", f"{value} is not one of {list(sizes)}"))
    if fields.get("postClickAttributionWindowSize") == 365 and fields.get("type") not in facts.POST_CLICK_365_TYPES:
        problems.append(("/postClickAttributionWindowSize", f"365 is not allowed for type {fields.get('type')}"))
    return problems


def _unprocessable(problems: list[tuple[str, str]]) -> r.Reply:
    return r.unprocessable("".join(f"ERROR :: {pointer} :: {reason}\n" for pointer, reason in problems))


def handle_campaign_conversions(store: Store, call: Call, raw_key: str | None) -> r.Reply:
    """`PUT /rest/campaignConversions/(campaign:..,conversion:..)` → 204, or the batch form → 200."""
    request = call.request
    if request.method != "PUT":
        return r.error(405, f"{request.method} is not supported on campaignConversions")
    body = require_json_body(request)
    if isinstance(body, r.Reply):
        return body
    if raw_key is not None:
        status, message = _associate(store, call, raw_key, body)
        return r.empty_reply(204) if status == 204 else r.error(status, message)
    if (request.header("X-RestLi-Method") or "BATCH_UPDATE").upper() != "BATCH_UPDATE":
        return r.bad_request("X-RestLi-Method must be BATCH_UPDATE for a batch PUT")
    try:
        ids = parse_element(request.params.get("ids", ""))
        entities = body.get("entities") if isinstance(body, dict) else None
        keys = {key: parse_element(key) for key in entities} if isinstance(entities, dict) else None
    except RestliSyntaxError as exc:
        return r.bad_request(f"Invalid campaignConversions keys: {exc}")
    if not isinstance(ids, list) or keys is None or set(body) != {"entities"}:
        return r.bad_request('A batch PUT needs ?ids=List((campaign:..,conversion:..),...) and {"entities": {...}}')
    if sorted(map(repr, ids)) != sorted(map(repr, keys.values())):
        return r.bad_request("The keys of entities must be exactly the keys listed in ids")
    results: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for raw, entity in entities.items():
        status, message = _associate(store, call, raw, entity)
        if status == 204:
            results[raw] = {"status": 204}
        else:
            errors[raw] = {"status": status, "message": message}
    return r.json_reply(200, {"results": results, "errors": errors})


def _associate(store: Store, call: Call, raw_key: str, entity: Any) -> tuple[int, str]:
    """Link one campaign to one rule; (204, "") or (status, message)."""
    try:
        key = parse_element(raw_key)
    except RestliSyntaxError as exc:
        return 400, f"Invalid campaignConversions key: {exc}"
    if not isinstance(key, dict) or set(key) != {"campaign", "conversion"}:
        return 400, "A campaignConversions key is (campaign:<encoded URN>,conversion:<encoded URN>)"
    campaign_id = urn_id(key["campaign"], CAMPAIGN_URN_PREFIX)
    rule_id = urn_id(key["conversion"], facts.CONVERSION_URN_PREFIX)
    if campaign_id is None or rule_id is None:
        return 400, "campaign must be a urn:li:sponsoredCampaign URN and conversion a urn:lla:llaPartnerConversion URN"
    if not isinstance(entity, dict):
        return 400, "A campaignConversions entity must be a JSON object"
    unknown = sorted(set(entity) - {"campaign", "conversion"})
    if unknown:
        return 422, "".join(f"ERROR :: /{name} :: {UNRECOGNIZED}\n" for name in unknown)
    if entity.get("campaign") != key["campaign"] or entity.get("conversion") != key["conversion"]:
        return 400, "The body's campaign and conversion must match the key"
    rule = store.rules.get(rule_id)
    campaign = store.campaigns.get(campaign_id)
    if rule is None or call.token.accounts.get(rule.account_id) is None:
        return 403, r.NO_AD_ACCOUNTS_MESSAGE
    if call.token.accounts[rule.account_id] not in facts.WRITE_ROLES:
        return 403, "Not enough permissions to access: campaignConversions.UPDATE"
    if campaign is None or campaign.account_id != rule.account_id:
        return 400, f"Campaign {campaign_id} is not a campaign of ad account {rule.account_id}"
    with store.lock:
        store.campaign_conversions.setdefault((campaign_id, rule_id), int(store.clock() * 1000))
    return 204, ""
