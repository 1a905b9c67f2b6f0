"""A rotated OAuth refresh token reaches the platform as one CONTROL/CONNECTOR_CONFIG message holding the whole
updated config, before the next STATE; a token that did not rotate sends nothing."""

from __future__ import annotations

import copy

from airbyte_cdk.models import AirbyteMessageSerializer, OrchestratorType, Type

from destination_linkedin_capi.airbyte.config_updates import ConfigUpdates
from unit_tests.linkedin_mocks import CLIENT_SECRET, REFRESH_TOKEN, config

NEW = "AQR-rotated-refresh-token-SECRET-9"


class Tokens:
    rotated_refresh_token: str | None = None


def test_nothing_is_emitted_until_the_token_rotates_then_once_per_new_token():
    raw = config("oauth2", creds={"conversion_mapping": "LEAD=111"})
    original = copy.deepcopy(raw)
    tokens, out = Tokens(), []
    updates = ConfigUpdates(raw, tokens, out.append)
    updates.flush()
    assert out == []
    tokens.rotated_refresh_token = NEW
    updates.flush()
    updates.flush()
    assert len(out) == 1
    message = AirbyteMessageSerializer.load(out[0])  # a valid protocol message
    assert message.type == Type.CONTROL and message.control.type == OrchestratorType.CONNECTOR_CONFIG
    expected = copy.deepcopy(original)
    expected["credentials"]["refresh_token"] = NEW
    assert message.control.connectorConfig.config == expected  # the whole config, only the token changed
    assert raw == original  # the caller's dict is not modified
    assert REFRESH_TOKEN not in str(out) and CLIENT_SECRET in str(out)  # the platform stores the whole config

    tokens.rotated_refresh_token = NEW + "-2"
    updates.flush()
    assert len(out) == 2
    assert out[1]["control"]["connectorConfig"]["config"]["credentials"]["refresh_token"] == NEW + "-2"


def test_providers_without_rotation_never_emit():
    out: list = []
    ConfigUpdates(config("token_id"), object(), out.append).flush()
    assert out == []
