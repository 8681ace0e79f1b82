# One-command set-up: every target installs what it needs (virtualenv, pip packages, npm packages) itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed
# checkov pins packaging<24, which pytest 9 cannot share a virtualenv with: it gets its own.
CHECKOV_VENV := .venv-checkov
STAMP_CHECKOV := $(CHECKOV_VENV)/.installed
# the browser tests drive the system's Chromium (Debian package), never a browser playwright would download
CHROMIUM := /usr/bin/chromium
STAMP_CHROMIUM := $(VENV)/.chromium
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: deps demo serve test lint bench clean

deps: $(STAMP_PY) $(STAMP_NODE) $(STAMP_CHECKOV)

$(STAMP_PY): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# the checkout itself, editable: the `m365-backup` command, and `python -m core` from any directory
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(STAMP_CHECKOV): infra/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-checkov.txt
	touch $@

$(STAMP_CHROMIUM):
	test -x $(CHROMIUM) || $(APT_GET) install -y --no-install-recommends chromium \
		|| ($(APT_GET) update && $(APT_GET) install -y --no-install-recommends chromium)
	mkdir -p $(@D)
	touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(STAMP_PY) $(STAMP_NODE)
	$(PY) -m scripts.demo

# the local stack kept running (Azurite, simulator, API, portal, dashboard) until Ctrl-C; `make serve PORT=N`
serve: $(STAMP_PY) $(STAMP_NODE)
	$(PY) -m devenv.serve $(if $(PORT),--port $(PORT))

lint: $(STAMP_PY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# pytest-xdist workers, one per core of the machine (and of CI's); `make test TEST_WORKERS=0` runs in one process.
# The distribution (whole files, slowest first) is in pyproject.toml and tests/conftest.py.
TEST_WORKERS ?= 2

test: deps lint $(STAMP_CHROMIUM)
	CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(VENV)/bin/pytest -n $(TEST_WORKERS) --durations=15

bench: $(STAMP_PY) $(STAMP_NODE)
	$(PY) -m bench.run_all  # every benchmark in one run, then their summaries side by side (bench/run_all.py)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .demo .bench .pytest_cache .ruff_cache
