"""Rest.li 2.0 URI syntax: keys like `(campaign:urn%3Ali%3AsponsoredCampaign%3A1,conversion:...)`,
`List(...)` values, and query strings whose structure characters are literal.

LinkedIn parses the raw URI: `(`, `)`, `,` and `:` are structure, and a value must percent-encode
them. A URN with raw colons, or a `search=` whose parentheses a client percent-encoded, is a 400
there, so it is a 400 here (`RestliSyntaxError`).
"""

from __future__ import annotations

from urllib.parse import unquote

RESERVED = frozenset("(),:")
RestliValue = str | list["RestliValue"] | dict[str, "RestliValue"]


class RestliSyntaxError(ValueError):
    """The raw text is not a Rest.li 2.0 URI element."""


def parse_element(raw: str) -> RestliValue:
    """Parse one raw (still percent-encoded) URI element into str / list / dict."""
    value, end = _element(raw, 0)
    if end != len(raw):
        raise RestliSyntaxError(f"unexpected {raw[end]!r} at position {end} in {raw!r}")
    return value


def _element(raw: str, pos: int) -> tuple[RestliValue, int]:
    if raw.startswith("List(", pos):
        items: list[RestliValue] = []
        pos += 5
        if raw.startswith(")", pos):
            return items, pos + 1
        while True:
            item, pos = _element(raw, pos)
            items.append(item)
            pos = _expect_separator(raw, pos)
            if raw[pos - 1] == ")":
                return items, pos
    if raw.startswith("(", pos):
        fields: dict[str, RestliValue] = {}
        pos += 1
        if raw.startswith(")", pos):
            return fields, pos + 1
        while True:
            name, pos = _element(raw, pos)
            if not isinstance(name, str) or not raw.startswith(":", pos):
                raise RestliSyntaxError(f"expected 'name:' at position {pos} in {raw!r}")
            fields[name], pos = _element(raw, pos + 1)
            pos = _expect_separator(raw, pos)
            if raw[pos - 1] == ")":
                return fields, pos
    end = pos
    while end < len(raw) and raw[end] not in RESERVED:
        end += 1
    return _primitive(raw[pos:end], raw), end


def _expect_separator(raw: str, pos: int) -> int:
    if pos < len(raw) and raw[pos] in ",)":
        return pos + 1
    raise RestliSyntaxError(f"expected ',' or ')' at position {pos} in {raw!r}")


def _primitive(text: str, raw: str) -> str:
    if not text:
        raise RestliSyntaxError(f"empty value in {raw!r}")
    return unquote(text)


def parse_query(query: str) -> dict[str, str]:
    """Split a raw query string into {name: raw value}; values stay encoded for `parse_element`."""
    params: dict[str, str] = {}
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            params[unquote(name)] = value
    return params


def primitive_param(params: dict[str, str], name: str) -> str | None:
    """A plain (non-structured) query parameter, decoded; raises on structure characters."""
    raw = params.get(name)
    if raw is None:
        return None
    value = parse_element(raw)
    if not isinstance(value, str):
        raise RestliSyntaxError(f"query parameter {name} must be a plain value")
    return value


def urn_id(value: object, prefix: str) -> int | None:
    """The numeric id of `prefix{digits}`, or None when `value` is not such a URN."""
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    digits = value[len(prefix) :]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 19 else None
