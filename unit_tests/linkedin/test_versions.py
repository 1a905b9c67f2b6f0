"""`ApiVersion`: which identifier types a LinkedIn API version takes, from the facts in `constants`."""

from __future__ import annotations

import pytest

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.linkedin.versions import ApiVersion, version_after


@pytest.mark.parametrize(
    "version, id_type, accepted",
    [
        ("202511", c.ID_PLAINTEXT_IP, False),
        ("202601", c.ID_PLAINTEXT_IP, True),
        ("202606", c.ID_SHA256_IP, False),
        ("202607", c.ID_SHA256_IP, True),
        ("202604", c.ID_GOOGLE_AID, False),
        ("202605", c.ID_GOOGLE_AID, True),  # LinkedIn's own GTM template sends it with 202605
        ("202604", c.ID_ORACLE_MOAT, True),
        ("202605", c.ID_ORACLE_MOAT, False),
        ("202508", c.ID_SHA256_EMAIL, True),
        ("202607", c.ID_LINKEDIN_UUID, True),
    ],
)
def test_accepts(version, id_type, accepted):
    assert ApiVersion(version).accepts(id_type) is accepted


def test_first_accepting_and_refusing():
    assert ApiVersion.first_accepting(c.ID_GOOGLE_AID) == "202605"
    assert ApiVersion.first_accepting(c.ID_SHA256_EMAIL) is None
    assert ApiVersion.first_refusing(c.ID_ORACLE_MOAT) == "202605"
    assert ApiVersion.first_refusing(c.ID_PLAINTEXT_IP) is None


@pytest.mark.parametrize("version, after", [("202604", "202605"), ("202612", "202701"), ("202609", "202610")])
def test_version_after(version, after):
    assert version_after(version) == after


@pytest.mark.parametrize(
    "version, first, answer", [("202604", "202605", False), ("202605", "202605", True), ("202604", None, True)]
)
def test_is_at_least(version, first, answer):
    assert ApiVersion(version).is_at_least(first) is answer


def test_sunset_and_newer_than_known():
    newest = max(c.VERSION_SUNSET_DATES)
    assert ApiVersion(newest).sunset == c.VERSION_SUNSET_DATES[newest]
    assert not ApiVersion(newest).newer_than_known
    later = version_after(newest)
    assert ApiVersion(later).newer_than_known and ApiVersion(later).sunset is None
