# Quire — every command a developer needs. `make dev` and `make test` work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
CLI := $(PY) -m api.cli
STAMP := $(VENV)/.synced

.PHONY: help install dev serve db db-stop psql migrate downgrade revision check token admin \
        lint format test test-pooler seed bench instructions fuzz load supabase-migrations doctor

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

# uv comes from PyPI into a private tool folder; it uses this machine's Python (3.11+).
UV := .tools/bin/uv
UV_VERSION := 0.13.9
$(UV):
	@python3 -c 'import ensurepip, sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo 'Quire needs Python 3.11+ with venv (Debian/Ubuntu: apt-get install python3-venv).'; \
		exit 1; }
	@python3 -m venv .tools >/dev/null
	@.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	@$(UV) sync --locked --quiet --python python3
	@touch $@

install: $(STAMP) ## create .venv with locked dependencies

dev: install ## embedded PostgreSQL (unless DATABASE_URL) + migrations + API with reload
	@$(CLI) dev

serve: install ## production server: no reload, several workers, proxy headers
	@$(CLI) serve

db: install ## start only the local database and print its URL
	@$(CLI) db

db-stop: install ## stop the local database (data is kept in .data/postgres)
	@$(CLI) db-stop

psql: install ## open psql on the configured database (ARGS="-c 'select 1'" for psql's own)
	@$(CLI) psql $(ARGS)

migrate: install ## alembic upgrade head
	@$(CLI) migrate

downgrade: install ## alembic downgrade one revision (rev=… for another target)
	@$(CLI) downgrade $(if $(rev),$(rev),-1)

revision: install ## autogenerate a migration: make revision m="add things"
	@test -n "$(m)" || { echo 'usage: make revision m="what changed"'; exit 2; }
	@$(CLI) revision -m "$(m)"

check: install ## alembic check: models and migrations agree
	@$(CLI) check

token: install ## print an access token: make token EMAIL=you@example.com
	@test -n "$(EMAIL)" || { echo 'usage: make token EMAIL=you@example.com'; exit 2; }
	@$(CLI) token "$(EMAIL)"

admin: install ## make a user an admin: make admin EMAIL=you@example.com
	@test -n "$(EMAIL)" || { echo 'usage: make admin EMAIL=you@example.com'; exit 2; }
	@$(CLI) admin "$(EMAIL)"

format: install ## ruff format + fix
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

lint: install ## ruff + mypy strict + bandit
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(PY) -m mypy .
	@$(PY) -m bandit -q -c pyproject.toml -r api db

test: lint ## lint, then every test against a real PostgreSQL, with coverage (PYTEST_ARGS=… for some)
	@$(PY) -m coverage run -m pytest $(PYTEST_ARGS)
	@$(PY) -m coverage report $(if $(PYTEST_ARGS),,--fail-under=85)

fuzz: install ## schemathesis on every operation with a big budget (EXAMPLES=… per operation)
	@TEST_FUZZ_EXAMPLES=$(if $(EXAMPLES),$(EXAMPLES),150) $(PY) scripts/fuzz.py

load: install ## wrk mixed read/write load at 64 connections for DURATION s (60)
	@$(PY) -m scripts.load --duration $(if $(DURATION),$(DURATION),60)

supabase-migrations: install ## export the Alembic history to supabase/migrations (for supabase db push)
	@$(PY) -m db.supabase_export

doctor: install ## preflight the configured project: database, migrations, RLS, auth keys, storage
	@$(PY) -m api.doctor

test-pooler: install ## every test through PgBouncer (transaction mode) in front of PostgreSQL 15
	@bash scripts/test-pooler.sh $(PYTEST_ARGS)

seed: install ## add N posts (90% published, 3 of 200 tags) by N/10 users: make seed N=100000
	@$(CLI) seed $(if $(N),$(N),10000)

bench: install ## the API vs a raw asyncpg ceiling and the template, under wrk; SCALE=1000000 adds 1M posts
	@$(PY) -m bench --scale $(if $(SCALE),$(SCALE),10000)

instructions: install ## CPU instructions per request under valgrind: make instructions ROUTE=/health
	@$(PY) -m bench.instructions $(if $(ROUTE),$(ROUTE),/api/v1/posts)
