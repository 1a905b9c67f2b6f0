"""Airbyte destination that streams conversion events to the LinkedIn Conversions API."""

from destination_linkedin_capi.destination import DestinationLinkedinCapi

__all__ = ["DestinationLinkedinCapi"]
