"""What every `/rest/` handler shares: the authenticated call, body and query helpers, paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from linkedin_capi_sandbox import facts
from linkedin_capi_sandbox import responses as r
from linkedin_capi_sandbox.restli import RestliSyntaxError, parse_element, primitive_param, urn_id
from linkedin_capi_sandbox.server import Request
from linkedin_capi_sandbox.store import Token

DEFAULT_PAGE_SIZE = 10  # Rest.li's default `count` for finders


@dataclass
class Call:
    """A request that passed the gateway: its token and `LinkedIn-Version` are known good."""

    request: Request
    token: Token
    version: str


def require_json_body(request: Request) -> Any:
    """The JSON body of a write, or the 415/400 reply LinkedIn gives for a wrong one."""
    content_type = (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return r.error(415, f"Unsupported Content-Type {content_type or '(none)'}; expected application/json")
    try:
        return request.json()
    except ValueError as exc:
        return r.bad_request(f"Could not parse the request body as JSON: {exc}")


def account_param(request: Request, name: str = "account") -> int | r.Reply:
    """A required `urn:li:sponsoredAccount:N` query parameter (percent-encoded, as Rest.li wants it)."""
    try:
        value = primitive_param(request.params, name)
    except RestliSyntaxError as exc:
        return r.bad_request(f"Invalid query parameter {name}: {exc}")
    if value is None:
        return r.bad_request(f"Query parameter {name} is required")
    account_id = urn_id(value, facts.SPONSORED_ACCOUNT_URN_PREFIX)
    if account_id is None:
        return r.bad_request(f"Query parameter {name} must be a {facts.SPONSORED_ACCOUNT_URN_PREFIX}{{id}} URN")
    return account_id


def finder(request: Request, name: str) -> r.Reply | None:
    """None when `q=` names this finder, else LinkedIn's 400."""
    if request.params.get("q") != name:
        return r.bad_request(f"Unsupported or missing finder q={request.params.get('q')!r}; expected q={name}")
    return None


def search_finder(request: Request) -> set[str] | r.Reply | None:
    """The `q=search` finder: its `search=(status:(values:List(A,B)))` as a set of statuses, None when
    absent, or the 400 for a missing finder or a malformed search."""
    refusal = finder(request, "search")
    if refusal is not None:
        return refusal
    raw = request.params.get("search")
    if raw is None:
        return None
    try:
        search = parse_element(raw)
    except RestliSyntaxError as exc:
        return r.bad_request(f"Invalid query parameter search: {exc}")
    status = search.get("status") if isinstance(search, dict) else None
    values = status.get("values") if isinstance(status, dict) else None
    if not isinstance(search, dict) or set(search) != {"status"} or not isinstance(values, list):
        return r.bad_request("Invalid query parameter search: the sandbox supports (status:(values:List(...)))")
    return {str(value) for value in values}


def collection(request: Request, elements: list[dict[str, Any]]) -> r.Reply:
    """A Rest.li collection page (`start`/`count`, `paging` with `total`) with `fields=` projection."""
    try:
        start = int(request.params.get("start", "0"))
        count = int(request.params.get("count", str(DEFAULT_PAGE_SIZE)))
    except ValueError:
        return r.bad_request("start and count must be integers")
    if start < 0 or count < 0:
        return r.bad_request("start and count must be >= 0")
    page = [project(request, element) for element in elements[start : start + count]]
    return r.json_reply(
        200, {"paging": {"start": start, "count": count, "links": [], "total": len(elements)}, "elements": page}
    )


def project(request: Request, entity: dict[str, Any]) -> dict[str, Any]:
    """Apply a top-level `fields=a,b,c` projection (nested projections are kept whole)."""
    raw = request.params.get("fields")
    if not raw:
        return entity
    wanted = {part.split("(", 1)[0] for part in unquote(raw).split(",")}
    return {key: value for key, value in entity.items() if key in wanted}
