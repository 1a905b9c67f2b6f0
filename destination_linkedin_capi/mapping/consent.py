"""Consent: with `consent_field` set, a record is sent only when that field holds a granted value
(`consent_values`); otherwise it is rejected `no_consent` before anything else is looked at."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from destination_linkedin_capi.mapping.fields import dig
from destination_linkedin_capi.mapping.paths import parse_path
from destination_linkedin_capi.mapping.results import Rejection


def consent_token(value: Any) -> str | None:
    """The comparable form of a consent value: true/false, whole numbers as digits, text trimmed and
    case-folded; None for what can never mean consent (null, objects, lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value.strip().casefold()
    return None


class ConsentCheck:
    """The config's consent rule, worked out once per sync."""

    __slots__ = ("_field", "_granted", "_path", "_shown_values")

    def __init__(self, field: str, values: Iterable[Any]) -> None:
        self._field = field.strip()
        # the path grammar of Field mappings: keys and list positions (`consents[0].granted`), checked by the config
        self._path = parse_path(self._field) or (self._field,)
        self._granted = frozenset(token for token in map(consent_token, values) if token)
        self._shown_values = ", ".join(sorted(self._granted))

    def refusal(self, data: Mapping[str, Any]) -> Rejection | None:
        """None when the record grants consent, else its `no_consent` rejection (the value is not quoted)."""
        value = data[self._field] if self._field in data else dig(data, self._path)
        if consent_token(value) in self._granted:
            return None
        granted = self._shown_values
        if value is None:
            detail = f"is missing or empty, so consent was not granted (granted values: {granted})"
        elif isinstance(value, (dict, list)):
            detail = f"holds an object or a list, not a consent value (granted values: {granted})"
        else:
            detail = f"holds a value other than the granted ones ({granted}), so consent was not granted"
        return Rejection("no_consent", f"Field '{self._field}' {detail}.")
