"""`validate_element`: one event's schema problems, as LinkedIn's Rest.li layer reports them (reference §3)."""

from __future__ import annotations

import copy
import json

import pytest
from linkedin_capi_sandbox.examples import EXAMPLE_BATCH_BODY, EXAMPLE_NOW
from linkedin_capi_sandbox.validation import (
    IN_FUTURE,
    REQUIRED,
    TOO_OLD,
    UNRECOGNIZED,
    id_types_for_version,
    is_decimal_string,
    validate_element,
)

NOW_MS = int(EXAMPLE_NOW * 1000)
DAY_MS = 86_400_000
FIRST, SECOND = json.loads(EXAMPLE_BATCH_BODY)["elements"]
DELETE = object()
HASH = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"


def problems(element: object, version: str = "202608", now_ms: int = NOW_MS) -> list[tuple[str, str]]:
    return validate_element(element, api_version=version, now_ms=now_ms)


def edited(**changes) -> dict:
    """The example's first element with top-level changes (DELETE removes the key)."""
    element = copy.deepcopy(FIRST)
    for key, value in changes.items():
        if value is DELETE:
            element.pop(key)
        else:
            element[key] = value
    return element


def with_user(**changes) -> dict:
    element = copy.deepcopy(FIRST)
    for key, value in changes.items():
        if value is DELETE:
            element["user"].pop(key)
        else:
            element["user"][key] = value
    return element


def test_the_worked_examples_elements_are_valid():
    assert problems(FIRST) == []
    assert problems(SECOND) == []


def test_the_422_example_gives_both_problems_in_linkedins_order():
    element = copy.deepcopy(SECOND)
    del element["user"]["userInfo"]["lastName"]
    element["conversionValue"] = {"currencyCode": "EUR"}
    assert problems(element) == [("/user/userInfo/lastName", REQUIRED), ("/conversionValue/amount", REQUIRED)]


@pytest.mark.parametrize("field", ["conversion", "conversionHappenedAt", "user"])
def test_top_level_required_fields(field):
    assert problems(edited(**{field: DELETE})) == [(f"/{field}", REQUIRED)]


@pytest.mark.parametrize(
    "urn",
    [
        "urn:lla:llaPartnerConversion:",
        "urn:lla:llaPartnerConversion:12a",
        "urn:li:llaPartnerConversion:1",
        "123456",
        "urn:lla:llaPartnerConversion:0123",
    ],
)
def test_conversion_must_be_a_rule_urn(urn):
    [(pointer, reason)] = problems(edited(conversion=urn))
    assert pointer == "/conversion" and "not a valid urn:lla:llaPartnerConversion:{id} URN" in reason


def test_conversion_of_another_type_is_a_coercion_error():
    assert problems(edited(conversion=123456)) == [("/conversion", "123456 cannot be coerced to String")]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1788257700000", "1788257700000 cannot be coerced to Long"),
        (1788257700000.0, "1788257700000.0 cannot be coerced to Long"),
        (True, "true cannot be coerced to Long"),
        (None, "null cannot be coerced to Long"),
        (2**63, f"{2**63} cannot be coerced to Long"),
    ],
)
def test_timestamp_must_be_an_integer(value, reason):
    assert problems(edited(conversionHappenedAt=value)) == [("/conversionHappenedAt", reason)]


