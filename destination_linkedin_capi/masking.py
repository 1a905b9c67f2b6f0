"""How a record value, or an input line, is shown in any output — log lines, the sync summary, TRACE messages,
rejection sentences, dry-run previews: never verbatim. Airbyte keeps the logs, and marketing data in them is
personal data.

A value is described by its kind and shape, with a masked form: an email as `'t***@c***.com'`, other text by its
first character (`'Z***'`) with its length and the kinds of characters it holds, a number by its digit count, an
input line by its length and where the parser stopped. One module, used wherever a value used to be echoed, so
the rule holds everywhere at once (docs/linkedin-capi.md, "What the logs say about records").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from destination_linkedin_capi import constants as c

MASK = "***"
_SHOWN_SYMBOLS = 4  # distinct punctuation characters named in a shape, at most
_TLD = re.compile(r"[A-Za-z]{2,6}")
_MESSAGE_TYPE = re.compile(r"[A-Z][A-Z_]{0,19}")  # RECORD, STATE, CONNECTION_STATUS, ...: shown as they are
_PARSER_MESSAGE = re.compile(r"[ -~]{1,80}")


def _initial(text: str) -> str:
    """The first character and MASK (MASK alone when that character is blank or not printable)."""
    if not text or not text[0].isprintable() or text[0].isspace():
        return MASK
    return text[0] + MASK


def _first(text: str) -> str:
    """`_initial`, or MASK alone for text too short to hide anything."""
    return MASK if len(text) < 3 else _initial(text)


def _is_email(text: str) -> bool:
    at = text.rfind("@")
    return 0 < at < len(text) - 1 and " " not in text


def mask_text(text: str) -> str:
    """`t***@c***.com` for an email-like text (the top-level domain kept when it is a plain one), else the first
    character and `***` (`Z***`); `***` alone for text of fewer than 3 characters."""
    text = text.strip()
    if not _is_email(text):
        return _first(text)
    at = text.rfind("@")
    local, domain = text[:at], text[at + 1 :]
    name, dot, tld = domain.rpartition(".")
    if dot and name and _TLD.fullmatch(tld):
        return f"{_initial(local)}@{_initial(name)}.{tld}"
    return f"{_initial(local)}@{_initial(domain)}"


def _shape(text: str) -> str:
    """The kinds of characters `text` holds: "digits, letters, spaces, ',', '@'" (punctuation named, not placed)."""
    kinds = []
    if any(char.isdigit() for char in text):
        kinds.append("digits")
    if any(char.isalpha() for char in text):
        kinds.append("letters")
    if any(char.isspace() for char in text):
        kinds.append("spaces")
    symbols = sorted({char for char in text if not (char.isalnum() or char.isspace())})
    shown = [char for char in symbols if char.isascii() and char.isprintable()][:_SHOWN_SYMBOLS]
    kinds += [f"'{char}'" for char in shown]
    if len(shown) < len(symbols):
        kinds.append("other symbols")
    return ", ".join(kinds) or "no visible characters"


def _digits(number: int) -> str:
    if number.bit_length() > 10_000:  # str() of such an int is refused (and slow)
        return "more than 3,000 digits"
    count = len(str(abs(number)))
    return f"{count} digit" + ("" if count == 1 else "s")


def describe(value: Any) -> str:
    """A record value for a sentence ("Field 'value' is …, not a plain decimal number"): its kind and shape and
    a masked form, never the value itself."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        length = f"{len(value):,} character" + ("" if len(value) == 1 else "s")
        if _is_email(value.strip()):
            return f"'{mask_text(value)}' (an email address, {length})"
        return f"'{mask_text(value)}' ({length}: {_shape(value)})"
    if isinstance(value, int):
        return ("a negative" if value < 0 else "a") + f" whole number of {_digits(value)}"
    if isinstance(value, float):
        return ("a negative" if value < 0 else "a") + " number with decimals"
    return "a value of another type"


_NAME = re.compile(r"[\w .-]{1,64}")


def looks_like_name(text: Any) -> bool:
    """Text that reads as a name (an event name, a record field's name) rather than personal data: letters, digits,
    `_ . -` and spaces, at most 64 characters, with at least one letter (so no phone number or bare ID) and no `@`."""
    return (
        text.__class__ is str
        and _NAME.fullmatch(text) is not None
        and not text.isspace()
        and any(char.isalpha() for char in text)
    )


