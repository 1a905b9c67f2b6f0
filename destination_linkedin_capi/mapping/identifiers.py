"""The identifiers LinkedIn matches a member on, one entry each, in the order an event lists them.

Recognition (`fields`), version gating, discover's fields and matching keys, the summary's coverage labels and the
no_identifier sentences are all read from `IDENTIFIERS`, so a new identifier is added here once
(docs/mapping.md §2–3, docs/linkedin-facts.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.linkedin.versions import ApiVersion


@dataclass(frozen=True)
class Field:
    """A LinkedIn field of `field_mappings`, with the record names recognised for it, best first."""

    name: str
    recognised: tuple[str, ...]
    description: str | None = None  # what discover offers it as; None: not offered (a hashed variant)
    feeds: str | None = None  # the field whose value it supplies: a hashed variant feeds its plain field
    json_type: tuple[str, ...] = ("string", "null")


@dataclass(frozen=True)
class Identifier:
    """One match key: where it is read from, which idTypes carry it, and how the summary and sentences name it."""

    key: str  # as `ConversionEvent.identifiers` and the summary count it
    fields: tuple[Field, ...]  # the offered ones together are discover's matching key
    label: str  # the summary's coverage label
    named: str  # how the no_identifier sentences list it
    id_types: tuple[str, ...] = ()  # its userIds idTypes; none when it is sent outside userIds
    unusable: dict[str, str] = field(default_factory=dict)  # note code → why the identifier did not count
    alone_from: str | None = None  # the first API version taking it as an event's only identifier, when later

    def alone_with(self, version: ApiVersion) -> bool:
        """Whether `version` takes this identifier as an event's only match key."""
        return version.is_at_least(self.alone_from)

    def sent_with(self, version: ApiVersion) -> bool:
        """Whether `version` takes this identifier in at least one of its forms."""
        return not self.id_types or any(version.accepts(id_type) for id_type in self.id_types)

    @property
    def matching_key(self) -> list[str]:
        """The fields discover lists as one way to match: all of them together."""
        return [f.name for f in self.fields if f.description is not None]


_NEITHER_TEXT_NOR_NUMBER = "is neither text nor a whole number"

IDENTIFIERS: tuple[Identifier, ...] = (
    Identifier(
        "email",
        (
            Field(
                "email",
                ("email", "email_address"),
                "Email address; normalised and SHA-256 hashed before sending (a 64-hex SHA-256 is passed through).",
            ),
            Field("sha256_email", ("sha256_email", "hashed_email"), feeds="email"),
        ),
        "email",
        "email",
        (c.ID_SHA256_EMAIL,),
        {"invalid_email_dropped": "the email is neither an address nor a SHA-256 hash"},
    ),
    Identifier(
        "li_fat_id",
        (
            Field(
                "li_fat_id",
                ("li_fat_id", "linkedin_uuid", "linkedin_first_party_ads_tracking_uuid"),
                "LinkedIn first-party ads tracking UUID (the li_fat_id click/cookie value).",
            ),
        ),
        "LinkedIn click ID",
        "LinkedIn click ID (li_fat_id)",
        (c.ID_LINKEDIN_UUID,),
        {"invalid_li_fat_id_dropped": f"the li_fat_id {_NEITHER_TEXT_NOR_NUMBER}"},
    ),
    Identifier(
        "acxiom_id",
        (Field("acxiom_id", ("acxiom_id",), "Acxiom (LiveRamp) identifier."),),
        "Acxiom ID",
        "Acxiom ID",
        (c.ID_ACXIOM,),
        {"invalid_acxiom_id_dropped": f"the Acxiom ID {_NEITHER_TEXT_NOR_NUMBER}"},
    ),
    Identifier(
        "oracle_moat_id",
        (Field("oracle_moat_id", ("oracle_moat_id",), "Oracle Moat identifier."),),
        "Oracle Moat ID",
        "Oracle Moat ID",
        (c.ID_ORACLE_MOAT,),
        {
            "invalid_oracle_moat_id_dropped": f"the Oracle Moat ID {_NEITHER_TEXT_NOR_NUMBER}",
            "oracle_moat_id_unsupported_dropped": "the configured API version no longer accepts Oracle Moat IDs",
        },
    ),
    Identifier(
        "ip_address",
        (
            Field(
                "ip_address",
                ("ip_address", "ip", "client_ip", "client_ip_address", "ip_addr"),
                "The person's IPv4 address (an IPv6 one is left out), or its SHA-256 hash.",
            ),
            Field("sha256_ip_address", ("sha256_ip_address", "hashed_ip_address", "hashed_ip"), feeds="ip_address"),
        ),
        "IP address",
        "IP address",
        (c.ID_PLAINTEXT_IP, c.ID_SHA256_IP),
        {
            "invalid_ip_address_dropped": "the IP address is not a valid address",
            "ipv6_address_dropped": "LinkedIn takes IPv4 addresses only",
            "ip_address_unsupported_dropped": "the configured API version does not accept IP addresses",
        },
    ),
    Identifier(
        "google_aid",
        (
            Field(
                "google_aid",
                ("google_aid", "gaid", "google_advertising_id", "android_advertising_id"),
                "Google (Android) advertising ID, a UUID; not Apple's IDFA.",
            ),
        ),
        "Google advertising ID",
        "Google advertising ID",
        (c.ID_GOOGLE_AID,),
        {
            "invalid_google_aid_dropped": "the Google advertising ID is not a UUID",
            "google_aid_unsupported_dropped": "the configured API version does not accept Google advertising IDs",
        },
    ),
    Identifier(
        "name",
        (
            Field(
                "first_name",
                ("first_name", "firstname", "given_name"),
                "First name; sent only together with last_name.",
            ),
            Field(
                "last_name", ("last_name", "lastname", "family_name"), "Last name; sent only together with first_name."
            ),
        ),
        "first+last name",
        "first and last name",
        unusable={"partial_name_dropped": "a name needs both first and last name"},
    ),
    Identifier(
        "external_id",
        (Field("external_id", ("external_id", "user_id"), "Your own ID for the person (LinkedIn uses one)."),),
        "external ID",
        "external ID",
        unusable={"invalid_external_id_dropped": f"the external ID {_NEITHER_TEXT_NOR_NUMBER}"},
    ),
    Identifier(
        "lead",
        (
            Field(
                "lead_id",
                ("lead_id", "lead"),
                "LinkedIn Lead Gen form response ID or urn:li:leadGenFormResponse URN.",
            ),
        ),
        "lead form",
        "lead",
        unusable={"invalid_lead_dropped": "the lead is not a Lead Gen form response"},
        alone_from=c.LEAD_ALONE_FIRST_VERSION,
    ),
)
BY_KEY = {identifier.key: identifier for identifier in IDENTIFIERS}
# Note code → why its identifier did not count, for the no_identifier sentence.
UNUSABLE = {code: why for identifier in IDENTIFIERS for code, why in identifier.unusable.items()}
# "email, LinkedIn click ID (li_fat_id), …, external ID or lead": every identifier, for the sentences.
LISTED = ", ".join(identifier.named for identifier in IDENTIFIERS[:-1]) + " or " + IDENTIFIERS[-1].named
