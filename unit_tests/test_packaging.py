"""Packaging: the Dockerfile's instructions, metadata.yaml, versions in step, and an install as the image does it.

No Docker engine exists on these machines, so the image is never built here: the Dockerfile is
parsed, and the package is installed into a fresh venv with `pip install .` (what the image's RUN
does) before its console script is run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid

import dockerfile
import pytest
import yaml

from destination_linkedin_capi import constants
from unit_tests.conftest import ROOT


def metadata() -> dict:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text())


def test_dockerfile_mirrors_the_airbyte_python_template():
    commands = dockerfile.parse_file(str(ROOT / "Dockerfile"))
    by_cmd: dict[str, list] = {}
    for command in commands:
        by_cmd.setdefault(command.cmd.lower(), []).append(command)
    base_arg = next(c for c in by_cmd["arg"] if c.value[0].startswith("BASE_IMAGE="))
    base_image = base_arg.value[0].split("=", 1)[1]
    assert base_image == metadata()["data"]["connectorBuildOptions"]["baseImage"]
    assert re.fullmatch(r"docker\.io/airbyte/python-connector-base:[\d.]+@sha256:[0-9a-f]{64}", base_image)
    assert by_cmd["from"][0].value[0] == "${BASE_IMAGE}"
    assert any("pip install" in " ".join(c.value) and " ." in " ".join(c.value) for c in by_cmd["run"])
    assert by_cmd["user"][-1].value == ("airbyte",)
    env = {c.value[0]: c.value[1].strip('"') for c in by_cmd["env"]}
    assert env["AIRBYTE_ENTRYPOINT"] == "/entrypoint.sh"
    entrypoint = by_cmd["entrypoint"][-1]
    assert entrypoint.json and entrypoint.value == ("/entrypoint.sh",)
    labels = {c.value[0]: c.value[1] for c in by_cmd["label"]}
    assert labels["io.airbyte.version"] == constants.VERSION
    run_text = " ".join(" ".join(c.value) for c in by_cmd["run"])
    assert "exec destination-linkedin-capi" in run_text


def test_metadata_has_every_required_field():
    meta = metadata()
    assert meta["metadataSpecVersion"] == "1.0"
    data = meta["data"]
    for key in (
        "name",
        "definitionId",
        "connectorType",
        "connectorSubtype",
        "dockerRepository",
        "dockerImageTag",
        "documentationUrl",
        "githubIssueLabel",
        "license",
        "releaseStage",
        "supportLevel",
        "tags",
    ):
        assert data.get(key), key
    uuid.UUID(data["definitionId"])
    assert data["connectorType"] == "destination" and data["connectorSubtype"] == "api"
    assert data["dockerRepository"] == "airbyte/destination-linkedin-capi"
    assert {"api.linkedin.com", "www.linkedin.com"} <= set(data["allowedHosts"]["hosts"])
    assert {"oss", "cloud"} <= set(data["registryOverrides"])


def test_versions_are_in_step():
    version = constants.VERSION
    assert metadata()["data"]["dockerImageTag"] == version
    setup_out = subprocess.run(
        [sys.executable, "setup.py", "--version"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    assert setup_out == version
    changelog = (ROOT / "docs" / "linkedin-capi.md").read_text()
    assert re.search(rf"^\| {re.escape(version)} \|", changelog, re.M), "docs changelog lacks the current version"


@pytest.mark.slow
def test_install_like_the_image_and_run_the_console_script(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    out = subprocess.run(
        [str(venv / "bin" / "destination-linkedin-capi"), "spec"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    spec = [json.loads(line) for line in out.stdout.splitlines() if '"SPEC"' in line]
    assert len(spec) == 1
    assert spec[0]["spec"]["connectionSpecification"]["properties"]["account_id"]["title"] == "Ad account ID"
