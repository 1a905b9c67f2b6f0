"""A worked BATCH_CREATE example in the shape of LinkedIn's documented one, with the seed it needs.

Shared by the sandbox's tests, its docs and anyone who wants a known-good request to replay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linkedin_capi_sandbox.app import Sandbox

EXAMPLE_ACCOUNT_ID = 512345678
EXAMPLE_RULE_IDS = (123456, 123457)
EXAMPLE_TOKEN = "AQV-example-token"
EXAMPLE_VERSION = "202608"
# A clock five minutes after the example's second event, so both are inside the 90-day window.
EXAMPLE_NOW = 1788258060.0

EXAMPLE_HEADERS = {
    "Authorization": f"Bearer {EXAMPLE_TOKEN}",
    "LinkedIn-Version": EXAMPLE_VERSION,
    "X-Restli-Protocol-Version": "2.0.0",
    "X-RestLi-Method": "BATCH_CREATE",
    "Content-Type": "application/json",
}

EXAMPLE_BATCH_BODY = b"""{
  "elements": [
    {
      "conversion": "urn:lla:llaPartnerConversion:123456",
      "conversionHappenedAt": 1788257700000,
      "conversionValue": { "currencyCode": "EUR", "amount": "49.90" },
      "eventId": "order-8c482",
      "user": {
        "userIds": [
          { "idType": "SHA256_EMAIL", "idValue": "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d" },
          { "idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "idValue": "AQEExample-li-fat-id" } ],
        "userInfo": { "firstName": "Jane", "lastName": "Doe", "companyName": "Acme GmbH",
                      "title": "CFO", "countryCode": "DE" } }
    },
    {
      "conversion": "urn:lla:llaPartnerConversion:123457",
      "conversionHappenedAt": 1788257760000,
      "eventId": "lead-7f01",
      "user": { "userIds": [], "userInfo": { "firstName": "Sam", "lastName": "Lee" },
                "externalIds": ["crm-0042"], "lead": "urn:li:leadGenFormResponse:abc-123" }
    }
  ]
}
"""


def seed_example(sandbox: Sandbox) -> None:
    """The account, the two CAPI rules and the token the example request needs."""
    sandbox.add_account(EXAMPLE_ACCOUNT_ID, name="Acme GmbH")
    sandbox.add_token(EXAMPLE_TOKEN, {EXAMPLE_ACCOUNT_ID: "ACCOUNT_MANAGER"})
    for rule_id in EXAMPLE_RULE_IDS:
        sandbox.add_rule(EXAMPLE_ACCOUNT_ID, rule_id=rule_id, name=f"CAPI rule {rule_id}")
