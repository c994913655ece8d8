# Pulse: `make demo` to try it, `make test` to check it. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
STANDIN_PORT ?= 8765
# One test worker per CPU (pytest-xdist), a test module's tests on one worker (the demo is
# seeded once per worker that needs it), and a coverage report. `make test PYTEST_ARGS=` runs
# in one process. Tests marked slow (the exhaustive privacy enumeration, minutes long) are left
# to `make test-slow`, which CI runs; `make test PYTEST_MARKS=` runs them too.
PYTEST_ARGS ?= -n auto --dist loadfile --cov --cov-report=term:skip-covered
PYTEST_MARKS ?= not slow

.PHONY: demo test test-slow test-pg test-resilience test-security test-scale smoke install install-dev migrate lint typecheck clean messages translations-check

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/activate
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/activate
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed locale/.compiled

# The translations (locale/<language>/LC_MESSAGES/django.po) compiled to the .mo files Django
# reads, whenever a catalogue changed. The .mo files are built, never committed: the .po files
# are what translators edit (several at once), and a binary beside each would conflict and drift.
# msgfmt comes from GNU gettext (Debian: apt-get install gettext).
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
locale/.compiled: $(PO_FILES) $(VENV)/.installed
	@command -v msgfmt >/dev/null 2>&1 || { echo "msgfmt not found: install GNU gettext (Debian: apt-get install gettext) to compile the translations"; exit 1; }
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules
	touch $@

## messages: collect every marked string into the catalogues (locale/*/LC_MESSAGES/django.po),
## keeping what is translated; then translate the new entries and `make install` compiles them.
messages: $(VENV)/.installed
	$(PY) manage.py makemessages $(foreach l,$(TRANSLATED_LANGUAGES),-l $(l)) --add-location=file --no-obsolete \
		--ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=tests --ignore=benchmarks --ignore=deploy
TRANSLATED_LANGUAGES = fi de fr es ar

## translations-check: every shipped catalogue complete (no untranslated or fuzzy entry), as CI checks.
translations-check: install-dev
	$(PY) -m pytest -q -p no:cacheprovider tests/test_translations.py

# axe-core for the browser tests' accessibility checks, from npm (never a CDN). Without npm the
# browser tests that need it say so and are skipped (CI sets PULSE_REQUIRE_BROWSER, so there
# they fail instead).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the accessibility checks of the browser tests will be skipped"; fi

install-dev: $(VENV)/.installed-dev node_modules/.installed locale/.compiled

migrate: install
	$(PY) manage.py migrate --noinput

## demo: SQLite, eager Celery, console e-mail; seeds two organisations and serves the site on
## HOST:PORT (links in e-mails too), with the scheduled jobs running every minute beside it.
demo: export PULSE_BASE_URL = http://$(HOST):$(PORT)
# Slack in the demo is a local stand-in of its Web API (delivery/standin.py), which Pulse's Slack
# app installs into at Settings → Channels; its messages are read at Channels → Channel outbox.
demo: export SLACK_API_URL = http://127.0.0.1:$(STANDIN_PORT)/api/
demo: export SLACK_AUTHORIZE_URL = http://127.0.0.1:$(STANDIN_PORT)/oauth/v2/authorize
demo: export SLACK_CLIENT_ID = standin-client
demo: export SLACK_CLIENT_SECRET = standin-secret
demo: migrate
	$(PY) manage.py demo
	$(PY) manage.py chat_standin --port $(STANDIN_PORT) --domain northwind.example --domain globex.example \
		> $(VENV)/demo-slack.log 2>&1 & standin=$$!; \
	$(PY) manage.py jobs --every 60 > $(VENV)/demo-jobs.log 2>&1 & jobs=$$!; \
	trap 'kill $$jobs $$standin 2>/dev/null' EXIT INT TERM; \
	echo "Scheduled jobs (open, remind, close, aggregate) run every minute: log in $(VENV)/demo-jobs.log"; \
	echo "Slack stand-in on port $(STANDIN_PORT): Settings, Channels, Add to Slack; then Channel outbox"; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# After a run with coverage: each file of the privacy engine, tenancy, access and the services
# stays above its floor (tests/coverage_floors.py).
COVERAGE_FLOORS = case "$(PYTEST_ARGS)" in *--cov*) $(PY) tests/coverage_floors.py;; esac

## test: the suite but its slow tests (PostgreSQL and Redis when DATABASE_URL / CELERY_BROKER_URL are
## set), then the coverage floors.
test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS) -m "$(PYTEST_MARKS)"
	@$(COVERAGE_FLOORS)

## test-slow: only the tests marked slow (CI runs them after `make test`).
test-slow: install-dev
	$(PY) -m pytest -m slow

## test-pg: the whole suite on PostgreSQL, the production path. Starts nothing: it uses the
## server DATABASE_URL names (and Redis, when CELERY_BROKER_URL is set).
test-pg: install-dev
	@case "$$DATABASE_URL" in postgres*) ;; *) echo "make test-pg needs DATABASE_URL=postgres://user@host:5432/name"; exit 2;; esac
	$(PY) -m pytest $(PYTEST_ARGS) -m "$(PYTEST_MARKS)"
	@$(COVERAGE_FLOORS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

## test-resilience: the production stack (gunicorn, worker, beat, PostgreSQL as the app's role,
## a Redis of its own on port 6391) under duplicates, a close mid-load, a killed worker and a
## restarted broker; prints its figures. Needs the local PostgreSQL and redis-server.
test-resilience: install
	PY=$(PY) bash .ci/resilience

## test-security: the production stack (gunicorn, a worker, PostgreSQL as the app's roles, Redis)
## attacked from outside: credentials in logs, links used twice; prints what it checked. Needs the
## local PostgreSQL and Redis.
test-security: install
	PY=$(PY) bash .ci/security

## test-scale: more than one of everything on this machine (a PostgreSQL primary and streaming
## replica of its own, PgBouncer, Redis with Sentinel, two gunicorn replicas behind haproxy, two
## workers, two beats); a journey of four organisations while a worker, the Redis master and a web
## replica are killed in turn; prints its figures and removes all it made. Installs pgbouncer,
## haproxy and redis-sentinel with apt-get when missing; needs root (or sudo).
test-scale: install
	PY=$(PY) bash .ci/scale

## smoke: the production install alone (requirements.txt) serving web, worker and beat through one journey.
smoke:
	bash .ci/smoke

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles artifacts .pytest_cache locale/.compiled locale/*/LC_MESSAGES/*.mo
