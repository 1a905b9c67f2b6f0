"""The masker: how a record value or an input line is shown in any output — never verbatim (masking.py)."""

from __future__ import annotations

import orjson
import pytest

from destination_linkedin_capi import masking


@pytest.mark.parametrize(
    "text, masked",
    [
        ("trent@corp.com", "t***@c***.com"),
        ("  Jane.Doe@Example.CO.UK ", "J***@E***.UK"),
        ("a@b.io", "a***@b***.io"),
        ("x@localhost", "x***@l***"),
        ("jane@corp.c0m", "j***@c***"),  # not a plain top-level domain: masked with the rest
        ("Zoë", "Z***"),
        ("Müller", "M***"),
        ("+1 (415) 555-0100", "+***"),
        ("AQE00000001-ab12cd", "A***"),
        ("ab", "***"),  # too short to show a first character
        ("", "***"),
        ("\x00secret", "***"),
    ],
)
def test_mask_text(text, masked):
    assert masking.mask_text(text) == masked


@pytest.mark.parametrize(
    "value, described",
    [
        ("trent@corp.com", "'t***@c***.com' (an email address, 14 characters)"),
        ("12,5", "'1***' (4 characters: digits, ',')"),
        ("+1 (415) 555-0100", "'+***' (17 characters: digits, spaces, '(', ')', '+', '-')"),
        ("yesterday", "'y***' (9 characters: letters)"),
        ("a–b—c…d·e", "'a***' (9 characters: letters, other symbols)"),  # non-ASCII symbols are not named
        pytest.param("x" * 1_000_000, "'x***' (1,000,000 characters: letters)", id="a-million-x"),
        ("é", "'***' (1 character: letters)"),
        (-5, "a negative whole number of 1 digit"),
        (4155550100, "a whole number of 10 digits"),
        pytest.param(10**5000, "a whole number of more than 3,000 digits", id="int-of-5001-digits"),
        (12.5, "a number with decimals"),
        (-0.25, "a negative number with decimals"),
        ({"email": "jane@corp.com"}, "an object"),
        (["jane@corp.com"], "a list"),
        (True, "true"),
        (None, "null"),
    ],
)
def test_describe_gives_kind_shape_and_a_masked_form(value, described):
    assert masking.describe(value) == described


@pytest.mark.parametrize("value", ["jane.doe@corp.com", "Zoë Müller", "+44 20 7946 0958", "4242.42", "ORD-778899"])
def test_describe_never_contains_the_value_or_a_long_part_of_it(value):
    shown = masking.describe(value)
    assert value not in shown
    hidden = value.rsplit(".", 1)[0] if "@" in value else value  # an email's plain top-level domain is kept
    assert not any(hidden[i : i + 3] in shown for i in range(len(hidden) - 2) if hidden[i : i + 3].strip(" .-")), shown


def test_message_types_are_shown_only_when_they_look_like_airbyte_types():
    assert masking.message_type("CATALOG") == "'CATALOG'"
    assert masking.message_type("jane@corp.com") == "'j***@c***.com' (an email address, 13 characters)"
    assert masking.message_type("Jane Doe") == "'J***' (8 characters: letters, spaces)"
    assert masking.message_type(3) == "a whole number of 1 digit"


def test_a_line_is_described_by_its_length_and_where_the_parser_stopped():
    raw = b'{"type":"RECORD","record":{"data":{"email":"jane.doe@corp.com","v":NaN}}}'
    with pytest.raises(orjson.JSONDecodeError) as raised:
        orjson.loads(raw)
    shown = masking.line(raw, raised.value)
    assert shown.startswith(f"a line of {len(raw)} bytes, the parser stopped at position {raised.value.pos} (")
    assert "jane" not in shown and "corp" not in shown
    assert masking.line("é") == "a line of 2 bytes"
    assert masking.json_line(b"[1, 2]", [1, 2]) == "a line of 6 bytes holding a JSON array, not an object"
    assert masking.json_line(b"null", None) == "a line of 4 bytes holding JSON null, not an object"


def test_a_parser_message_with_input_in_it_is_left_out():
    class Odd(Exception):
        msg = "unexpected 'jane@corp.com'\n"
        pos = 3

    assert masking.line(b"abc", Odd()) == "a line of 3 bytes"


PAYLOAD = {
    "conversion": "urn:lla:llaPartnerConversion:11",
    "conversionHappenedAt": 1788350400000,
    "conversionValue": {"currencyCode": "EUR", "amount": "4242.42"},
    "eventId": "ORD-778899",
    "user": {
        "userIds": [
            {"idType": "SHA256_EMAIL", "idValue": "a" * 64},
            {"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "idValue": "AQE0001-deadbeef"},
            {"idType": "ACXIOM_ID", "idValue": "ACX-123456"},
        ],
        "userInfo": {
            "firstName": "Zoë",
            "lastName": "Müller",
            "companyName": "Initech",
            "title": "Head of Growth",
            "countryCode": "DE",
        },
        "externalIds": ["crm-0042"],
        "lead": "urn:li:leadGenFormResponse:abc-123",
    },
}


def test_the_dry_run_preview_masks_what_linkedin_would_get_in_clear():
    shown = masking.preview(PAYLOAD)
    assert shown == {
        "conversion": "urn:lla:llaPartnerConversion:11",
        "conversionHappenedAt": 1788350400000,
        "conversionValue": {"currencyCode": "EUR", "amount": "4242.42"},
        "eventId": "O***",
        "user": {
            "userIds": [
                {"idType": "SHA256_EMAIL", "idValue": "a" * 64},  # hashed already
                {"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "idValue": "A***"},
                {"idType": "ACXIOM_ID", "idValue": "A***"},
            ],
            "userInfo": {
                "firstName": "Z***",
                "lastName": "M***",
                "companyName": "I***",
                "title": "H***",
                "countryCode": "DE",
            },
            "externalIds": ["c***"],
            "lead": "urn:li:leadGenFormResponse:a***",
        },
    }
    assert PAYLOAD["user"]["userInfo"]["firstName"] == "Zoë"  # a copy: the event sent is unchanged


def test_linkedin_sentences_have_the_events_values_masked():
    sentence = (
        "/elements/0/user/userInfo/companyName :: Initech is not allowed; /elements/0/user/userIds/1/idValue :: "
        "AQE0001-deadbeef unknown; /elements/0/conversionValue/amount :: 4242.42 is too large; idType ACXIOM_ID"
    )
    redacted = masking.redact(sentence, PAYLOAD)
    assert redacted == (
        "/elements/0/user/userInfo/companyName :: I*** is not allowed; /elements/0/user/userIds/1/idValue :: "
        "A*** unknown; /elements/0/conversionValue/amount :: 4*** is too large; idType ACXIOM_ID"
    )
