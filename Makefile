# XyNaP developer entry points.  `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

UV ?= uv
HOST ?= 0.0.0.0
PORT ?= 8000
PYTEST_ARGS ?=

# `pip install --user uv` puts uv here; make sure we can find it.
export PATH := $(HOME)/.local/bin:$(PATH)
# uv must not ask questions (CI has no stdin).
export UV_NO_PROGRESS := 1

# Use the lock file as-is when there is one.
UV_RUN = $(UV) run $(if $(wildcard uv.lock),--frozen,)
# Parallel tests only if pytest-xdist is part of the locked environment.
XDIST = $(if $(shell grep -s -q '^name = "pytest-xdist"' uv.lock && echo yes),-n auto,)
PYTEST = $(UV_RUN) pytest -q -p no:cacheprovider $(XDIST) $(PYTEST_ARGS)

.PHONY: help ensure-uv install runtime-deps system-deps browser-deps frontend frontend-check api-client run test test-python test-e2e lint bench clean

help:
	@echo "make install      install the project and dev dependencies (uv sync)"
	@echo "make system-deps  install PostgreSQL, Redis and Postfix with apt when missing (root only)"
	@echo "make run          migrate, create the demo tenant and serve on $(HOST):$(PORT)"
	@echo "make test         ruff, web-app checks, pytest on SQLite and PostgreSQL, browser tests"
	@echo "make bench        run the benchmarks (python -m bench.run, python -m bench.contacts)"
	@echo "make lint         ruff check"
	@echo "make clean        remove var/ and caches"

ensure-uv:
	@if command -v "$(UV)" >/dev/null 2>&1; then exit 0; fi
	echo "uv not found; installing it with pip" >&2
	python3 -m pip install --user --quiet uv \
	  || python3 -m pip install --user --quiet --break-system-packages uv \
	  || pip install --quiet uv
	command -v "$(UV)" >/dev/null 2>&1 || { echo "uv is still not on PATH ($$PATH)" >&2; exit 1; }

install: ensure-uv
	@if [ -f uv.lock ]; then
	  $(UV) sync --frozen
	else
	  echo "uv.lock is missing: resolving dependencies" >&2
	  $(UV) sync
	fi

# What the platform itself needs at run time: Pango for WeasyPrint (PDF reports such as the CRM's).
runtime-deps:
	@PATH="$$PATH:/usr/sbin:/sbin" ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 && exit 0
	if [ "$$(id -u)" -ne 0 ]; then
	  echo "Missing system packages: libpango-1.0-0 libpangoft2-1.0-0 (PDF export); install them as root" >&2
	  exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0

# PostgreSQL (server binaries, usually in /usr/lib/postgresql/<ver>/bin) and redis-server.
system-deps: runtime-deps
	@have_pg() {
	  local d
	  for d in "$$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
	    [ -n "$$d" ] && [ -x "$$d/initdb" ] && [ -x "$$d/pg_ctl" ] && [ -x "$$d/postgres" ] && return 0
	  done
	  return 1
	}
	missing=""
	have_pg || missing="$$missing postgresql"
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"
	# Postfix for the mail delivery tests; /usr/sbin is not always on PATH.
	PATH="$$PATH:/usr/sbin:/sbin" command -v postfix >/dev/null 2>&1 || missing="$$missing postfix"
	if [ -z "$$missing" ]; then exit 0; fi
	if [ "$$(id -u)" -ne 0 ]; then
	  echo "Missing system packages:$$missing" >&2
	  echo "Install them as root:  apt-get install -y --no-install-recommends postgresql redis-server postfix" >&2
	  exit 1
	fi
	echo "Installing missing system packages:$$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Postfix must not ask how to route mail: the tests start their own instances.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update
	apt-get install -y --no-install-recommends postgresql redis-server postfix
	have_pg || { echo "PostgreSQL server binaries still not found after apt-get" >&2; exit 1; }

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser-deps:
	@if [ -x /usr/bin/chromium ] || [ -n "$${XYNAP_CHROMIUM:-}" ]; then exit 0; fi
	if [ "$$(id -u)" -ne 0 ]; then
	  echo "Chromium is missing; install it as root: apt-get install -y chromium fonts-dejavu-core" >&2
	  exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends chromium fonts-dejavu-core

# The web app: install its locked npm dependencies and build it into frontend/dist.
frontend:
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js >= 20.19 and npm" >&2; exit 1; }
	if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
	  npm --prefix frontend ci --no-audit --no-fund
	fi
	npm --prefix frontend run build

# CI guard: the committed OpenAPI document and generated client match the backend; types and unit tests pass.
frontend-check: install
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js >= 20.19 and npm" >&2; exit 1; }
	npm --prefix frontend ci --no-audit --no-fund
	cp frontend/openapi.json frontend/openapi.committed.json
	$(UV_RUN) python scripts/export_openapi.py frontend/openapi.json
	if ! cmp -s frontend/openapi.json frontend/openapi.committed.json; then
	  rm -f frontend/openapi.committed.json
	  echo "frontend/openapi.json is out of date: run 'make api-client' and commit the result" >&2
	  exit 1
	fi
	rm -f frontend/openapi.committed.json
	npm --prefix frontend run check:api
	npm --prefix frontend run typecheck
	npm --prefix frontend test
	npm --prefix frontend run build

# Regenerate the OpenAPI document and the typed client after changing the API.
api-client: install
	$(UV_RUN) python scripts/export_openapi.py frontend/openapi.json
	npm --prefix frontend run gen:api

run: runtime-deps install frontend
	$(UV_RUN) xynap migrate
	$(UV_RUN) xynap demo --port $(PORT)
	$(UV_RUN) xynap serve --host $(HOST) --port $(PORT)

lint: ensure-uv
	$(UV_RUN) ruff check src tests bench

test: system-deps browser-deps install lint frontend-check test-python test-e2e

# Both database backends are always run; make fails if either run fails.
test-python: system-deps install
	@status=0
	echo "=== pytest: SQLite ==="
	XYNAP_TEST_DB=sqlite $(PYTEST) --ignore=tests/e2e || status=1
	echo "=== pytest: PostgreSQL ==="
	XYNAP_TEST_DB=postgresql $(PYTEST) --ignore=tests/e2e || status=1
	if [ $$status -ne 0 ]; then echo "tests FAILED" >&2; fi
	exit $$status

# Browser tests against a real server on SQLite, driving Debian's Chromium (needs frontend/dist).
test-e2e: browser-deps install
	@[ -f frontend/dist/index.html ] || $(MAKE) frontend
	echo "=== pytest: browser ==="
	$(UV_RUN) pytest -q -p no:cacheprovider tests/e2e

bench: system-deps install
	$(UV_RUN) python -m bench.run
	$(UV_RUN) python -m bench.contacts
	$(UV_RUN) python -m bench.crm

clean:
	rm -rf var/ .pytest_cache .ruff_cache .mypy_cache build dist
	find . -path ./.venv -prune -o -type d -name __pycache__ -print0 | xargs -0 rm -rf
