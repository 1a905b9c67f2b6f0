"""A refresh token LinkedIn rotated must outlive this process: the platform stores the config, so the
connector hands it the whole updated config in an Airbyte CONTROL message of type CONNECTOR_CONFIG
(built with the CDK's `create_connector_config_control_message`), once per new token, the moment LinkedIn
rotates it — otherwise a sync that dies before its end would leave the platform with the dead token
(docs/authentication.md). A flush before each STATE and at the end stays as a backstop.

The message carries secrets by design (the platform stores them, as the CDK's own config observer does);
every log line stays masked, since the new token is registered with the secret filter when it arrives.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from airbyte_cdk.config_observation import create_connector_config_control_message
from airbyte_cdk.models import AirbyteMessageSerializer

logger = logging.getLogger("airbyte")


class ConfigUpdates:
    """Watches the token provider and emits the updated config when its refresh token has rotated."""

    def __init__(self, raw_config: Mapping[str, Any], tokens: Any, emit: Callable[[dict[str, Any]], None]) -> None:
        self._config = copy.deepcopy(dict(raw_config))
        self._tokens = tokens
        self._emit = emit
        self._reported: str | None = None
        self._lock = threading.Lock()
        watch = getattr(tokens, "watch_rotation", None)  # only the OAuth provider rotates tokens
        if watch is not None:
            watch(self.flush)

    def flush(self) -> None:
        """Emit the CONTROL message if the refresh token changed since the last one (cheap when it did not)."""
        rotated = getattr(self._tokens, "rotated_refresh_token", None)
        if rotated is None or rotated == self._reported:
            return
        with self._lock:
            if rotated == self._reported:
                return
            credentials = dict(self._config.get("credentials") or {})
            credentials["refresh_token"] = rotated
            self._config["credentials"] = credentials
            message = create_connector_config_control_message(copy.deepcopy(self._config))
            logger.info("LinkedIn issued a new OAuth refresh token; the updated config goes to Airbyte to keep.")
            self._emit(AirbyteMessageSerializer.dump(message))
            self._reported = rotated
