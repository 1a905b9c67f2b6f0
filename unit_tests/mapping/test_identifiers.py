"""The 2026 identifiers: IP addresses (PLAINTEXT_IP_ADDRESS / SHA256_IP_ADDRESS) and the Google advertising ID,
each sent only with an API version that accepts it, a malformed value dropped with a counted note, and accepted by
the sandbox for exactly the versions its own facts list."""

from __future__ import annotations

import hashlib
import json

import pytest

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection
from unit_tests.mapping.test_table import BASE, Case, build_mapper, element, email_id, rec

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IP4 = "203.0.113.7"
IP4_SHA = hashlib.sha256(IP4.encode()).hexdigest()
LEAD = "urn:li:leadGenFormResponse:abc"
V202604 = {"api_version": "202604"}


def plain_ip(ip: str = IP4) -> dict:
    return {"idType": "PLAINTEXT_IP_ADDRESS", "idValue": ip}


def hashed_ip(digest: str = IP4_SHA) -> dict:
    return {"idType": "SHA256_IP_ADDRESS", "idValue": digest}


def gaid(value: str = GAID) -> dict:
    return {"idType": "GOOGLE_AID", "idValue": value}


IDENTIFIER_CASES = [
    Case("ip-plain", rec(ip=IP4), element(user_ids=(email_id(), plain_ip())), identifiers=("email", "ip_address")),
    Case("ip-alias-client-ip-trimmed", rec(client_ip=f"  {IP4} "), element(user_ids=(email_id(), plain_ip()))),
    Case("ip-alias-ip-address-any-case", rec(IP_Address=IP4), element(user_ids=(email_id(), plain_ip()))),
    Case("ip-only-identifier", rec(email=None, ip=IP4), element(user_ids=(plain_ip(),)), identifiers=("ip_address",)),
    Case("ip-v4-mapped-v6-sent-as-v4", rec(ip="::ffff:203.0.113.7"), element(user_ids=(email_id(), plain_ip()))),
    Case(
        "ip-hashed-when-configured",
        rec(ip=IP4),
        element(user_ids=(email_id(), hashed_ip())),
        config={"hash_ip_addresses": True},
    ),
    Case(
        "ip-prehashed-passes-through-lowercased",
        rec(hashed_ip=IP4_SHA.upper()),
        element(user_ids=(email_id(), hashed_ip())),
    ),
    Case("ip-out-of-range-dropped", rec(ip="999.1.1.1"), element(), notes=("invalid_ip_address_dropped",)),
    Case("ip-not-text-dropped", rec(ip=3405803783), element(), notes=("invalid_ip_address_dropped",)),
    Case("ip-v6-dropped", rec(ip="2001:db8::1"), element(), notes=("ipv6_address_dropped",)),
    Case("ip-only-malformed", rec(email=None, ip="10.0.0"), "no_identifier"),
    Case(
        "ip-plain-accepted-from-202601",
        rec(ip=IP4),
        element(user_ids=(email_id(), plain_ip())),
        config={"api_version": "202601"},
    ),
    Case(
        "ip-plain-dropped-before-202601",
        rec(ip=IP4),
        element(),
        config={"api_version": "202511"},
        notes=("ip_address_unsupported_dropped",),
    ),
    Case(
        "ip-hashed-dropped-before-202607",
        rec(sha256_ip_address=IP4_SHA),
        element(),
        config={"api_version": "202606"},
        notes=("ip_address_unsupported_dropped",),
    ),
    Case(
        "ip-mapped-path",
        rec(ctx={"client": {"addr": IP4}}),
        element(user_ids=(email_id(), plain_ip())),
        config={"field_mappings": [{"linkedin_field": "ip_address", "record_field": "ctx.client.addr"}]},
    ),
    Case("gaid", rec(gaid=GAID), element(user_ids=(email_id(), gaid())), identifiers=("email", "google_aid")),
    Case("gaid-upper-case-lowered", rec(google_aid=GAID.upper()), element(user_ids=(email_id(), gaid()))),
    Case(
        "gaid-not-a-uuid-dropped", rec(gaid="38400000-8cf0-11bd-b23e"), element(), notes=("invalid_google_aid_dropped",)
    ),
    Case(
        "gaid-all-zero-dropped",
        rec(gaid="00000000-0000-0000-0000-000000000000"),
        element(),
        notes=("invalid_google_aid_dropped",),
    ),
    Case(
        "gaid-dropped-before-202605",
        rec(gaid=GAID),
        element(),
        config={"api_version": "202604"},
        notes=("google_aid_unsupported_dropped",),
    ),
    Case(
        "gaid-sent-from-202605",
        rec(gaid=GAID),
        element(user_ids=(email_id(), gaid())),
        config={"api_version": "202605"},
    ),
    Case("lead-alone-refused-before-202605", rec(email=None, lead_id="abc"), "no_identifier", config=V202604),
    Case(
        "lead-alone-sent-from-202605",
        rec(email=None, lead_id="abc"),
        element(user_ids=(), lead=LEAD),
        config={"api_version": "202605"},
        identifiers=("lead",),
    ),
    Case(
        "lead-with-another-identifier-sent-before-202605",
        rec(lead_id="abc"),
        element(lead=LEAD),
        config=V202604,
        identifiers=("email", "lead"),
    ),
    Case(
        "gaid-mapped-target",
        rec(device={"adid": GAID}),
        element(user_ids=(email_id(), gaid())),
        config={"field_mappings": [{"linkedin_field": "google_aid", "record_field": "device.adid"}]},
    ),
    Case(
        "all-new-ids-after-the-old-ones",
        rec(gaid=GAID, ip=IP4, li_fat_id="AQE-3"),
        element(
            user_ids=(
                email_id(),
                {"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "idValue": "AQE-3"},
                plain_ip(),
                gaid(),
            )
        ),
        identifiers=("email", "li_fat_id", "ip_address", "google_aid"),
    ),
]


@pytest.mark.parametrize("case", IDENTIFIER_CASES, ids=[case.id for case in IDENTIFIER_CASES])
def test_identifier(case: Case):
    record = {**BASE, **case.record}
    mapper = build_mapper(case)
    result = mapper.for_stream(None, case.stream)(record)
    if isinstance(case.expected, str):
        assert isinstance(result, Rejection), result
        assert result.reason == case.expected
        return
    assert isinstance(result, ConversionEvent), result
    assert json.dumps(result.payload) == json.dumps(case.expected)
    assert result.notes == case.notes
    if case.identifiers is not None:
        assert result.identifiers == case.identifiers


def test_a_record_with_only_a_malformed_ip_says_why():
    case = Case("x", rec(), "no_identifier")
    result = build_mapper(case).for_stream(None, "lead")({**BASE, "email": None, "ip": "10.0.0"})
    assert isinstance(result, Rejection)
    assert "(the IP address is not a valid address)" in result.message
    assert "10.0.0" not in result.message  # the value is never echoed


def test_a_lead_alone_below_202605_says_which_version_takes_it():
    case = Case("x", rec(), "no_identifier", config=V202604)
    result = build_mapper(case).for_stream(None, "lead")({**BASE, "email": None, "lead_id": "abc"})
    assert isinstance(result, Rejection) and result.reason == "no_identifier"
    assert "only identifier is the lead" in result.message
    assert "from API version 202605 on (the configured version is 202604)" in result.message


@pytest.mark.parametrize("version, accepted", [("202604", False), ("202605", True)])
def test_the_sandbox_takes_a_lead_alone_from_202605(version, accepted):
    from linkedin_capi_sandbox.validation import validate_element

    payload = element(user_ids=(), lead=LEAD)
    payload["conversionHappenedAt"] = 1795168800000
    problems = validate_element(payload, api_version=version, now_ms=1795176000000)
    assert (problems == []) is accepted, problems


def test_hashing_ip_addresses_needs_202607():
    raw = {
        "account_id": "512345678",
        "credentials": {"auth_type": "access_token", "access_token": "t", "conversion_mapping": "LEAD=1"},
        "hash_ip_addresses": True,
        "api_version": "202606",
    }
    with pytest.raises(ConfigError, match="Hash IP addresses needs LinkedIn API version 202607 or later"):
        ConnectorConfig.parse(raw)


@pytest.mark.parametrize(
    "version, entry, accepted",
    [
        ("202511", plain_ip(), False),
        ("202601", plain_ip(), True),
        ("202606", hashed_ip(), False),
        ("202607", hashed_ip(), True),
        ("202604", gaid(), False),
        ("202605", gaid(), True),
    ],
)
def test_the_sandbox_accepts_each_type_from_its_first_version(version, entry, accepted):
    from linkedin_capi_sandbox.validation import validate_element

    payload = element(user_ids=(entry,))
    payload["conversionHappenedAt"] = 1795168800000
    problems = validate_element(payload, api_version=version, now_ms=1795176000000)
    assert (problems == []) is accepted, problems
