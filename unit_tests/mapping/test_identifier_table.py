"""The identifier table is the one list of identifiers: what the connector recognises, offers, counts and says
about identifiers is read from it, and the places that must restate it (the spec, the docs) agree with it."""

from __future__ import annotations

import ast
import json

from destination_linkedin_capi import constants as c
from destination_linkedin_capi import report
from destination_linkedin_capi.commands import discover
from destination_linkedin_capi.linkedin.versions import ApiVersion
from destination_linkedin_capi.mapping.fields import RECOGNISED_FIELDS
from destination_linkedin_capi.mapping.identifiers import IDENTIFIERS, LISTED
from destination_linkedin_capi.mapping.reasons import NOTE_REASONS, REJECTION_REASONS, no_identifier
from unit_tests.conftest import ROOT

MAPPING = ROOT / "destination_linkedin_capi" / "mapping"


def test_the_spec_offers_every_recognised_field_for_field_mappings():
    spec = json.loads((ROOT / "destination_linkedin_capi" / "spec.json").read_text(encoding="utf-8"))
    item = spec["connectionSpecification"]["properties"]["field_mappings"]["items"]
    offered = item["properties"]["linkedin_field"]["enum"]
    assert sorted(offered) == sorted([*RECOGNISED_FIELDS, "event_name"])


def test_every_identifier_is_counted_labelled_offered_and_named():
    assert list(report.IDENTIFIER_LABELS) == [identifier.key for identifier in IDENTIFIERS]
    assert {"ip_address", "google_aid"} <= set(report.IDENTIFIER_LABELS)
    for identifier in IDENTIFIERS:
        assert identifier.matching_key in discover.matching_keys(ApiVersion(c.DEFAULT_API_VERSION))
        assert set(identifier.matching_key) <= set(discover.FIELDS)
        assert identifier.named in LISTED
        assert {f.name for f in identifier.fields} <= set(RECOGNISED_FIELDS)


def test_every_identifier_note_has_its_sentence_and_every_sentence_lists_every_identifier():
    codes = {code for identifier in IDENTIFIERS for code in identifier.unusable}
    assert set(NOTE_REASONS) == codes | {"unknown_country_dropped"}
    assert LISTED in REJECTION_REASONS["no_identifier"]
    reason, sentence = no_identifier(["invalid_google_aid_dropped"])
    assert reason == "no_identifier"
    assert sentence == f"The record has no {LISTED} (the Google advertising ID is not a UUID)."


def test_the_mapping_imports_nothing_of_the_airbyte_cdk():
    for path in MAPPING.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            assert not any(name.split(".")[0] == "airbyte_cdk" for name in names), path
