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

.PHONY: help ensure-uv install system-deps run test lint bench clean

help:
	@echo "make install      install the project and dev dependencies (uv sync)"
	@echo "make system-deps  install PostgreSQL and Redis with apt when missing (root only)"
	@echo "make run          migrate, create the demo tenant and serve on $(HOST):$(PORT)"
	@echo "make test         ruff + pytest against SQLite and against PostgreSQL"
	@echo "make bench        run the benchmarks (python -m bench.run)"
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

# PostgreSQL (server binaries, usually in /usr/lib/postgresql/<ver>/bin) and redis-server.
system-deps:
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
	if [ -z "$$missing" ]; then exit 0; fi
	if [ "$$(id -u)" -ne 0 ]; then
	  echo "Missing system packages:$$missing" >&2
	  echo "Install them as root:  apt-get install -y --no-install-recommends postgresql redis-server" >&2
	  exit 1
	fi
	echo "Installing missing system packages:$$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends postgresql redis-server
	have_pg || { echo "PostgreSQL server binaries still not found after apt-get" >&2; exit 1; }

run: install
	$(UV_RUN) xynap migrate
	$(UV_RUN) xynap demo
	$(UV_RUN) xynap serve --host $(HOST) --port $(PORT)

lint: ensure-uv
	$(UV_RUN) ruff check src tests bench

# Both database backends are always run; make fails if either run fails.
test: system-deps install lint
	@status=0
	echo "=== pytest: SQLite ==="
	XYNAP_TEST_DB=sqlite $(PYTEST) || status=1
	echo "=== pytest: PostgreSQL ==="
	XYNAP_TEST_DB=postgresql $(PYTEST) || status=1
	if [ $$status -ne 0 ]; then echo "tests FAILED" >&2; fi
	exit $$status

bench: system-deps install
	$(UV_RUN) python -m bench.run

clean:
	rm -rf var/ .pytest_cache .ruff_cache .mypy_cache build dist
	find . -path ./.venv -prune -o -type d -name __pycache__ -print0 | xargs -0 rm -rf
