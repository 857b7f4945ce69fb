# The two set-up commands of the README. Each installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
ARGS ?=

.PHONY: serve test

$(VENV)/.runtime-installed: pyproject.toml
	@echo "Installing qstation and its dependencies into $(VENV) (a few minutes the first time)..."
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --progress-bar on -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.runtime-installed
	@echo "Installing the test tools into $(VENV)..."
	$(VENV)/bin/pip install --progress-bar on -e '.[test]'
	touch $@

# The portal's browser tests drive Debian's Chromium (Playwright downloads no browser here).
/usr/bin/chromium:
	apt-get install -y --no-install-recommends chromium chromium-driver || \
		(apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver)

## Start the service: HTTP API on 127.0.0.1:8000 + an embedded worker, SQLite in the user's data dir.
serve: $(VENV)/.runtime-installed
	$(VENV)/bin/qstation serve $(ARGS)

## Lint, type-check, then run the whole test suite (starts the local PostgreSQL server if it is
## down). `make test ARGS="-m 'not slow'"` is the fast loop.
test: $(VENV)/.test-installed /usr/bin/chromium
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy
	scripts/ensure-postgres
	$(VENV)/bin/python -m pytest $(ARGS)
