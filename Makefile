# The two commands: `make run` starts the platform, `make test` runs every test tier.
# Both bootstrap from nothing: the virtual environment, the MongoDB wire server, RabbitMQ.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-integration test-e2e test-compat test-security bench lint clean install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m scripts.run

test: $(STAMP)
	$(PY) -m scripts.infra test -- tests/unit tests/compat tests/security tests/integration tests/e2e

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

test-integration test-e2e test-compat test-security: $(STAMP)
	$(PY) -m scripts.infra test -- tests/$(subst test-,,$@)

bench: $(STAMP)
	$(PY) -m scripts.infra bench

clean:
	rm -rf $(VENV) var .pytest_cache
