"""Field rules: turn one record value into the exact form LinkedIn's event schema wants.

Pure functions on single values, shared by the `mapping` package. The rules follow `docs/linkedin-facts.md` §4/§5;
the choices where LinkedIn is silent are documented in `docs/mapping.md`. A value that cannot be used raises `Invalid` (it decides a
rejection) or yields None (the caller drops it with a note) — never anything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import sys
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from dateutil.parser import isoparser

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.iso import COUNTRY_ALPHA2, CURRENCY_CODES, MINOR_UNITS
from destination_linkedin_capi.masking import describe

# SHA-256 of one short message (an address, an eventId's text): CPython's own implementation when
# it has one (`_sha256`, `_sha2` from 3.12), which `hashlib` uses where OpenSSL is missing. Creating
# an OpenSSL context costs more than hashing one block; the digests are the same.
try:
    from _sha256 import sha256 as sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.12+, or a build without it
    try:
        from _sha2 import sha256 as sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:
        sha256 = hashlib.sha256  # type: ignore[assignment]

# Epoch numbers: the unit is told by magnitude. Below 1e11 a value is seconds (until year 5138);
# below 1e14 milliseconds, below 1e17 microseconds, below 1e20 nanoseconds.
_EPOCH_UNITS: tuple[tuple[float, int, int], ...] = (
    (1e11, 1000, 1),
    (1e14, 1, 1),
    (1e17, 1, 1000),
    (1e20, 1, 1_000_000),
)
_MAX_ID_NUMBER = 10**c.MAX_EVENT_ID_LENGTH
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)

# Amounts beyond these bounds are data errors, and formatting them without exponent notation
# could otherwise build strings of any length ("1e999999").
MAX_AMOUNT_INTEGER_DIGITS = 30
MAX_AMOUNT_DECIMAL_PLACES = 18
_FLOAT_PLACES = MAX_AMOUNT_DECIMAL_PLACES + 1  # a float's repr, from its dot to its end, within the limit
_MAX_AMOUNT = 10**MAX_AMOUNT_INTEGER_DIGITS
# Only thousands separators are understood: "1,234.50" or "1,234,567". A lone comma group without
# a decimal point ("1,234", "12,5") reads differently in different locales, so it is refused.
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:(?:,[0-9]{3}){2,}(?:\.[0-9]*)?|(?:,[0-9]{3})+\.[0-9]*)")

# Everyday English names that ISO 3166 (and so pycountry) spells differently.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "u.k.": "GB",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "russia": "RU",
    "turkey": "TR",
    "holland": "NL",
    "ivory coast": "CI",
    "macedonia": "MK",
    "swaziland": "SZ",
    "burma": "MM",
    "cape verde": "CV",
    "east timor": "TL",
    "vatican": "VA",
    "brunei": "BN",
    "uae": "AE",
    "macau": "MO",
    "palestine": "PS",
    "micronesia": "FM",
    "drc": "CD",
    "democratic republic of the congo": "CD",
}


class Invalid(ValueError):
    """A value that makes the record unusable: `reason` is a rejection code, `detail` a phrase
    that completes "<field> …" in a sentence (it never repeats the value: `masking.describe` shows it)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def is_sha256_hex(text: str) -> bool:
    """64 hex digits in any case — an email that was hashed already (docs/linkedin-facts.md §5)."""
    if len(text) != 64 or not text.isascii() or not text.isalnum():
        return False
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def email_sha256(value: Any) -> str | None:
    """Lowercase hex SHA-256 of the trimmed, lowercased address; a 64-hex value passes through
    lowercased (never hashed twice). None for anything that is neither an address nor a hash."""
    if value.__class__ is not str:
        return None
    text = value.strip().lower()
    if len(text) == 64 and is_sha256_hex(text):
        return text
    at = text.rfind("@")
    if at <= 0 or at == len(text) - 1 or " " in text or not text.isprintable():
        return None
    return sha256(text.encode()).hexdigest()


def _epoch_ms(number: float) -> int:
    magnitude = abs(number)
    for bound, multiply, divide in _EPOCH_UNITS:
        if magnitude < bound:
            if isinstance(number, int):
                return number * multiply // divide
            return round(number * multiply / divide)
    raise Invalid("invalid_timestamp", f"is {describe(number)}, too large to be an epoch time")


if sys.version_info >= (3, 11):
    _parse_iso = dt.datetime.fromisoformat
else:  # Python 3.10's fromisoformat knows no "Z", no basic format and only 3- or 6-digit fractions

    def _parse_iso(text: str) -> dt.datetime:
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return isoparser(sep=text[10] if len(text) > 10 and text[10] in " T" else "T").isoparse(text)


