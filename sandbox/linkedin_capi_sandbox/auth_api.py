"""Token minting: LinkedIn's OAuth refresh (`POST /oauth/v2/accessToken`) and the CDP
token service of the `token_id` auth mode (`POST /cdp/v1/token`, contract in docs/sandbox.md).

Both mint a fresh access token per call and register it in the store with the grant's accounts,
so the connector's next `/rest/` call authenticates exactly as it would in production.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from urllib.parse import parse_qs

import orjson

from linkedin_capi_sandbox import responses as r
from linkedin_capi_sandbox.server import Request
from linkedin_capi_sandbox.store import RefreshToken, Store, Token

SCOPE = "r_ads,rw_conversions"


def _mint(store: Store, prefix: str, accounts: dict[int, str], ttl: int, member: str) -> str:
    """Every token minted for one grant (refresh token, CDP token ID) is the same member's: one quota."""
    token = f"{prefix}-{secrets.token_urlsafe(24)}"
    with store.lock:
        store.tokens[token] = Token(token, dict(accounts), "valid", store.clock() + ttl, member)
    return token


def _rotate(store: Store, used: str, grant: RefreshToken) -> str:
    """A successor of the used refresh token (same client, accounts, expiry and member); the used one is revoked."""
    successor = f"AQR-{secrets.token_urlsafe(24)}"
    with store.lock:
        store.refresh_tokens[successor] = replace(grant)
        store.refresh_tokens[used].state = "revoked"
    return successor


def handle_oauth(store: Store, request: Request) -> r.Reply:
    """`grant_type=refresh_token` → a new 60-day access token; the refresh token keeps its first expiry."""
    if request.method != "POST":
        return r.oauth_error(405, "invalid_request", "Use POST")
    content_type = (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return r.oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
    form = {key: values[-1] for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
    for name in ("grant_type", "refresh_token", "client_id", "client_secret"):
        if not form.get(name):
            return r.oauth_error(400, "invalid_request", f'A required parameter "{name}" is missing')
    if form["grant_type"] != "refresh_token":
        return r.oauth_error(400, "unsupported_grant_type", f"grant_type {form['grant_type']} is not supported")
    client_id = form["client_id"]
    if store.oauth_clients.get(client_id) != form["client_secret"]:
        return r.json_reply(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
    grant = store.refresh_tokens.get(form["refresh_token"])
    now = store.clock()
    if grant is None or grant.client_id != client_id or grant.state != "valid" or now >= grant.expires_at:
        return r.oauth_error(
            400, "invalid_grant", "The provided authorization grant or refresh token is invalid, expired or revoked"
        )
    member = grant.member or f"refresh-token:{form['refresh_token']}"
    access_token = _mint(store, "oauth", grant.accounts, grant.access_token_ttl, member)
    refresh_token = form["refresh_token"]
    if grant.rotate:
        refresh_token = _rotate(store, refresh_token, replace(grant, member=member))
    return r.json_reply(
        200,
        {
            "access_token": access_token,
            "expires_in": grant.access_token_ttl,
            "refresh_token": refresh_token,
            "refresh_token_expires_in": int(grant.expires_at - now),
            "scope": SCOPE,
        },
    )


def handle_cdp(store: Store, request: Request) -> r.Reply:
    """Exchange `{"token_id", "account_id"}` for an access token covering the token ID's accounts."""
    if request.method != "POST":
        return r.cdp_error(405, "invalid_request", "Use POST")
    try:
        body = orjson.loads(request.body)
    except ValueError:
        body = None
    token_id = body.get("token_id") if isinstance(body, dict) else None
    account = body.get("account_id") if isinstance(body, dict) else None
    if not all(isinstance(v, str) and v.isascii() and v.isdigit() for v in (token_id, account)):
        return r.cdp_error(400, "invalid_request", 'Body must be {"token_id": "<digits>", "account_id": "<digits>"}')
    assert isinstance(token_id, str) and isinstance(account, str)
    grant = store.cdp_token_ids.get(token_id)
    if grant is None:
        return r.cdp_error(404, "unknown_token_id", f"Token ID {token_id} is not known to this token service")
    if grant.service_key is not None:
        scheme, _, key = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(key.strip().encode(), grant.service_key.encode()):
            return r.cdp_error(401, "invalid_service_key", "Missing or wrong service key (Authorization: Bearer <key>)")
    if int(account) not in grant.accounts:
        return r.cdp_error(
            403, "account_not_authorized", f"Token ID {token_id} is not authorised for account {account}"
        )
    access_token = _mint(store, "cdp", grant.accounts, grant.access_token_ttl, f"token-id:{token_id}")
    return r.json_reply(
        200,
        {"access_token": access_token, "token_type": "Bearer", "expires_in": grant.access_token_ttl, "scope": SCOPE},
    )
