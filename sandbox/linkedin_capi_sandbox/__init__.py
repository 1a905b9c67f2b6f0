"""A strict local stand-in for the LinkedIn Conversions API (docs/sandbox.md).

LinkedIn offers no test environment for CAPI; this server reproduces its documented contract
so that code which passes against it would pass against LinkedIn.
"""

from linkedin_capi_sandbox.app import Sandbox

__all__ = ["Sandbox"]
