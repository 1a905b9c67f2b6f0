"""Token providers: one interface — "give me a valid token", "that one was rejected" — for every auth mode.

Every token obtained at run time is registered with the CDK's secret filter before it can reach a log.
"""

from __future__ import annotations

from typing import Protocol

from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets


class TokenProvider(Protocol):
    """What the client needs from an auth mode."""

    #: Human name of what failed, used in error sentences ("the access token", "the OAuth refresh token").
    description: str

    def token(self) -> str:
        """A token believed valid now (fetched or refreshed as needed)."""
        ...

    def refresh(self, rejected: str) -> bool:
        """LinkedIn answered 401 to `rejected`: drop it; True when a retry with a new token makes sense."""
        ...


class StaticTokenProvider:
    """Access-token mode: the Direct API token from Campaign Manager. It cannot be refreshed."""

    description = "the access token"

    def __init__(self, access_token: str) -> None:
        self._token = access_token.strip()
        add_to_secrets(self._token)

    def token(self) -> str:
        return self._token

    def refresh(self, rejected: str) -> bool:
        return False
