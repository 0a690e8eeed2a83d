# The two commands of the README: `make demo` starts the app with demo data; `make test` runs every test.
PY := .venv/bin/python

.PHONY: demo test lint bootstrap

bootstrap:
	@.ci/bootstrap

demo: bootstrap
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: bootstrap
	$(PY) -m pytest

lint: bootstrap
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
