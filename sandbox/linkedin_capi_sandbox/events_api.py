"""`POST /rest/conversionEvents`, single and `BATCH_CREATE`.

All or nothing: the first failing class of check decides the answer and nothing is stored.
Precedence follows Rest.li's layering: schema (422) before the resource's own checks, which
are rule visibility (403), rule method (400) and the timestamp window (400), in that order.
"""

from __future__ import annotations

from typing import Any

from linkedin_capi_sandbox import facts
from linkedin_capi_sandbox import responses as r
from linkedin_capi_sandbox.rest_call import Call, require_json_body
from linkedin_capi_sandbox.restli import urn_id
from linkedin_capi_sandbox.store import Rule, Store
from linkedin_capi_sandbox.validation import WINDOW_REASONS, validate_element


def handle(store: Store, call: Call) -> r.Reply:
    """Validate every element, then store them all or none."""
    request = call.request
    if request.method != "POST":
        return r.error(405, f"{request.method} is not supported on conversionEvents")
    body = require_json_body(request)
    if isinstance(body, r.Reply):
        return body
    method = (request.header("X-RestLi-Method") or "").upper()
    if method == "BATCH_CREATE":
        if not isinstance(body, dict) or set(body) != {"elements"} or not isinstance(body["elements"], list):
            return r.bad_request('A BATCH_CREATE body must be {"elements": [...]}')
        elements = body["elements"]
        if not 1 <= len(elements) <= facts.MAX_BATCH_SIZE:
            return r.bad_request(
                f"A BATCH_CREATE request must hold 1 to {facts.MAX_BATCH_SIZE} elements; this one has {len(elements)}"
            )
        batch = True
    elif method in ("", "CREATE"):
        elements, batch = [body], False
    else:
        return r.bad_request(f"X-RestLi-Method {method} is not supported on conversionEvents")

    indexed = store.error_indices
    lines, outside_window = _schema_problems(elements, call.version, int(store.clock() * 1000), batch and indexed)
    if lines:
        return r.unprocessable("".join(lines))
    rules = _resolve_rules(store, call, elements)
    if isinstance(rules, r.Reply):
        return rules
    if outside_window:
        return r.bad_request(f"{r.WINDOW_MESSAGE}, {r.indices_text(outside_window)}" if indexed else r.WINDOW_MESSAGE)
    store.record_events(elements, rules, batch)
    if batch:
        return r.json_reply(200, {"elements": [{"status": 201}] * len(elements)})
    return r.empty_reply(201)


def _schema_problems(elements: list[Any], version: str, now_ms: int, batch: bool) -> tuple[list[str], list[int]]:
    """LinkedIn's 422 lines (`Index: n, ERROR :: /ptr :: reason`) and the indices outside the time window."""
    lines: list[str] = []
    outside_window: list[int] = []
    for index, element in enumerate(elements):
        problems = validate_element(element, api_version=version, now_ms=now_ms)
        if not problems:
            continue
        schema = [(pointer, reason) for pointer, reason in problems if reason not in WINDOW_REASONS]
        if not schema:
            outside_window.append(index)
            continue
        for number, (pointer, reason) in enumerate(schema):
            prefix = f"Index: {index}, " if batch and number == 0 else ""
            lines.append(f"{prefix}ERROR :: {pointer} :: {reason}\n")
    return lines, outside_window


def _resolve_rules(store: Store, call: Call, elements: list[dict[str, Any]]) -> list[Rule] | r.Reply:
    """The rule of every element; 403 when one is unknown or unreachable, 400 when one is not CAPI."""
    rules: list[Rule] = []
    read_only = False
    for element in elements:
        rule_id = urn_id(element["conversion"], facts.CONVERSION_URN_PREFIX)
        rule = store.rules.get(rule_id) if rule_id is not None else None
        role = call.token.accounts.get(rule.account_id) if rule is not None else None
        if rule is None or role is None:
            return r.error(403, r.NO_AD_ACCOUNTS_MESSAGE)
        read_only = read_only or role not in facts.WRITE_ROLES
        rules.append(rule)
    if read_only:
        method = "BATCH_CREATE" if call.request.header("X-RestLi-Method") else "CREATE"
        return r.access_denied(f"conversionEvents.{method}")
    non_capi = [index for index, rule in enumerate(rules) if rule.conversion_method != "CONVERSIONS_API"]
    if non_capi:
        return r.bad_request(f"{r.NON_CAPI_MESSAGE}, {r.indices_text(non_capi)}")
    return rules
