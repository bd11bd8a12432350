# 控辍保学 casework system — developer and CI entry points.
#
#   make run     install, migrate, seed demo data, print demo logins, serve on 127.0.0.1:$(PORT) (8000)
#   make serve   the production process model (gunicorn, Celery worker and beat) on DATABASE_URL/REDIS_URL
#   make test    install, ensure system packages, lint, pytest against throwaway Postgres + Redis
#   make lint    ruff check + ruff format --check + mypy (services and selectors)
#   make fmt     ruff format + ruff check --fix
#   make bench   benchmarks against throwaway Postgres + Redis
#   make load    load test: gunicorn under wrk, the attendance submit against a bare write (LOAD_STUDENTS, LOAD_DURATION, LOAD_CONNECTIONS)
#   make clean   remove the venv, the sqlite database, media and test artifacts
#
# Pass extra pytest arguments with PYTEST_ARGS, e.g. make test PYTEST_ARGS="-x -k cases".

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
PORT ?= 8000
BENCH_ARGS ?=

# Debian packages the test suite needs: PostgreSQL and Redis servers (scripts/with-services.sh),
# Chromium for the browser tests, CJK fonts so Chinese text renders in screenshots and PDFs.
APT_PACKAGES := postgresql redis-server chromium fonts-noto-cjk
# LibreOffice Calc (no GUI, no recommends: ~90 MB) prints every report and ledger to PDF in the
# paper tests (tests/reporting/test_reports.py), as the offices print them.
APT_PACKAGES_LEAN := libreoffice-calc-nogui

.PHONY: help venv install run serve test lint fmt bench load clean system-deps load-deps

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

venv install: $(STAMP)

# Re-installs only when pyproject.toml changes (or the venv is gone).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

run: install
	$(BIN)/python manage.py migrate --noinput
	PORT=$(PORT) $(BIN)/python manage.py seed_demo --if-empty
	PORT=$(PORT) $(BIN)/python manage.py demo_logins
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

serve: install
	PORT=$(PORT) VENV=$(VENV) scripts/serve.sh

# Installs only what is missing; apt waits for a dpkg lock held by another apt run.
system-deps:
	@missing=""; lean=""; \
	for p in $(APT_PACKAGES); do \
	    dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	for p in $(APT_PACKAGES_LEAN); do \
	    dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || lean="$$lean $$p"; \
	done; \
	if [ -n "$$missing$$lean" ]; then \
	    sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	    echo "Installing Debian packages:$$missing$$lean"; \
	    $$sudo apt-get -o DPkg::Lock::Timeout=600 update; \
	    apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y"; \
	    if [ -n "$$missing" ]; then $$apt $$missing; fi; \
	    if [ -n "$$lean" ]; then $$apt --no-install-recommends $$lean; fi; \
	fi

test: install system-deps
	@$(MAKE) --no-print-directory lint
	scripts/with-services.sh $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install system-deps
	scripts/with-services.sh $(BIN)/python manage.py bench $(BENCH_ARGS)

# wrk for make load only (not a make test dependency).
load-deps:
	@command -v wrk >/dev/null 2>&1 || { \
	    sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	    echo "Installing Debian package: wrk"; \
	    $$sudo apt-get -o DPkg::Lock::Timeout=600 update; \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y wrk; \
	}

# Knobs: LOAD_STUDENTS (100000), LOAD_DURATION (15 s), LOAD_CONNECTIONS (40); see scripts/load.sh.
load: install system-deps load-deps
	VENV=$(VENV) scripts/with-services.sh scripts/load.sh

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles test-artifacts .pytest_cache .ruff_cache \
	    .coverage .coverage.* htmlcov build *.egg-info
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
