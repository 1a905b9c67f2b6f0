"""README's "Running the connector by hand" works when pasted, and the sample files map every record.

The commands are read out of README.md, not restated here: the sandbox command of the first code block is
started as the README says, then every line of the second block runs in a shell from the repository root.
The changes made to them: `.venv/bin/` becomes the directory of the Python running the tests (the same directory
under `make test`), and the sandbox takes a free port instead of the README's 8787 (a user's own sandbox may hold
it), with the by-hand config copied and pointed at that port.
"""

from __future__ import annotations

import contextlib
import json
import re
import selectors
import shlex
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.sample_data import (
    BY_HAND_PORT,
    BY_HAND_TOKEN,
    access_token_config,
    by_hand_seed,
    catalog,
    generate_lines,
)
from integration_tests.writing import ROOT, parse_summary, run_write

pytestmark = pytest.mark.timeout(240)
BY_HAND = ROOT / "devtools" / "by_hand"
VENV_BIN = Path(sys.executable).parent


def readme_blocks() -> list[str]:
    """The bash code blocks of README's by-hand section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Running the connector by hand\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def venv(command: str) -> str:
    return command.replace(".venv/bin/", f"{VENV_BIN}/")


@contextlib.contextmanager
def readme_sandbox(command: str) -> Iterator[str]:
    readme_port = f"--port {BY_HAND_PORT}"
    assert readme_port in command
    process = subprocess.Popen(
        shlex.split(venv(command.replace(readme_port, "--port 0"))),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            line = process.stdout.readline() if selector.select(30) else ""
        assert line.startswith("SANDBOX_URL="), f"the sandbox did not start: {line!r} {process.stderr.read()}"
        yield line.strip().removeprefix("SANDBOX_URL=")
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def messages(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_the_by_hand_files_are_the_sample_connection():
    """One definition: the shipped files are what devtools.sample_data says, so they cannot drift apart."""
    url = f"http://127.0.0.1:{BY_HAND_PORT}"
    assert json.loads((BY_HAND / "config.json").read_text()) == access_token_config(BY_HAND_TOKEN, url)
    assert json.loads((BY_HAND / "seed.json").read_text()) == by_hand_seed()
    assert json.loads((BY_HAND / "catalog.json").read_text()) == catalog()


def test_the_readme_by_hand_commands_run_against_the_sandbox(tmp_path):
    sandbox_block, commands_block = readme_blocks()
    (sandbox_command,) = sandbox_block.strip().splitlines()
    commands = [line for line in commands_block.strip().splitlines() if line.strip()]
    assert [shlex.split(line)[1:3] for line in commands] == [
        ["-m", "devtools.sample_data"],
        ["main.py", "spec"],
        ["main.py", "check"],
        ["main.py", "discover"],
        ["main.py", "write"],
    ]
    written = ROOT / "messages.jsonl"
    existed = written.exists()
    outputs = {}
    with readme_sandbox(sandbox_command) as url:
        config = json.loads((BY_HAND / "config.json").read_text())
        config.update(api_base_url=url, oauth_base_url=url)
        (tmp_path / "config.json").write_text(json.dumps(config))
        try:
            for line in commands:
                line = line.replace("devtools/by_hand/config.json", str(tmp_path / "config.json"))
                done = subprocess.run(["bash", "-c", venv(line)], cwd=ROOT, capture_output=True, text=True, timeout=120)
                assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
                outputs[shlex.split(line)[2]] = done.stdout
        finally:
            if not existed:
                written.unlink(missing_ok=True)
        with urllib.request.urlopen(f"{url}/_sandbox/events", timeout=30) as answer:
            received = json.loads(answer.read())["elements"]

    assert [m["type"] for m in messages(outputs["spec"])] == ["SPEC"]
    (status,) = [m["connectionStatus"] for m in messages(outputs["check"]) if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "SUCCEEDED", status
    assert "LEAD → rule 11; PURCHASE → rule 12; SIGN_UP → rule 13" in status["message"]
    assert [m["type"] for m in messages(outputs["discover"])] == ["DESTINATION_CATALOG"]
    logs = [m["log"]["message"] for m in messages(outputs["write"]) if m["type"] == "LOG"]
    summary = parse_summary(logs)
    assert (summary.read, summary.sent, summary.rejected) == (20, 16, 4)
    assert set(summary.examples) == {"too_old", "no_identifier", "invalid_currency", "missing_timestamp"}
    assert len(received) == 16
    assert {event["_rule_id"] for event in received} == {11, 12, 13}


def test_the_acceptance_sample_config_and_catalog_map_every_record(tmp_path):
    """integration_tests/sample_config.json with configured_catalog.json: records of both streams become events."""
    config = json.loads((ROOT / "integration_tests" / "sample_config.json").read_text())
    configured = json.loads((ROOT / "integration_tests" / "configured_catalog.json").read_text())
    streams = [entry["stream"]["name"] for entry in configured["streams"]]
    assert streams == ["leads", "purchases"]
    lines = [
        line for line in generate_lines(200, bad=False) if b'"signups"' not in line
    ]  # the catalog's two streams only
    run = run_write(tmp_path, config, configured, lines)
    assert run.code == 0, run.stderr
    summary = parse_summary(run.logs)
    assert summary.read == sum(b'"RECORD"' in line for line in lines) > 100
    assert summary.rejected == 0 and summary.sent == summary.read
    assert set(summary.streams) == {"leads", "purchases"}
