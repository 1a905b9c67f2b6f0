"""Packaging: the Dockerfile's instructions, metadata.yaml, versions in step, and an install as the image does it.

No Docker engine exists on these machines, so the image is never built here: the Dockerfile is
parsed, and the package is installed into a fresh venv with `pip install .` (what the image's RUN
does) before its console script is run.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

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


def image_context(target: Path) -> Path:
    """What the Dockerfile's COPY instructions put in the image's work directory, copied to `target`."""
    target.mkdir()
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd.lower() != "copy":
            continue
        *sources, destination = command.value
        for source in sources:
            path = ROOT / source
            into = target / (path.name if destination.endswith("/") else destination)
            if path.is_dir():
                shutil.copytree(path, into, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(path, into)
    return target


@pytest.mark.slow
def test_install_like_the_image_and_run_the_console_script(tmp_path):
    context = image_context(tmp_path / "integration_code")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(context)],
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
    # The image holds the connector only: no sandbox, no demo, no sample data, no sandbox command.
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", INSTALLED_CONTENTS],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    contents = json.loads(installed.stdout)
    assert contents["modules"] == {"destination_linkedin_capi": True, "linkedin_capi_sandbox": False, "devtools": False}
    assert "destination_linkedin_capi/run.py" in contents["files"]
    leaked = [f for f in contents["files"] if re.search(r"sandbox|demo\.py|sample_data|devtools", f)]
    assert leaked == []
    assert not (venv / "bin" / "linkedin-capi-sandbox").exists()


# Run by the image venv's Python outside the checkout: which top-level modules import, and the files pip installed.
INSTALLED_CONTENTS = """
import importlib.metadata, importlib.util, json
names = ("destination_linkedin_capi", "linkedin_capi_sandbox", "devtools")
files = importlib.metadata.distribution("airbyte-destination-linkedin-capi").files
print(json.dumps({
    "modules": {name: importlib.util.find_spec(name) is not None for name in names},
    "files": [str(f) for f in files if not str(f).startswith("..")],
}))
"""


def test_the_production_package_list_is_the_connector_only():
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools, runpy; setuptools.setup = lambda **kw: print(kw['packages']); runpy.run_path('setup.py')",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    packages = ast.literal_eval(listed)  # the list setup.py passes as setup(packages=...)
    assert "destination_linkedin_capi" in packages
    assert all(name.split(".")[0] == "destination_linkedin_capi" for name in packages), packages
    assert not [name for name in packages if re.search(r"sandbox|devtools|demo|sample_data", name)]
    dockerfile_text = (ROOT / "Dockerfile").read_text()
    assert "COPY sandbox" not in dockerfile_text and "devtools" not in dockerfile_text