def timestamp_ms(value: Any) -> int:
    """Epoch milliseconds (UTC) from ISO-8601 text (naive = UTC, date-only = midnight UTC) or an
    epoch number / digit string in seconds, ms, µs or ns (unit told by magnitude)."""
    kind = value.__class__
    if kind is str:
        text = value.strip()
        if text.isdigit() and text.isascii():
            if len(text) > 20:
                raise Invalid("invalid_timestamp", f"is {describe(value)}, too large to be an epoch time")
            return _epoch_ms(int(text))
        try:
            moment = _parse_iso(text)
            delta = moment - (_NAIVE_EPOCH if moment.tzinfo is None else _UTC_EPOCH)
            # = delta // 1 ms: a timedelta keeps 0 ≤ seconds < 86,400 and 0 ≤ microseconds < 10⁶, and this
            # costs a third of the timedelta division
            return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
        except (ValueError, OverflowError):
            pass
        whole, dot, fraction = text.partition(".")
        if dot and whole.isdigit() and fraction.isdigit() and text.isascii():
            return _epoch_ms(float(text))
        raise Invalid("invalid_timestamp", f"is {describe(value)}, not an ISO-8601 date-time or epoch number")
    if kind is int or (kind is float and math.isfinite(value)):
        return _epoch_ms(value)
    raise Invalid("invalid_timestamp", f"is {describe(value)}, not a date-time or epoch number")


def _decimal_text(number: Decimal, original: Any) -> str:
    if not number.is_finite():
        raise Invalid("invalid_amount", f"is {describe(original)}, not a number")
    if number < 0:
        raise Invalid("negative_amount", f"is {describe(original)}: a conversion value cannot be negative")
    if number >= _MAX_AMOUNT:
        raise Invalid("invalid_amount", f"is {describe(original)}, more than {MAX_AMOUNT_INTEGER_DIGITS} digits")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_AMOUNT_DECIMAL_PLACES:
        raise Invalid(
            "invalid_amount", f"is {describe(original)}, more than {MAX_AMOUNT_DECIMAL_PLACES} decimal places"
        )
    return format(abs(number) if number == 0 else number, "f")


def amount_text(value: Any) -> str:
    """A plain decimal string (docs/linkedin-facts.md §4: the amount is a JSON string): exact digits, no
    exponent, no float rounding; "1,234.50" → "1234.50"; "12,5" is refused as ambiguous."""
    kind = value.__class__
    if kind is int:
        if 0 <= value < _MAX_AMOUNT:
            return str(value)
        return _decimal_text(Decimal(value), value)
    if kind is float:
        text = repr(value + 0.0)  # + 0.0 turns -0.0 into 0.0
        if value >= 0 and "e" not in text and "n" not in text and len(text) - text.index(".") <= _FLOAT_PLACES:
            return text  # the shortest exact round-trip of the float, e.g. "12.5"
        return _decimal_text(Decimal(text), value)
    if kind is not str:
        raise Invalid("invalid_amount", f"is {describe(value)}, not a number")
    text = value.strip()
    whole, dot, fraction = text.partition(".")
    if (
        whole.isdigit()
        and whole.isascii()
        and (whole[0] != "0" or whole == "0")
        and len(whole) <= MAX_AMOUNT_INTEGER_DIGITS
        and (not dot or (fraction.isdigit() and fraction.isascii() and len(fraction) <= MAX_AMOUNT_DECIMAL_PLACES))
    ):
        return text  # already plain ("1234.50"): what the Decimal route below would write, without its cost
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise Invalid(
                "invalid_amount",
                f"is {describe(value)}, ambiguous: use a dot for decimals and commas only between thousands (1,234.50)",
            )
        text = text.replace(",", "")
    if not text.isascii() or "_" in text or not text or text[-1].isalpha():
        raise Invalid("invalid_amount", f"is {describe(value)}, not a plain decimal number")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Invalid("invalid_amount", f"is {describe(value)}, not a plain decimal number") from None
    return _decimal_text(number, value)


def major_units(amount: str, currency: str, original: Any) -> str:
    """An amount in the currency's minor units (`amount_text`'s plain decimal) → in its major units, exactly, by
    moving the decimal point ISO 4217's number of places: 4999 USD → "49.99", 500 JPY → "500", 1234 KWD → "1.234"."""
    whole, _, fraction = amount.partition(".")
    if fraction.strip("0"):
        raise Invalid("invalid_amount", f"is {describe(original)}, not a whole number of minor units (cents)")
    places = MINOR_UNITS.get(currency)
    if places is None:
        raise Invalid(
            "invalid_currency",
            "is a currency without minor units in ISO 4217 (such as gold), so no amount in minor "
            "units can be converted",
        )
    if not places:
        return whole
    padded = whole.rjust(places + 1, "0")
    return f"{padded[:-places]}.{padded[-places:]}"


