"""docs/linkedin-capi.md stays true to the code: every spec field is in the config reference, and every sentence
the connector can print when something is wrong, every rejection reason and every ignored-message kind is in the
troubleshooting section.

The sentences are read from the source, not listed here, so a new message fails this test until it is
documented. `error_templates` collects, across the connector's modules (not the sandbox, not the demo):
- the message of every exception constructed (a callee named `…Error`, `…Failed` or `…Exception`),
- every warning or error log line (`logger.warning(...)`, `logger.error(...)`),
- every `(False, sentence)` pair (how `check` reports a failure),
following a variable to its assignments and a helper call to the strings its function returns. Placeholders
(`{…}`, `%s`) become `…`; the troubleshooting section must contain each sentence's first clause (up to the
first `; ` or `. `), written with `…` for the variable parts.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.mapping.reasons import NOTE_REASONS, REJECTION_REASONS
from unit_tests.conftest import ROOT

PACKAGE = ROOT / "destination_linkedin_capi"
NOT_THE_CONNECTOR: set[str] = set()  # every module of the package is the connector (the demo lives in devtools/)
GUIDE = (ROOT / "docs" / "linkedin-capi.md").read_text(encoding="utf-8")
GAP = "…"
_PERCENT = re.compile(r"%[-+ #0]*\d*(?:\.\d+)?[sdfr]")


def section(title: str) -> str:
    start = GUIDE.index(f"\n## {title}")
    end = GUIDE.find("\n## ", start + 1)
    return GUIDE[start : end if end != -1 else None]


def normalized(text: str) -> str:
    """Markdown emphasis and code marks off, whitespace collapsed, so a sentence can be quoted readably."""
    return re.sub(r"\s+", " ", text.replace("`", "").replace("*", "").replace("\\|", "|"))


# --- reading the source --------------------------------------------------------------------------------------


def connector_modules() -> list[Path]:
    modules = [*PACKAGE.glob("*.py"), *PACKAGE.glob("*/*.py")]
    return sorted(path for path in modules if path.name not in NOT_THE_CONNECTOR)


def _template(node: ast.AST) -> str | None:
    """A string literal, f-string or `+` of them as text with GAP for every variable part; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _PERCENT.sub(GAP, node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else GAP for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        if left is not None or right is not None:
            return (left or GAP) + (right or GAP)
    return None


def _callee(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


class _Source:
    """All functions of the connector's modules, to follow variables and helper calls to their strings."""

    def __init__(self, modules: list[Path]) -> None:
        self.trees = [ast.parse(path.read_text(encoding="utf-8")) for path in modules]
        self.functions: dict[str, list[ast.FunctionDef]] = {}
        for tree in self.trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef):
                    self.functions.setdefault(node.name, []).append(node)

    def strings(self, node: ast.AST, scope: ast.FunctionDef, depth: int = 0) -> Iterator[str]:
        """Every text `node` can evaluate to, as far as literals go."""
        template = _template(node)
        if template is not None:
            yield template
        elif isinstance(node, ast.Name):
            for assign in ast.walk(scope):
                if isinstance(assign, ast.Assign) and any(
                    isinstance(target, ast.Name) and target.id == node.id for target in assign.targets
                ):
                    yield from self.strings(assign.value, scope, depth)
        elif isinstance(node, ast.Call) and depth < 3:
            for function in self.functions.get(_callee(node), []):
                for returned in ast.walk(function):
                    if isinstance(returned, ast.Return) and returned.value is not None:
                        yield from self.strings(returned.value, function, depth + 1)

    def messages(self) -> Iterator[str]:
        for tree in self.trees:
            for scope in ast.walk(tree):
                if not isinstance(scope, ast.FunctionDef):
                    continue
                for node in ast.walk(scope):
                    for candidate in _message_nodes(node):
                        yield from self.strings(candidate, scope)


def _message_nodes(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Call):
        name = _callee(node)
        if name.endswith(("Error", "Failed", "Exception")):
            yield from node.args[:1]
            yield from (keyword.value for keyword in node.keywords if keyword.arg == "message")
        elif name in ("warning", "error") and node.args:
            yield node.args[0]
    elif isinstance(node, ast.Tuple) and len(node.elts) == 2:
        first = node.elts[0]
        if isinstance(first, ast.Constant) and first.value is False:
            yield node.elts[1]


def first_clause(template: str) -> str:
    """Up to the first `; ` or `. ` outside parentheses (not the one in "e.g. "): the problem, not the remedy."""
    depth = 0
    clause = template
    for index, char in enumerate(template):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and template.startswith(("; ", ". "), index) and not template.endswith(("e.g", "i.e"), 0, index):
            clause = template[:index]
            break
    return normalized(re.sub(f"{GAP}(?:\\s*{GAP})+", GAP, clause)).strip().rstrip(".")


def error_templates() -> dict[str, str]:
    """First clause → the whole template, for every sentence the connector can print about a problem."""
    found: dict[str, str] = {}
    for template in _Source(connector_modules()).messages():
        clause = first_clause(template)
        if clause.strip(GAP + " .:;"):
            found.setdefault(clause, template)
    return found


def _constant_args(module: str, method: str, position: int) -> set[str]:
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    return {
        node.args[position].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _callee(node) == method
        and len(node.args) > position
        and isinstance(node.args[position], ast.Constant)
    }


def outcome_codes() -> set[str]:
    """Every code a record or message can be counted under in the sync summary."""
    rejected = _constant_args("write/session.py", "reject", 2) | _constant_args("write/writer.py", "record_rejected", 2)
    ignored = _constant_args("write/session.py", "record_ignored", 0) | _constant_args(
        "airbyte/input.py", "record_ignored", 0
    )
    return set(REJECTION_REASONS) | set(NOTE_REASONS) | rejected | ignored


def spec_properties(schema: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    """(dotted path, property schema) for every property at any depth, oneOf options and array items included."""
    if isinstance(schema, dict):
        for name, child in schema.get("properties", {}).items():
            yield f"{path}{name}", child
            yield from spec_properties(child, f"{path}{name}.")
        for option in schema.get("oneOf", []):
            yield from spec_properties(option, path)
        if "items" in schema:
            yield from spec_properties(schema["items"], path)


SPEC = json.loads((PACKAGE / "spec.json").read_text(encoding="utf-8"))["connectionSpecification"]


# --- the tests ------------------------------------------------------------------------------------------------


def test_the_extractor_finds_messages_of_every_kind():
    """Guards the guard: if the source scan broke, the troubleshooting test would pass vacuously."""
    clauses = error_templates()
    assert len(clauses) > 50
    for expected in (
        "The token service does not know this Token ID (unknown_token_id)",  # failures.py, via auth._refusal
        "LinkedIn rejected the access token: it …",  # failures.py, via token_rejected
        "Unexpected error while checking the connection (…)",  # check.py, a (False, sentence) pair
        "LinkedIn API version …",  # failures.py version_warning, logged as a warning
        "LinkedIn refused to … (HTTP 403: …)",  # failures.py forbidden, via sentence
        "The daily request budget (… requests) is spent",  # throttle.py
        "… is required (config field '…')",  # config.py, via _describe
    ):
        assert expected in clauses, expected
    assert {"record_not_object", "linkedin_rejected", "unknown_stream", "non_json_line"} <= outcome_codes()


def test_every_error_sentence_is_in_the_troubleshooting_section():
    text = normalized(section("Troubleshooting"))
    missing = {clause: template for clause, template in error_templates().items() if clause not in text}
    assert not missing, "document in Troubleshooting:\n" + "\n".join(f"  {clause}" for clause in sorted(missing))


def test_every_rejection_reason_and_ignored_kind_is_in_the_troubleshooting_section():
    text = section("Troubleshooting")
    missing = sorted(code for code in outcome_codes() if f"`{code}`" not in text)
    assert not missing


@pytest.mark.parametrize("path", [path for path, _ in spec_properties(SPEC)])
def test_every_spec_field_is_in_the_config_reference(path):
    reference = section("Config reference")
    name = path.rsplit(".", 1)[-1]
    rows = [line for line in reference.splitlines() if f"`{path}`" in line or f"`{name}`" in line]
    assert rows, f"{path} is not in the config reference"


@pytest.mark.parametrize("path", [path for path, prop in spec_properties(SPEC) if prop.get("airbyte_hidden")])
def test_hidden_spec_fields_are_marked_hidden(path):
    rows = [line for line in section("Config reference").splitlines() if f"`{path}`" in line]
    assert rows and all("hidden" in row.lower() for row in rows), path


def test_the_limits_section_quotes_the_constants():
    limits = normalized(section("Limits"))
    for fact in (
        f"{c.MAX_REQUESTS_PER_MINUTE:,} requests per minute",
        f"{c.DEFAULT_REQUESTS_PER_DAY:,} requests per day",
        f"{c.MAX_BATCH_SIZE:,} events per request",
        f"{c.MAX_EVENT_AGE.days} days",
        "72 hours",
    ):
        assert fact in limits, fact


@pytest.mark.parametrize("document", ["README.md", "docs/linkedin-capi.md"])
def test_relative_links_point_to_files(document):
    base = (ROOT / document).parent
    for target in re.findall(r"\]\((?!https?://|#)([^)#]+)", (ROOT / document).read_text(encoding="utf-8")):
        assert (base / target).resolve().exists(), target


def test_the_sync_modes_table_has_airbytes_form_and_agrees_with_the_spec():
    rows = [line for line in section("Supported sync modes").splitlines() if line.startswith("| ")]
    assert rows[0] == "| Sync mode | Supported? | Notes |"
    supported = {row.split(" | ")[0].removeprefix("| "): row.split(" | ")[1] for row in rows[1:]}
    assert set(supported.values()) == {"Yes", "No"}
    spec = json.loads((ROOT / "destination_linkedin_capi" / "spec.json").read_text(encoding="utf-8"))
    declared = {"Append": "append", "Append + Deduped": "append_dedup", "Overwrite": "overwrite"}
    declared["Overwrite + Deduped"] = "overwrite_dedup"
    for mode, answer in supported.items():
        sync = declared[mode.split(" - ", 1)[1]]
        assert (answer == "Yes") == (sync in spec["supported_destination_sync_modes"]), mode
