# The README's two commands: `make demo` and `make test`. Both create the venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# `make demo RECORDS=50000`, `make demo DRY_RUN=1`. The demo writes the records twice (a dry run once): the second
# run shows what a re-sync does with rows LinkedIn already accepted.
RECORDS ?= 20000
DRY_RUN ?=

.PHONY: test lint format demo bench clean

$(STAMP): setup.py sandbox/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./sandbox  # second: re-installing an older connector removes its `linkedin-capi-sandbox`
	touch $(STAMP)

# Two pytest-xdist workers: the `wall_clock` group (tests paced by rate windows, races and signals; see
# devtools/test_schedule.py) runs first and alone on one of them, while the other works through the CPU-bound rest.
# `make test PYTEST_WORKERS=0` runs everything in one process.
PYTEST_WORKERS ?= 2

test: $(STAMP) lint
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

demo: $(STAMP)
	$(PY) -m devtools.demo --records $(RECORDS) $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Benchmarks (one at a time, ~10 minutes): bench/results/*.json and docs/performance.md.
bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]' -e ./sandbox
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
