"""The 2026 identifier types: a client IP address and the Google advertising ID (docs/mapping.md §3).

One function per identifier, called by both mapping paths so they agree byte for byte: a record value →
its `userIds` entry, or the code of the note that says why it was left out. Which types the configured
API version takes, and whether addresses are hashed, come from `Settings` (docs/linkedin-facts.md §4).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.mapping.normalize import is_sha256_hex
from destination_linkedin_capi.mapping.settings import Settings

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ZERO_UUID = "00000000-0000-0000-0000-000000000000"  # what a device sends when ad tracking is limited

UserId = dict[str, str]


def ip_user_id(s: Settings, value: Any) -> UserId | str:
    """An IPv4 address (plain, or SHA-256 when `hash_ip_addresses` is on), or an already hashed one; else a note."""
    if value.__class__ is not str:
        return "invalid_ip_address_dropped"
    text = value.strip()
    if len(text) == 64 and is_sha256_hex(text):
        if not s.sha256_ip_supported:
            return "ip_address_unsupported_dropped"
        return {"idType": c.ID_SHA256_IP, "idValue": text.lower()}
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return "invalid_ip_address_dropped"
    if address.version == 6:
        mapped = address.ipv4_mapped
        if mapped is None:
            return "ipv6_address_dropped"
        address = mapped
    if s.hash_ip_addresses:
        if not s.sha256_ip_supported:
            return "ip_address_unsupported_dropped"
        return {"idType": c.ID_SHA256_IP, "idValue": hashlib.sha256(str(address).encode()).hexdigest()}
    if not s.plaintext_ip_supported:
        return "ip_address_unsupported_dropped"
    return {"idType": c.ID_PLAINTEXT_IP, "idValue": str(address)}


def google_aid_user_id(s: Settings, value: Any) -> UserId | str:
    """A Google advertising ID in UUID form, sent in lower case; else a note."""
    if value.__class__ is not str:
        return "invalid_google_aid_dropped"
    text = value.strip().lower()
    if not _UUID.fullmatch(text) or text == _ZERO_UUID:
        return "invalid_google_aid_dropped"
    if not s.google_aid_supported:
        return "google_aid_unsupported_dropped"
    return {"idType": c.ID_GOOGLE_AID, "idValue": text}
