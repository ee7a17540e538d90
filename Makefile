# The two commands: `make run` starts the platform, `make test` runs every test tier.
# Both bootstrap from nothing: the virtual environment, the MongoDB wire server, RabbitMQ.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Locked dependencies (hashes included): production.txt is what the image installs, dev.txt
# what make install puts in the venv (production + ops, test and dev extras). `make lock`
# regenerates both from pyproject.toml; tests/unit/test_image.py fails while they disagree.
LOCK_PRODUCTION := requirements/production.txt
LOCK_DEV := requirements/dev.txt
PIP_VERSION := 26.3
UV_LOCK := $(VENV)/bin/uv pip compile pyproject.toml --quiet --generate-hashes --universal \
	--python-version 3.11 --custom-compile-command 'make lock'

.PHONY: run test test-unit test-integration test-e2e test-compat test-security bench lint clean install lock browser

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK_DEV)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'pip==$(PIP_VERSION)'
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK_DEV)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing a pin in pyproject.toml: make lock, then make install, and commit the three.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet "$$(grep -o 'uv==[0-9.]*' pyproject.toml)"
	mkdir -p requirements
	$(UV_LOCK) -o $(LOCK_PRODUCTION)
	$(UV_LOCK) --all-extras -o $(LOCK_DEV)

# Debian's chromium for the e2e tests that open /docs (installed when missing, as root).
browser: $(STAMP)
	$(PY) -m scripts.browser

run: $(STAMP)
	$(PY) -m scripts.run

# Lint and types first: a tree that breaks the house rules does not get to the tests.
test: $(STAMP) browser lint
	$(PY) -m scripts.infra test -- tests/unit tests/compat tests/security tests/integration tests/e2e

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

test-e2e: browser
test-integration test-e2e test-compat test-security: $(STAMP)
	$(PY) -m scripts.infra test -- tests/$(subst test-,,$@)

# The linter, the type checker (strict on shared/ and every service's domain/) and the house
# rules of scripts/shape.py (module size, MongoDB calls only in stores and views, ...).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m scripts.shape

bench: $(STAMP)
	$(PY) -m scripts.infra bench

clean:
	rm -rf $(VENV) var .pytest_cache
