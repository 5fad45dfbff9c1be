# The two commands: `make run` (serve the embedded default with the demo) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000

.PHONY: run test setup setup-test e2e-deps bench clean

run: setup
	INBOX_DEMO=$${INBOX_DEMO:-1} PORT=$(PORT) $(PY) -m inbox.serve

test: setup-test
	$(PY) -m pytest

# Benchmarks (not in `make test`): real `flask worker --burst` processes; DATABASE_URL=... for PostgreSQL.
# The queue bench (tests/bench/test_queue_bench.py) loads BENCH_TICKETS tickets (default 1,000,000) on
# SQLite and on PostgreSQL (DATABASE_URL if PostgreSQL, else BENCH_PG_URL, default
# postgresql+psycopg://postgres@127.0.0.1/bench_queue: its schema is dropped; skipped if unreachable)
# and rewrites its section of docs/benchmarks.md. A quicker run: `make bench BENCH_TICKETS=20000`.
# BENCH_REPEAT (timed requests per case, default 60) and BENCH_HOOKS (webhooks, default 2000) too.
BENCH_TICKETS ?= 1000000
bench: setup-test
	BENCH_TICKETS=$(BENCH_TICKETS) $(PY) -m pytest tests/bench -q -s -p no:cacheprovider

setup: $(VENV)/.runtime static/vendor/htmx.min.js

setup-test: setup $(VENV)/.test e2e-deps

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

# Front-end libraries come from the npm registry (package.json pins them), never hand-copied.
static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
e2e-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install -y chromium (browser tests will be skipped)"; fi; }

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
