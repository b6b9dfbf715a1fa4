# wirefeed task runner. A newcomer needs two targets: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PACKAGES := config ingest feeds workers

.PHONY: run test test-cluster lint bench install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "wirefeed needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install  ## start the whole service with an embedded Redis and the demo wire
	$(VENV)/bin/wirefeed run

test: install  ## run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

test-cluster: install  ## contract and integration suites against a local three-master Redis Cluster
	$(PY) -m workers.local_cluster var/test-cluster $(PY) -m pytest tests/contract tests/integration $(PYTEST_ARGS)

lint: install  ## ruff, mypy --strict, import-linter
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: install  ## benchmarks; figures land in bench/results/
	$(PY) bench/ingest.py
	$(PY) bench/poll.py
	$(PY) bench/dedupe.py
	$(PY) bench/calibrate_dedupe.py
	$(PY) bench/stories.py
	$(PY) bench/calibrate_stories.py
	$(PY) bench/serve.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
