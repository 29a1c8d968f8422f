# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
export DEBUG ?= true

.PHONY: install run test lint typecheck imports check bench migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py createcachetable

# The served address is the issuer of the tokens and of the OAuth metadata (RFC 8414).
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: migrate
	$(BIN)/python manage.py demo_seed --api $(PUBLIC_BASE_URL)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

# The import contracts in pyproject.toml: which way imports may point (README "Code layout").
imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

# Everything CI checks besides the tests.
check: lint typecheck imports $(STAMP)
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py errors_catalogue --check

# Load benchmark on loopback (bench/README.md); installs wrk from Debian's packages if missing.
bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) db.sqlite3 .demo-storefront-key staticfiles
