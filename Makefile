# Beffroi: two commands. `make run` starts the demo site; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
APT := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo apt-get)

.PHONY: run test install install-test browser-deps bench-deps lint lock clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Beffroi demande Python 3.11 ou plus récent.")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-base: requirements/base.txt | $(PY)
	$(PIP) install --quiet --disable-pip-version-check --require-hashes -r requirements/base.txt
	touch $@

$(VENV)/.installed-test: requirements/base.txt requirements/test.txt | $(PY)
	$(PIP) install --quiet --disable-pip-version-check --require-hashes -r requirements/base.txt -r requirements/test.txt
	touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-base

install-test: $(VENV)/.installed-test

## Starts the site on http://127.0.0.1:8000 with demo data (SQLite under var/).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py load_demo
	$(PY) manage.py serve

## Runs the whole suite (set DATABASE_URL to run it on PostgreSQL), one
## pytest-xdist worker per core (PYTEST_WORKERS=1 for a single process).
PYTEST_WORKERS ?= auto
test: install-test browser-deps
	$(PY) -m pytest -n $(PYTEST_WORKERS)

# Debian's Chromium (driven by Playwright's client, never its own browser
# download) and axe-core from npm, for the accessibility tests.
browser-deps: node_modules/axe-core/axe.min.js /usr/bin/chromium

node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

/usr/bin/chromium:
	$(APT) update -qq
	DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq chromium

## Tools the benchmarks use beside the project: wrk and nginx.
bench-deps: install-test
	command -v wrk >/dev/null && command -v nginx >/dev/null || \
	  (DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq wrk nginx-light)

lint: install-test
	$(VENV)/bin/ruff check .

## Re-pins the dependencies after editing requirements/*.in.
lock: install-test
	$(PIP) install --quiet uv
	cd requirements && ../$(VENV)/bin/uv pip compile base.in -o base.txt --generate-hashes --universal --python-version 3.11 --quiet
	cd requirements && ../$(VENV)/bin/uv pip compile test.in -o test.txt --generate-hashes --universal --python-version 3.11 --quiet

clean:
	rm -rf $(VENV) node_modules var/static var/test.sqlite3