def currency_code(value: Any) -> str:
    """ISO 4217 alpha code, uppercased (checked against pycountry)."""
    if isinstance(value, str):
        code = value.strip().upper()
        if code in CURRENCY_CODES:
            return code
    raise Invalid("invalid_currency", f"is {describe(value)}, not an ISO 4217 currency code such as USD or EUR")


def country_alpha2(value: Any) -> str | None:
    """ISO 3166 alpha-2 from an alpha-2/alpha-3 code or a country name; None when unknown."""
    if not isinstance(value, str):
        return None
    key = value.strip().casefold()
    found = COUNTRY_ALPHA2.get(key) or _COUNTRY_ALIASES.get(key)
    if found is None and key.startswith("the "):
        found = COUNTRY_ALPHA2.get(key[4:]) or _COUNTRY_ALIASES.get(key[4:])
    return found


def clean_text(value: Any) -> str | None:
    """Trimmed text in Unicode NFC (names, company, title); None when not text or blank."""
    if value.__class__ is not str:
        return None
    text = value.strip()
    if not text:
        return None
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def identifier_text(value: Any) -> str | None:
    """A raw identifier (li_fat_id, Acxiom, Oracle Moat, external ID): trimmed text, or an
    integer written out; None for any other type."""
    if value.__class__ is str:
        return value.strip() or None
    if value.__class__ is int and abs(value) < _MAX_ID_NUMBER:
        return str(value)
    return None


def lead_urn(value: Any) -> str | None:
    """`urn:li:leadGenFormResponse:<id>` from that URN or its bare id; None for other URNs or text
    with spaces."""
    text = identifier_text(value)
    if text is None:
        return None
    bare = text.removeprefix(c.LEAD_URN_PREFIX)
    if not bare or ":" in bare or not bare.isprintable() or " " in bare:
        return None
    return c.LEAD_URN_PREFIX + bare


def conversion_rule_id(value: Any) -> int | None:
    """A row's conversion rule: a positive whole number of at most 19 digits, as a number, as text or as
    `urn:lla:llaPartnerConversion:<id>`; None for anything else."""
    if value.__class__ is int:
        return value if 0 < value < 10**19 else None
    if value.__class__ is not str:
        return None
    text = value.strip().removeprefix(c.CONVERSION_URN_PREFIX)
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) == 0:
        return None
    return int(text)


def event_id_text(value: Any) -> str:
    """The record's own eventId: text (or an integer) of at most 64 characters."""
    text = identifier_text(value)
    if text is None or len(text) > c.MAX_EVENT_ID_LENGTH:
        raise Invalid(
            "invalid_event_id", f"is {describe(value)}, not text of at most {c.MAX_EVENT_ID_LENGTH} characters"
        )
    return text


def event_id_prefix(namespace: str | None, stream: str, event: str) -> bytes:
    """The start of the canonical text a derived eventId hashes, `[namespace,stream,event,`; made
    once per stream and event so that each record only serialises its own key."""
    return orjson.dumps([namespace, stream, event])[:-1] + b","


def derived_event_id(prefix: bytes, key: Any) -> str:
    """A deterministic eventId: the first 32 hex digits of SHA-256 over the compact JSON array
    `[namespace, stream, event, key]` with sorted object keys (key: primary-key values or the record)."""
    try:
        body = orjson.dumps(key, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits, or nesting beyond orjson's 254 levels
        body = canonical_json(key).encode()
    return sha256(prefix + body + b"]").hexdigest()[:32]


def canonical_json(value: Any) -> str:
    """`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)`, built without
    recursion: orjson parses records nested up to 1,024 levels, deeper than the standard encoder can write on
    Python 3.10 and 3.11, and a record's derived eventId must not depend on the Python version."""
    out: list[str] = []
    todo: list[tuple[bool, Any]] = [(False, value)]  # (is output text, item), last first
    while todo:
        is_text, item = todo.pop()
        if is_text:
            out.append(item)
        elif isinstance(item, dict):
            parts: list[tuple[bool, Any]] = [(True, "{")]
            for i, name in enumerate(sorted(item)):
                parts += [(True, ("," if i else "") + json.dumps(name, ensure_ascii=False) + ":"), (False, item[name])]
            todo += reversed([*parts, (True, "}")])
        elif isinstance(item, (list, tuple)):
            parts = [(True, "[")]
            for i, element in enumerate(item):
                parts += [(True, ","), (False, element)] if i else [(False, element)]
            todo += reversed([*parts, (True, "]")])
        else:
            out.append(json.dumps(item, ensure_ascii=False, default=str))
    return "".join(out)
