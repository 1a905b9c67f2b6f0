"""Ad accounts and campaigns as the token sees them: the member's role on an account, an account's campaigns.

Reads only; every call goes through `LinkedInClient.request`, so budget, retries and typed errors apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.errors import TransportError
from destination_linkedin_capi.linkedin.client import LinkedInClient

PAGE_SIZE = 100
MAX_PAGES = 1000
CAMPAIGN_URN_PREFIX = "urn:li:sponsoredCampaign:"
#: Roles that may stream conversions and manage rules (every role but VIEWER: docs/linkedin-facts.md §8).
WRITER_ROLES = frozenset({"ACCOUNT_BILLING_ADMIN", "ACCOUNT_MANAGER", "CAMPAIGN_MANAGER", "CREATIVE_MANAGER"})


def urn_id(urn: Any, prefix: str) -> int | None:
    """`urn:li:sponsoredCampaign:123` → 123; None for anything else."""
    if isinstance(urn, str) and urn.startswith(prefix) and urn[len(prefix) :].isdigit():
        return int(urn[len(prefix) :])
    return None


def encoded(urn: str) -> str:
    """A URN as Rest.li wants it inside a query or key: every reserved character percent-encoded (docs/linkedin-facts.md §1)."""
    return quote(urn, safe="")


def paged(client: LinkedInClient, path: str, query: str) -> Iterator[dict[str, Any]]:
    """Every element of a Rest.li collection, following `start`/`count` pages until a short or empty page."""
    start = 0
    for _ in range(MAX_PAGES):
        response = client.request("GET", path, params=f"{query}&start={start}&count={PAGE_SIZE}")
        try:
            body = response.json()
        except ValueError:
            body = None
        elements = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(elements, list):
            raise TransportError(f"LinkedIn answered GET {path} without a list of elements.")
        yield from (element for element in elements if isinstance(element, dict))
        total = (body.get("paging") or {}).get("total")
        start += len(elements)
        if len(elements) < PAGE_SIZE or (isinstance(total, int) and 0 <= total <= start):
            return
    raise TransportError(f"LinkedIn kept paging GET {path} beyond {MAX_PAGES * PAGE_SIZE} elements; stopped.")


def account_roles(client: LinkedInClient) -> dict[int, str]:
    """Ad account ID → the token member's role on it (`ACCOUNT_MANAGER`, `VIEWER`, ...), for every account."""
    roles = {}
    for element in paged(client, c.AD_ACCOUNT_USERS_PATH, "q=authenticatedUser"):
        account = urn_id(element.get("account"), c.SPONSORED_ACCOUNT_URN_PREFIX)
        role = element.get("role")
        if account is not None and isinstance(role, str):
            roles[account] = role
    return roles


def campaign_ids(client: LinkedInClient, account_id: int, status: str | None = None) -> set[int]:
    """IDs of the account's campaigns, optionally only those with `status` (e.g. ACTIVE)."""
    query = "q=search"
    if status:
        query += f"&search=(status:(values:List({status})))"
    ids = set()
    for element in paged(client, f"{c.AD_ACCOUNTS_PATH}/{account_id}/adCampaigns", query):
        campaign = element.get("id")
        if isinstance(campaign, int):
            ids.add(campaign)
        elif (from_urn := urn_id(campaign, CAMPAIGN_URN_PREFIX)) is not None:
            ids.add(from_urn)
    return ids
