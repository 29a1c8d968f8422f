# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# The example storefront page (make spa) is served on an origin of its own.
SPA_PORT ?= 8001
API ?= http://$(HOST):$(PORT)
export DEBUG ?= true

.PHONY: install run spa test lint typecheck imports check bench migrate clean

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
	$(BIN)/python manage.py demo_seed --api $(PUBLIC_BASE_URL) --spa-origin http://$(HOST):$(SPA_PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The example storefront page (examples/spa/) on http://$(HOST):$(SPA_PORT), calling the API of
# make run at $(API) with the demo's key and sales channel, which make run wrote to files.
spa:
	@test -f .demo-storefront-key -a -f .demo-sales-channel-client-id || \
		{ echo "No demo storefront yet: run make run (in another terminal) first." >&2; exit 1; }
	@printf 'window.STOREFRONT = {api: "%s", key: "%s", clientId: "%s"};\n' "$(API)" \
		"$$(cat .demo-storefront-key)" "$$(cat .demo-sales-channel-client-id)" > examples/spa/config.js
	@echo "Storefront page: http://$(HOST):$(SPA_PORT)/ (API $(API); the password of demo@example.com is in .demo-customer-password)"
	$(PYTHON) -m http.server $(SPA_PORT) --bind $(HOST) --directory examples/spa

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
	rm -rf $(VENV) db.sqlite3 staticfiles examples/spa/config.js .demo-storefront-key \
		.demo-sales-channel-client-id .demo-loyalty-app-client-id .demo-customer-password \
		.demo-idp-key.pem .demo-idp-key.pem.pub.pem
