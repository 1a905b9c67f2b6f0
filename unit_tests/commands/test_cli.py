"""The command line: `--help` lists every command, discover included; a missing command is a usage error."""

from __future__ import annotations

import pytest

from destination_linkedin_capi import DestinationLinkedinCapi


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as raised:
        DestinationLinkedinCapi().parse_args(["--help"])
    assert raised.value.code == 0
    text = capsys.readouterr().out
    for command in ("spec", "check", "discover", "write"):
        assert f"\n    {command} " in text, command


@pytest.mark.parametrize(
    "args, expected",
    [
        (["spec"], {"command": "spec"}),
        (["check", "--config", "c.json"], {"command": "check", "config": "c.json"}),
        (["discover", "--config", "c.json"], {"command": "discover", "config": "c.json"}),
        (
            ["write", "--config", "c.json", "--catalog", "k.json"],
            {"command": "write", "config": "c.json", "catalog": "k.json"},
        ),
    ],
)
def test_each_command_parses(args, expected):
    assert vars(DestinationLinkedinCapi().parse_args(args)) == expected


@pytest.mark.parametrize("args", [[], ["write", "--config", "c.json"], ["read", "--config", "c.json"]])
def test_a_missing_command_or_argument_is_a_usage_error(args, capsys):
    with pytest.raises(SystemExit) as raised:
        DestinationLinkedinCapi().parse_args(args)
    assert raised.value.code == 2
    assert "usage: destination-linkedin-capi" in capsys.readouterr().err