def test_timestamp_window_edges():
    assert problems(edited(conversionHappenedAt=NOW_MS - 90 * DAY_MS)) == []
    assert problems(edited(conversionHappenedAt=NOW_MS - 90 * DAY_MS - 60_000)) == [("/conversionHappenedAt", TOO_OLD)]
    assert problems(edited(conversionHappenedAt=NOW_MS // 1000)) == [
        ("/conversionHappenedAt", TOO_OLD)
    ]  # seconds, not ms
    assert problems(edited(conversionHappenedAt=NOW_MS + 5 * 60_000)) == []
    assert problems(edited(conversionHappenedAt=NOW_MS + 5 * 60_000 + 1)) == [("/conversionHappenedAt", IN_FUTURE)]


def test_amount_must_be_a_decimal_string():
    assert problems(edited(conversionValue={"currencyCode": "EUR", "amount": 49.9})) == [
        ("/conversionValue/amount", "49.9 cannot be coerced to String")
    ]
    assert problems(edited(conversionValue={"currencyCode": "EUR", "amount": 1500})) == [
        ("/conversionValue/amount", "1500 cannot be coerced to String")
    ]
    [(pointer, reason)] = problems(edited(conversionValue={"currencyCode": "EUR", "amount": "1e3"}))
    assert pointer == "/conversionValue/amount" and "not a decimal number" in reason


@pytest.mark.parametrize("text", ["0", "49.90", "-5", "1500.0", "12345678901234567890.123"])
def test_decimal_strings_accepted(text):
    assert is_decimal_string(text)


@pytest.mark.parametrize("text", ["", "-", "1.", ".5", "+1", " 1", "1,5", "1e3", "NaN", "１", "1.2.3", "--1"])
def test_decimal_strings_refused(text):
    assert not is_decimal_string(text)


@pytest.mark.parametrize("code", ["eur", "EURO", "EU", "E1R", ""])
def test_currency_must_be_three_upper_case_letters(code):
    [(pointer, _)] = problems(edited(conversionValue={"currencyCode": code, "amount": "1"}))
    assert pointer == "/conversionValue/currencyCode"


def test_conversion_value_needs_both_fields_and_nothing_else():
    assert problems(edited(conversionValue={})) == [
        ("/conversionValue/currencyCode", REQUIRED),
        ("/conversionValue/amount", REQUIRED),
    ]
    assert problems(edited(conversionValue={"currencyCode": "EUR", "amount": "1", "value": "1"})) == [
        ("/conversionValue/value", UNRECOGNIZED)
    ]
    assert problems(edited(conversionValue="49.90")) == [("/conversionValue", "record type is not backed by a DataMap")]


def test_unknown_fields_are_refused_at_every_level():
    element = edited(gtmTemplateVersion="1")
    element["user"]["phone"] = "1"
    element["user"]["userInfo"]["hashedFirstName"] = "x"
    element["user"]["userIds"][0]["extra"] = 1
    assert sorted(problems(element)) == sorted(
        [
            ("/gtmTemplateVersion", UNRECOGNIZED),
            ("/user/phone", UNRECOGNIZED),
            ("/user/userInfo/hashedFirstName", UNRECOGNIZED),
            ("/user/userIds/0/extra", UNRECOGNIZED),
        ]
    )


def test_user_ids_key_is_required_even_when_user_info_matches():
    assert problems(with_user(userIds=DELETE)) == [("/user/userIds", REQUIRED)]
    assert problems(with_user(userIds={"idType": "SHA256_EMAIL"})) == [
        ("/user/userIds", "array type is not backed by a DataList")
    ]


def test_each_user_id_needs_type_and_value():
    element = with_user(userIds=[{}, {"idType": 1, "idValue": 2}, {"idType": "SHA256_EMAIL", "idValue": ""}])
    assert problems(element) == [
        ("/user/userIds/0/idType", REQUIRED),
        ("/user/userIds/0/idValue", REQUIRED),
        ("/user/userIds/1/idType", "enum type is not backed by a String"),
        ("/user/userIds/1/idValue", "2 cannot be coerced to String"),
        ("/user/userIds/2/idValue", "string must not be empty"),
    ]


@pytest.mark.parametrize("value", [HASH.upper(), HASH[:-1], HASH + "0", "g" * 64, "jane.doe@example.com"])
def test_sha256_email_must_be_64_lower_case_hex(value):
    [(pointer, reason)] = problems(with_user(userIds=[{"idType": "SHA256_EMAIL", "idValue": value}]))
    assert pointer == "/user/userIds/0/idValue" and "SHA-256" in reason


def test_unknown_id_type_is_an_enum_error():
    assert problems(with_user(userIds=[{"idType": "AXCIOM_ID", "idValue": "x"}])) == [
        ("/user/userIds/0/idType", '"AXCIOM_ID" is not an enum symbol')
    ]


@pytest.mark.parametrize(
    ("id_type", "accepted", "refused"),
    [
        ("ORACLE_MOAT_ID", "202604", "202605"),
        ("PLAINTEXT_IP_ADDRESS", "202601", "202511"),
        ("SHA256_IP_ADDRESS", "202607", "202606"),
        ("GOOGLE_AID", "202605", "202604"),
    ],
)
def test_id_types_follow_the_version(id_type, accepted, refused):
    value = HASH if id_type == "SHA256_IP_ADDRESS" else "id-value"
    element = with_user(userIds=[{"idType": id_type, "idValue": value}])
    assert problems(element, version=accepted) == []
    assert problems(element, version=refused) == [("/user/userIds/0/idType", f'"{id_type}" is not an enum symbol')]
    assert id_type in id_types_for_version(accepted) and id_type not in id_types_for_version(refused)


def test_plaintext_ip_is_not_format_checked():
    assert problems(with_user(userIds=[{"idType": "PLAINTEXT_IP_ADDRESS", "idValue": "999.999.999.999"}])) == []


def test_user_info_needs_first_and_last_name():
    assert problems(with_user(userInfo={"firstName": "Jane"})) == [("/user/userInfo/lastName", REQUIRED)]
    assert problems(with_user(userInfo={"lastName": "Doe", "firstName": ""})) == [
        ("/user/userInfo/firstName", "string must not be empty")
    ]
    [(pointer, _)] = problems(with_user(userInfo={"firstName": "J", "lastName": "D", "countryCode": "deu"}))
    assert pointer == "/user/userInfo/countryCode"


def test_external_ids_exist_from_202410():
    element = with_user(externalIds=["crm-1"])
    assert problems(element, version="202410") == []
    assert problems(element, version="202409") == [("/user/externalIds", UNRECOGNIZED)]
    assert problems(with_user(externalIds="crm-1")) == [("/user/externalIds", "array type is not backed by a DataList")]


def test_lead_must_be_a_lead_gen_form_response_urn():
    [(pointer, _)] = problems(with_user(lead="urn:li:leadGenFormResponse:"))
    assert pointer == "/user/lead"
    assert problems(with_user(lead="urn:li:leadGenFormResponse:abc-123")) == []


def test_a_user_with_nothing_to_match_is_refused():
    element = with_user(userIds=[], userInfo=DELETE)
    [(pointer, reason)] = problems(element)
    assert pointer == "/user" and "no user identifier" in reason
    assert problems(with_user(userIds=[], userInfo=DELETE, externalIds=["crm-1"])) == []
    assert problems(with_user(userIds=[], userInfo=DELETE, lead="urn:li:leadGenFormResponse:1")) == []


def test_a_lead_alone_is_a_user_identifier_from_202605():
    lead_only = with_user(userIds=[], userInfo=DELETE, lead="urn:li:leadGenFormResponse:1")
    assert problems(lead_only, version="202605") == []
    [(pointer, reason)] = problems(lead_only, version="202604")
    assert pointer == "/user" and "lead alone" in reason
    assert problems(with_user(lead="urn:li:leadGenFormResponse:1"), version="202604") == []  # beside userIds


def test_event_id_is_a_string_of_at_most_64_characters():
    assert problems(edited(eventId="e" * 64)) == []
    assert problems(edited(eventId="e" * 65)) == [("/eventId", "length 65 is out of range 1..64")]
    assert problems(edited(eventId=42)) == [("/eventId", "42 cannot be coerced to String")]


@pytest.mark.parametrize("element", [[], "event", None, 1])
def test_an_element_that_is_not_an_object(element):
    assert problems(element) == [("", "record type is not backed by a DataMap")]
