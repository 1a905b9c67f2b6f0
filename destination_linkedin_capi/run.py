"""Console-script entry point (`destination-linkedin-capi`)."""

from __future__ import annotations

import sys

from destination_linkedin_capi.destination import DestinationLinkedinCapi


def run() -> None:
    DestinationLinkedinCapi().run(sys.argv[1:])
