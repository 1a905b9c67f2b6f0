"""What a LinkedIn Marketing API version accepts, from the facts in `constants` (docs/linkedin-facts.md §4):
the one place that compares version strings for identifier support."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from destination_linkedin_capi import constants as c


def version_after(version: str) -> str:
    """The Marketing API version (YYYYMM) released the month after `version`."""
    year, month = int(version[:4]), int(version[4:])
    return f"{year + month // 12}{month % 12 + 1:02d}"


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """One API version (YYYYMM); versions of that form order as text, so they are compared as such."""

    version: str

    def accepts(self, id_type: str) -> bool:
        """Whether events of this version may carry userIds of `id_type`."""
        first = c.ID_TYPE_FIRST_VERSION.get(id_type)
        last = c.ID_TYPE_LAST_VERSION.get(id_type)
        return (first is None or self.version >= first) and (last is None or self.version <= last)

    def is_at_least(self, first: str | None) -> bool:
        """Whether this version is `first` or later (None: every version is)."""
        return first is None or self.version >= first

    @property
    def sunset(self) -> dt.date | None:
        """The first day LinkedIn answers 426 to this version, when its migration table lists it."""
        return c.VERSION_SUNSET_DATES.get(self.version)

    @property
    def newer_than_known(self) -> bool:
        """Whether this version came out after the newest one this connector version knows a sunset date for."""
        return self.version > max(c.VERSION_SUNSET_DATES)

    @staticmethod
    def first_accepting(id_type: str) -> str | None:
        """The first version that takes `id_type`, when it was added later than the versions still served."""
        return c.ID_TYPE_FIRST_VERSION.get(id_type)

    @staticmethod
    def first_refusing(id_type: str) -> str | None:
        """The first version that no longer takes `id_type`, when one does."""
        last = c.ID_TYPE_LAST_VERSION.get(id_type)
        return None if last is None else version_after(last)
