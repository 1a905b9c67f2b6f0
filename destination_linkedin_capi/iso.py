"""ISO 4217 currencies and ISO 3166 countries, from pycountry, as fast lookup tables."""

from __future__ import annotations

import pycountry

CURRENCY_CODES: frozenset[str] = frozenset(currency.alpha_3 for currency in pycountry.currencies)


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