def event_name(value: Any) -> str:
    """A record's event name for a sentence: quoted as it is when it looks like a name (`'page_view'`), so the user
    can tell what to map; anything else described and masked like any record value."""
    if looks_like_name(value):
        return f"'{value}'"
    return describe(value)


def message_type(kind: Any) -> str:
    """A message's `type` for "a message of type …": Airbyte's type names as they are, anything else masked."""
    if type(kind) is str and _MESSAGE_TYPE.fullmatch(kind):
        return f"'{kind}'"
    return describe(kind)


def _parser_stop(error: Exception | None) -> str:
    """Where and why the strict parser stopped, from its error (a fixed sentence and a position, no input)."""
    message, position = getattr(error, "msg", None), getattr(error, "pos", None)
    if not isinstance(message, str) or not _PARSER_MESSAGE.fullmatch(message) or not isinstance(position, int):
        return ""
    return f", the parser stopped at position {position:,} ({message})"


def line(raw: bytes | str, error: Exception | None = None) -> str:
    """An input line for the summary's examples: its length, and where the JSON parser stopped on it."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "replace"))
    return f"a line of {size:,} bytes{_parser_stop(error)}"


JSON_KINDS = {
    list: "a JSON array",
    str: "a JSON string",
    int: "a JSON number",
    float: "a JSON number",
    bool: "JSON true or false",
}


def json_line(raw: bytes | str, parsed: Any) -> str:
    """A line that is JSON but not an object: which JSON it is, and its length."""
    kind = "JSON null" if parsed is None else JSON_KINDS.get(type(parsed), "a JSON value")
    return f"{line(raw)} holding {kind}, not an object"


# --- dry-run previews and LinkedIn's sentences -------------------------------------------------------------------

_CLEAR_USER_INFO = ("countryCode",)  # an ISO code the connector derived: shown as sent


def preview(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of an event as the dry run logs it: what LinkedIn would get in clear (raw IDs, names, company, title,
    external ID, lead, eventId) masked; hashed emails (already SHA-256), the rule, time, value and country as sent."""
    shown = dict(payload)
    if isinstance(shown.get("eventId"), str):
        shown["eventId"] = mask_text(shown["eventId"])
    user = payload.get("user")
    if not isinstance(user, dict):
        return shown
    user = shown["user"] = dict(user)
    user["userIds"] = [
        entry
        if entry.get("idType") == c.ID_SHA256_EMAIL
        else {**entry, "idValue": mask_text(str(entry.get("idValue")))}
        for entry in user.get("userIds", [])
    ]
    if isinstance(user.get("userInfo"), dict):
        user["userInfo"] = {
            name: value if name in _CLEAR_USER_INFO else mask_text(str(value))
            for name, value in user["userInfo"].items()
        }
    if "externalIds" in user:
        user["externalIds"] = [mask_text(str(external)) for external in user["externalIds"]]
    if isinstance(user.get("lead"), str):
        prefix, _, lead = user["lead"].rpartition(":")
        user["lead"] = f"{prefix}:{mask_text(lead)}"
    return shown


def _record_texts(payload: dict[str, Any]) -> Iterator[Any]:
    """The values of an event that come from its record (not the rule URN, not LinkedIn's idType names)."""
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    yield from (entry.get("idValue") for entry in user.get("userIds", []) if isinstance(entry, dict))
    if isinstance(user.get("userInfo"), dict):
        yield from user["userInfo"].values()
    yield from user.get("externalIds", [])
    yield user.get("lead")
    yield payload.get("eventId")
    value = payload.get("conversionValue")
    if isinstance(value, dict):
        yield value.get("amount")


def redact(sentence: str, payload: dict[str, Any]) -> str:
    """LinkedIn's sentence about one event with every value of that event it quotes masked (its answers may echo
    a value: "… is not a decimal number")."""
    values = {text for text in _record_texts(payload) if isinstance(text, str) and len(text) >= 3}
    for text in sorted(values, key=len, reverse=True):  # longest first: a value inside another is masked with it
        if text in sentence:
            sentence = sentence.replace(text, mask_text(text))
    return sentence
