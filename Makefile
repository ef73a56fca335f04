# The commands people type. `make run` to use it, `make test` to test it.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= partnerportal.settings.development

# pytest-xdist processes for `make test`: integration tests mostly wait (leases, provisioning), so two
# more than the cores pay now that their workers fork from a preloaded process (README, "Tests").
TEST_WORKERS ?= 4

.PHONY: install run test test-fast lint format check image-check ci clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## run: the whole stack on one machine: the simulator as AWS, a seeded demo customer, a Celery worker + beat
## (when Redis answers) and the web app (SQLite under var/ unless DATABASE_URL is set). Ctrl-C stops it all.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py schedules_install
	$(PY) manage.py seed_demo
	$(PY) manage.py runstack --host $(HOST) --port $(PORT) --demo-fleet 6

## test: the whole suite, what CI runs, in TEST_WORKERS parallel processes, each with its own database
## (DATABASE_URL's name + _gwN), Redis and ports
test: install
	DJANGO_SETTINGS_MODULE=partnerportal.settings.test $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## test-fast: unit tests only (no integration, no chaos, no browser, none marked slow): no worker, no beat, under a minute.
## It keeps its test databases between runs (--reuse-db migrates them forward); --create-db starts afresh.
test-fast: install
	DJANGO_SETTINGS_MODULE=partnerportal.settings.test $(PY) -m pytest -n 2 --reuse-db \
		-m "not integration and not chaos and not browser and not slow" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=partnerportal.settings.test $(VENV)/bin/mypy partnerportal tenants orchestration simulator bench
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## check: migrations match the models, and production settings pass Django's deployment checks
check: install
	DJANGO_SETTINGS_MODULE=partnerportal.settings.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=partnerportal.settings.production \
	DJANGO_SECRET_KEY=check-deploy-only-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/partnerportal \
	ALLOWED_HOSTS=portal.example.com \
	FIELD_ENCRYPTION_KEYS=Y2hlY2stZGVwbG95LW9ubHkta2V5LTAwMDAwMDAwMDA= \
	PARTNER_AWS_ACCOUNT_ID=210987654321 \
	$(PY) manage.py check --deploy --fail-level WARNING

## image-check: the Docker image and compose's services, proven without a Docker engine: the Dockerfile's
## build laid out in a temporary folder, then every service run from that install (tests/image/check.py)
image-check: install
	$(PY) -m tests.image.check

ci: lint check test image-check

clean:
	rm -rf $(VENV) var .pytest_cache
