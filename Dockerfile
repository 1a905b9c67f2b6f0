# Mirrors Airbyte's shared Python connector template (docker-images/Dockerfile.python-connector):
# install the package with pip into the pinned base image, run the console script as the non-root
# `airbyte` user. No Docker engine exists on the development machines: unit_tests/test_packaging.py
# parses this file and installs the package the same way into a fresh venv.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73
FROM ${BASE_IMAGE}

WORKDIR /airbyte/integration_code
COPY setup.py pyproject.toml MANIFEST.in README.md main.py ./
COPY destination_linkedin_capi ./destination_linkedin_capi
RUN pip install --no-cache-dir . \
    && printf '#!/bin/sh\nexec destination-linkedin-capi "$@"\n' > /entrypoint.sh \
    && chmod +x /entrypoint.sh

USER airbyte
ENV AIRBYTE_ENTRYPOINT="/entrypoint.sh"
ENTRYPOINT ["/entrypoint.sh"]

LABEL io.airbyte.name=airbyte/destination-linkedin-capi
LABEL io.airbyte.version=0.2.0
