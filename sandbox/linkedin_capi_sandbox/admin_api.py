"""The admin API under `/_sandbox/`: seed, inject faults, read what arrived — over HTTP, for a sandbox
running in another process (the CLI). Every route is a thin call of the same `Sandbox` method.

Admin requests never pass the fault plan, the quotas or the request counters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from linkedin_capi_sandbox import responses as r
from linkedin_capi_sandbox.restli import parse_query
from linkedin_capi_sandbox.server import Request

if TYPE_CHECKING:
    from linkedin_capi_sandbox.app import Sandbox

Route = Callable[[Any, dict[str, str]], r.Reply]


def _done(_: object = None) -> r.Reply:
    return r.empty_reply(204)


def _created(new_id: int) -> r.Reply:
    return r.json_reply(201, {"id": new_id})


def _jsonl(events: list[dict]) -> r.Reply:
    body = b"".join(orjson.dumps(event) + b"\n" for event in events)
    return r.Reply(200, body, {"Content-Type": "application/x-ndjson"})


class AdminApi:
    """Route `/_sandbox/<name>` by method and name; bodies are JSON objects of keyword arguments."""

    def __init__(self, sandbox: Sandbox) -> None:
        sb = sandbox
        self.routes: dict[tuple[str, str], Route] = {
            ("GET", "health"): lambda body, q: r.json_reply(200, {"status": "ok"}),
            ("POST", "seed"): lambda body, q: _done(sb.seed(body)),
            ("POST", "accounts"): lambda body, q: _done(sb.add_account(**body)),
            ("POST", "tokens"): lambda body, q: _done(sb.add_token(**body)),
            ("POST", "token-state"): lambda body, q: _done(sb.set_token_state(**body)),
            ("POST", "invalidate-tokens"): lambda body, q: r.json_reply(200, {"count": sb.invalidate_tokens(**body)}),
            ("POST", "rules"): lambda body, q: _created(sb.add_rule(**body)),
            ("GET", "rules"): lambda body, q: r.json_reply(200, {"elements": sb.rules(int(q["account_id"]))}),
            ("POST", "campaigns"): lambda body, q: _created(sb.add_campaign(**body)),
            ("POST", "campaign-conversions"): lambda body, q: _done(sb.add_campaign_conversion(**body)),
            ("GET", "campaign-conversions"): lambda body, q: r.json_reply(
                200, {"elements": sorted(sb.campaign_conversions())}
            ),
            ("POST", "oauth-clients"): lambda body, q: _done(sb.add_oauth_client(**body)),
            ("POST", "refresh-tokens"): lambda body, q: _done(sb.add_refresh_token(**body)),
            ("POST", "cdp-token-ids"): lambda body, q: _done(sb.add_cdp_token_id(**body)),
            ("POST", "faults"): lambda body, q: _done(sb.add_fault(**body)),
            ("DELETE", "faults"): lambda body, q: _done(sb.clear_faults()),
            ("POST", "fault-rate"): lambda body, q: _done(sb.set_fault_rate(**body)),
            ("POST", "limits"): lambda body, q: _done(sb.set_limits(**body)),
            ("POST", "error-indices"): lambda body, q: _done(sb.set_error_indices(**body)),
            ("POST", "rule-creation-latency"): lambda body, q: _done(sb.set_rule_creation_latency(**body)),
            ("GET", "events"): lambda body, q: r.json_reply(200, {"elements": sb.events(_rule_id(q))}),
            ("DELETE", "events"): lambda body, q: _done(sb.reset_events()),
            ("GET", "events.jsonl"): lambda body, q: _jsonl(sb.events(_rule_id(q))),
            ("GET", "event-ids"): lambda body, q: r.json_reply(200, {"elements": sb.event_ids()}),
            ("GET", "stats"): lambda body, q: r.json_reply(200, _stats_json(sb.stats())),
            ("DELETE", "stats"): lambda body, q: _done(sb.reset_stats()),
        }

    def __call__(self, request: Request) -> r.Reply:
        name = request.path.removeprefix("/_sandbox/")
        route = self.routes.get((request.method, name))
        if route is None:
            known = sorted(f"{method} /_sandbox/{path}" for method, path in self.routes)
            return r.json_reply(404, {"error": f"no admin route {request.method} {request.path}", "routes": known})
        try:
            body = orjson.loads(request.body) if request.body else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return route(body, parse_query(request.query))
        except (ValueError, TypeError, KeyError) as exc:
            return r.json_reply(400, {"error": f"{type(exc).__name__}: {exc}"})


def _rule_id(query: dict[str, str]) -> int | None:
    return int(query["rule_id"]) if "rule_id" in query else None


def _stats_json(stats: dict[str, Any]) -> dict[str, Any]:
    """JSON object keys are strings; status codes become "200" etc., rule ids "123456"."""
    return {
        **stats,
        "by_status": {str(k): v for k, v in stats["by_status"].items()},
        "duplicates_by_rule": {str(k): v for k, v in stats["duplicates_by_rule"].items()},
    }
