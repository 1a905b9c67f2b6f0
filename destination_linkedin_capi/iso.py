"""ISO 4217 currencies and ISO 3166 countries, from pycountry, as fast lookup tables; each currency's minor units
from the iso4217 package, which ships the ISO 4217 maintenance agency's own table."""

from __future__ import annotations

import iso4217
import pycountry

CURRENCY_CODES: frozenset[str] = frozenset(currency.alpha_3 for currency in pycountry.currencies)
#: Currency → its decimal places (USD 2, JPY 0, KWD 3); a currency without minor units (gold XAU, XDR) is absent.
MINOR_UNITS: dict[str, int] = {
    code: int(entry["CcyMnrUnts"])
    for code, entry in iso4217.raw_table.items()
    if code and isinstance(entry.get("CcyMnrUnts"), str) and entry["CcyMnrUnts"].isdigit()
}


def _country_index() -> dict[str, str]:
    """Every accepted spelling (alpha-2, alpha-3, names), casefolded → alpha-2."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name", "alpha_3", "alpha_2"):
            value = getattr(country, attribute, None)
            if value:
                index[value.casefold()] = country.alpha_2
    return index


COUNTRY_ALPHA2: dict[str, str] = _country_index()
