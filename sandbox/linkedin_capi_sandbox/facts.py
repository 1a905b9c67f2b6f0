"""What LinkedIn documents about the Conversions API, as the sandbox enforces it — in one place.

Written from LinkedIn's public documentation, never from the connector's code: if the connector
gets one of these wrong, the sandbox rejects it and a test fails. Sources (Microsoft Learn):

- Conversions API: https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/conversions-api
- Conversions API schema: https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/conversions-api-schema
- Custom matching identifiers: https://learn.microsoft.com/en-us/linkedin/marketing/conversions/custom-matching-identifiers
- Recent changes (release notes per version): https://learn.microsoft.com/en-us/linkedin/marketing/integrations/recent-changes
- Versioning and the migration table: https://learn.microsoft.com/en-us/linkedin/marketing/versioning ,
  https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations
- Rate limits: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
- Conversion rules (create; PARTIAL_UPDATE of name, enabled, attribution type and windows, the same checks as a
  creation): the Conversions API page's rule sections, and Rest.li's methods:
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/methods
- Deduplication (per rule; an Insight Tag event and a streamed one of the same eventId):
  https://learn.microsoft.com/en-us/linkedin/marketing/conversions/deduplication
- Refresh tokens: https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens

Where the documentation is silent or ambiguous the value is the stricter reading; docs/sandbox.md
lists those choices.
"""

from __future__ import annotations

import datetime as dt

# Paths (REST API on api.linkedin.com, OAuth on www.linkedin.com).
OAUTH_TOKEN_PATH = "/oauth/v2/accessToken"

# Marketing API versions (`LinkedIn-Version: YYYYMM`) and the first day each answers HTTP 426,
# from LinkedIn's migration table: every monthly version lives at least one year. No 202512 exists.
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

# Limits: a BATCH_CREATE holds at most 5,000 events; 600 requests a minute and 300,000 a day per
# member token (the FAQ's figures; newer sources quote 500,000 a day, the stricter one is kept).
MAX_BATCH_SIZE = 5000
MAX_REQUESTS_PER_MINUTE = 600
DEFAULT_REQUESTS_PER_DAY = 300_000
# conversionHappenedAt: epoch milliseconds, within the last 90 days.
MAX_EVENT_AGE = dt.timedelta(days=90)
# Future timestamps are not documented; only clock skew between sender and LinkedIn is allowed.
FUTURE_TOLERANCE_MS = 5 * 60 * 1000
# eventId: LinkedIn documents no length; 64 is the shortest cap a CAPI partner documents.
MAX_EVENT_ID_LENGTH = 64
# userIds[].externalIds (the advertiser's own user ids) exist from this version on.
EXTERNAL_IDS_SINCE = "202410"

# userIds[].idType symbols and the versions whose schema has them: (first, last or None).
ID_SHA256_EMAIL = "SHA256_EMAIL"
ID_LINKEDIN_UUID = "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID"
ID_ACXIOM = "ACXIOM_ID"
ID_ORACLE_MOAT = "ORACLE_MOAT_ID"
# ORACLE_MOAT_ID is documented through 2025 and absent from the 2026-05 documentation, so the last
# version that takes it here is 202604 (stricter reading). PLAINTEXT_IP_ADDRESS appears with
# 202601; GOOGLE_AID with 202605 (LinkedIn's release notes for 202605, and LinkedIn's own GTM server
# template, github.com/linkedin-developers/linkedin-capi-tag-template, sends it with 202605);
# SHA256_IP_ADDRESS with 202607.
ORACLE_MOAT_LAST_VERSION = "202604"
ID_TYPE_VERSIONS: dict[str, tuple[str, str | None]] = {
    ID_SHA256_EMAIL: ("000000", None),
    ID_LINKEDIN_UUID: ("000000", None),
    ID_ACXIOM: ("000000", None),
    ID_ORACLE_MOAT: ("000000", ORACLE_MOAT_LAST_VERSION),
    "PLAINTEXT_IP_ADDRESS": ("202601", None),
    "SHA256_IP_ADDRESS": ("202607", None),
    "GOOGLE_AID": ("202605", None),
}
HASHED_ID_TYPES = frozenset({ID_SHA256_EMAIL, "SHA256_IP_ADDRESS"})

# URN prefixes.
CONVERSION_URN_PREFIX = "urn:lla:llaPartnerConversion:"
SPONSORED_ACCOUNT_URN_PREFIX = "urn:li:sponsoredAccount:"
LEAD_URN_PREFIX = "urn:li:leadGenFormResponse:"
# From 202605 the lead may be an event's only user identifier (release notes for 202605: "Conversions
# API allows lead as the sole user identifier"); before, it needs a userIds entry or userInfo beside it.
LEAD_ALONE_SINCE = "202605"

# Ad-account roles: streaming events and managing rules need one of WRITE_ROLES; VIEWER reads only.
WRITE_ROLES = frozenset({"ACCOUNT_BILLING_ADMIN", "ACCOUNT_MANAGER", "CAMPAIGN_MANAGER", "CREATIVE_MANAGER"})
ROLES = WRITE_ROLES | {"VIEWER"}

# Refresh tokens live 365 days from the first authorization (not renewed by refreshing).
REFRESH_TOKEN_LIFETIME = 365 * 86400

# Conversion rules (`/rest/conversions`): types, attribution settings and their defaults.
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
CONVERSION_METHODS = frozenset({"CONVERSIONS_API", "INSIGHT_TAG_URL_MATCH_RULES", "INSIGHT_TAG_JAVASCRIPT_EVENT"})
ATTRIBUTION_TYPES = ("LAST_TOUCH_BY_CAMPAIGN", "LAST_TOUCH_BY_CONVERSION")
POST_CLICK_WINDOWS = (1, 7, 30, 90, 365)
# Only these types may use a 365-day post-click window.
POST_CLICK_365_TYPES = frozenset({"SUBMIT_APPLICATION", "PURCHASE", "ADD_TO_CART", "QUALIFIED_LEAD", "LEAD"})
# View-through: the rule schema lists four values; 90 is the fourth (Segment's field text, copied from it).
VIEW_THROUGH_WINDOWS = (1, 7, 30, 90)
DEFAULT_POST_CLICK_WINDOW = 30
DEFAULT_VIEW_THROUGH_WINDOW = 7
