# The two commands a newcomer runs on a fresh clone: `make demo` and `make test`.
# Each creates the virtual environment it needs (.venv) the first time.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

.PHONY: demo test lint bench messages
demo: $(STAMP)
	$(VENV)/bin/followup demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(VENV)/bin/python bench/dispatch.py

# After adding or changing a text the clerk reads (_() in followup/ or flows/): update and compile the catalogues.
messages: $(STAMP)
	$(VENV)/bin/python scripts/messages.py
