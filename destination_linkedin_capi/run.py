"""Console-script entry point (`destination-linkedin-capi`; `main.py` calls it too)."""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _interrupted_at_start(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C before the command has begun (the Airbyte CDK takes a second to import): nothing was read or sent
    yet, so the process ends quietly with 128 + the signal's number instead of a KeyboardInterrupt traceback. A
    write installs its own handling once it starts (airbyte/cancel.py)."""
    sys.exit(128 + signum)


def run() -> None:
    signal.signal(signal.SIGINT, _interrupted_at_start)
    # Imported once the handler is in place: this import loads the Airbyte CDK.
    from destination_linkedin_capi.destination import DestinationLinkedinCapi

    DestinationLinkedinCapi().run(sys.argv[1:])
