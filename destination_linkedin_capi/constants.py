"""LinkedIn facts the connector relies on, in one place.

Each group cites the section of `docs/linkedin-facts.md` that says where its values come from (LinkedIn's docs,
its own connectors, integrators or observation).
"""

from __future__ import annotations

import datetime as dt

VERSION = "0.2.0"

# §1 endpoints
DEFAULT_API_BASE_URL = "https://api.linkedin.com"
DEFAULT_OAUTH_BASE_URL = "https://www.linkedin.com"
CONVERSION_EVENTS_PATH = "/rest/conversionEvents"
CONVERSIONS_PATH = "/rest/conversions"
CAMPAIGN_CONVERSIONS_PATH = "/rest/campaignConversions"
AD_ACCOUNTS_PATH = "/rest/adAccounts"
AD_ACCOUNT_USERS_PATH = "/rest/adAccountUsers"
OAUTH_TOKEN_PATH = "/oauth/v2/accessToken"

RESTLI_PROTOCOL_VERSION = "2.0.0"

# §2 — sunset dates of Marketing API versions (first day a version answers 426).
VERSION_SUNSET_DATES: dict[str, dt.date] = {
    "202508": dt.date(2026, 8, 17),
    "202509": dt.date(2026, 9, 15),
    "202510": dt.date(2026, 10, 15),
    "202511": dt.date(2026, 11, 16),
    "202601": dt.date(2027, 1, 15),
    "202602": dt.date(2027, 2, 15),
    "202603": dt.date(2027, 3, 16),
    "202604": dt.date(2027, 4, 15),
    "202605": dt.date(2027, 5, 15),
    "202606": dt.date(2027, 6, 15),
    "202607": dt.date(2027, 7, 15),
}
# The newest version seen live in LinkedIn's docs and integrators' clients, with the longest runway left (§2).
DEFAULT_API_VERSION = "202607"
SUNSET_WARNING_DAYS = 60

# §3 limits
MAX_BATCH_SIZE = 5000
MAX_REQUESTS_PER_MINUTE = 600
DEFAULT_REQUESTS_PER_DAY = 300_000
MAX_EVENT_AGE = dt.timedelta(days=90)
MAX_EVENT_ID_LENGTH = 64  # §3 (Salesforce's cap; LinkedIn documents none)

# §4 — identifier types.
ID_SHA256_EMAIL = "SHA256_EMAIL"
ID_LINKEDIN_UUID = "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID"
ID_ACXIOM = "ACXIOM_ID"
ID_ORACLE_MOAT = "ORACLE_MOAT_ID"
# §4 — the 2026 identifier types: PLAINTEXT_IP_ADDRESS (a client IPv4 address, which LinkedIn hashes),
# SHA256_IP_ADDRESS (SHA-256 of the IPv4 address) and GOOGLE_AID (the Android advertising ID, unhashed).
# LinkedIn documents IPv4 only.
ID_PLAINTEXT_IP = "PLAINTEXT_IP_ADDRESS"
ID_SHA256_IP = "SHA256_IP_ADDRESS"
ID_GOOGLE_AID = "GOOGLE_AID"
# §4 — the first API version whose schema has each of the 2026 identifier types.
ID_TYPE_FIRST_VERSION: dict[str, str] = {ID_PLAINTEXT_IP: "202601", ID_SHA256_IP: "202607", ID_GOOGLE_AID: "202605"}
# §4 — the first API version that takes the lead (user.lead) as an event's only user identifier.
LEAD_ALONE_FIRST_VERSION = "202605"
# §4 — the last API version the connector sends an idType with. ORACLE_MOAT_ID is missing from LinkedIn's
# documentation from its 2026-05 version (202605) on and reported removed from the schema by 202609; one
# refused idType fails a whole batch, so the stricter reading is taken.
ID_TYPE_LAST_VERSION: dict[str, str] = {ID_ORACLE_MOAT: "202604"}

CONVERSION_URN_PREFIX = "urn:lla:llaPartnerConversion:"
SPONSORED_ACCOUNT_URN_PREFIX = "urn:li:sponsoredAccount:"
LEAD_URN_PREFIX = "urn:li:leadGenFormResponse:"

# §7 — conversion rule types.
CONVERSION_TYPES: tuple[str, ...] = (
    "ADD_TO_CART",
    "DOWNLOAD",
    "INSTALL",
    "KEY_PAGE_VIEW",
    "LEAD",
    "PURCHASE",
    "SIGN_UP",
    "OTHER",
    "TALENT_LEAD",
    "JOB_APPLY",
    "SAVE",
    "START_CHECKOUT",
    "SCHEDULE",
    "VIEW_CONTENT",
    "VIEW_VIDEO",
    "ADD_BILLING_INFO",
    "BOOK_APPOINTMENT",
    "REQUEST_QUOTE",
    "SEARCH",
    "SUBSCRIBE",
    "AD_CLICK",
    "AD_VIEW",
    "COMPLETE_SIGNUP",
    "SUBMIT_APPLICATION",
    "PHONE_CALL",
    "INVITE",
    "LOGIN",
    "SHARE",
    "DONATE",
    "ADD_TO_LIST",
    "RATE",
    "START_TRIAL",
    "OUTBOUND_CLICK",
    "CONTACT",
    "MARKETING_QUALIFIED_LEAD",
    "SALES_QUALIFIED_LEAD",
    "QUALIFIED_LEAD",
)

# §7 — rule attribution settings.
ATTRIBUTION_TYPES = ("LAST_TOUCH_BY_CAMPAIGN", "LAST_TOUCH_BY_CONVERSION")
POST_CLICK_WINDOWS = (1, 7, 30, 90, 365)
POST_CLICK_365_TYPES = frozenset({"SUBMIT_APPLICATION", "PURCHASE", "ADD_TO_CART", "QUALIFIED_LEAD", "LEAD"})
VIEW_THROUGH_WINDOWS = (1, 7, 30, 90)
DEFAULT_POST_CLICK_WINDOW = 30
DEFAULT_VIEW_THROUGH_WINDOW = 7

# --- Consent (docs/mapping.md §1) ---
#: What a record's consent field may hold to mean "granted", when Consent values is not set.
DEFAULT_CONSENT_VALUES = ("true", "granted", "yes", "1")  # matched against true, "Granted", 1, …
