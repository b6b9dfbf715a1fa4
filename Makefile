# wirefeed task runner. A newcomer needs two targets: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PACKAGES := config ingest feeds workers

.PHONY: run test test-clock test-cluster lint bench install clean

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

# The integration and end-to-end suites again, on shifted clocks: 400 days ahead, then from ten
# seconds before midnight UTC at the start of the next New York daylight-saving change day
# (tests/faketime/shift.py). libfaketime (Debian package faketime) shifts every process the
# suite starts, the embedded Redis included (its TIME and TTLs run on the same clock), by the
# same offset. tests/faketime/clockwait.c mends the timed lock waits libfaketime misses.
FAKETIME_LIB ?= $(firstword $(wildcard /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1))
CLOCKWAIT := $(VENV)/faketime-clockwait.so

$(CLOCKWAIT): tests/faketime/clockwait.c
	$(CC) -shared -fPIC -O2 -Wall -o $@ $< -ldl

test-clock: install $(CLOCKWAIT)  ## integration and e2e suites under libfaketime, twice
	@test -n "$(FAKETIME_LIB)" || { echo "test-clock needs libfaketime: apt-get install faketime" >&2; exit 1; }
	@set -e; for shift in ahead dst; do \
		offset=$$($(PY) tests/faketime/shift.py $$shift); \
		LD_PRELOAD="$(FAKETIME_LIB) $(abspath $(CLOCKWAIT))" FAKETIME="$$offset" \
			$(PY) -m pytest tests/integration tests/e2e $(PYTEST_ARGS); \
	done

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
	$(PY) bench/story_quality.py
	$(PY) bench/serve.py
	$(PY) bench/freshness.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
