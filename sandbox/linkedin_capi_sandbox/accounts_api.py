"""Ad accounts, the token's account roles and campaigns: what `check` and campaign association read."""

from __future__ import annotations

from typing import Any

from linkedin_capi_sandbox import facts
from linkedin_capi_sandbox import responses as r
from linkedin_capi_sandbox.rest_call import Call, collection, finder, project, search_finder
from linkedin_capi_sandbox.rules_api import CAMPAIGN_URN_PREFIX
from linkedin_capi_sandbox.store import Account, Campaign, Store

SANDBOX_MEMBER_URN = "urn:li:person:sandboxMember"


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "status": account.status,
        "type": "BUSINESS",
        "currency": "USD",
        "reference": f"urn:li:organization:{account.id}",
        "test": True,
    }


def campaign_view(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "account": f"{facts.SPONSORED_ACCOUNT_URN_PREFIX}{campaign.account_id}",
        "status": campaign.status,
        "type": "SPONSORED_UPDATES",
        "urn": f"{CAMPAIGN_URN_PREFIX}{campaign.id}",
    }


def handle_ad_accounts(store: Store, call: Call, segments: list[str]) -> r.Reply:
    """`/rest/adAccounts?q=search`, `/rest/adAccounts/{id}`, `/rest/adAccounts/{id}/adCampaigns?q=search`."""
    if call.request.method != "GET":
        return r.error(405, f"{call.request.method} is not supported on adAccounts")
    if not segments:
        return _search_accounts(store, call)
    if not (segments[0].isascii() and segments[0].isdigit()) or len(segments) > 2:
        return r.not_found("No virtual resource found")
    account_id = int(segments[0])
    account = store.accounts.get(account_id)
    if account is None:
        return r.not_found(f"Ad account {account_id} not found")
    if account_id not in call.token.accounts:
        return r.access_denied("adAccounts.GET")
    if len(segments) == 1:
        return r.json_reply(200, project(call.request, account_view(account)))
    if segments[1] != "adCampaigns":
        return r.not_found("No virtual resource found")
    statuses = search_finder(call.request)
    if isinstance(statuses, r.Reply):
        return statuses
    with store.lock:
        campaigns = sorted(
            (
                cp
                for cp in store.campaigns.values()
                if cp.account_id == account_id and (statuses is None or cp.status in statuses)
            ),
            key=lambda cp: cp.id,
        )
    return collection(call.request, [campaign_view(cp) for cp in campaigns])


def _search_accounts(store: Store, call: Call) -> r.Reply:
    statuses = search_finder(call.request)
    if isinstance(statuses, r.Reply):
        return statuses
    with store.lock:
        accounts = [
            account_view(store.accounts[account_id])
            for account_id in sorted(call.token.accounts)
            if account_id in store.accounts and (statuses is None or store.accounts[account_id].status in statuses)
        ]
    return collection(call.request, accounts)


def handle_ad_account_users(store: Store, call: Call) -> r.Reply:
    """`GET /rest/adAccountUsers?q=authenticatedUser`: the token's accounts with its role on each."""
    if call.request.method != "GET":
        return r.error(405, f"{call.request.method} is not supported on adAccountUsers")
    refusal = finder(call.request, "authenticatedUser")
    if refusal is not None:
        return refusal
    users = [
        {"account": f"{facts.SPONSORED_ACCOUNT_URN_PREFIX}{account_id}", "role": role, "user": SANDBOX_MEMBER_URN}
        for account_id, role in sorted(call.token.accounts.items())
    ]
    return collection(call.request, users)
