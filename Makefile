# csbridge — `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck install browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,sandbox]'
	touch $(STAMP)

# fightchurn's SQL listings check our GRR/NRR/churn maths; its wheel is read, not installed
# (it pins SQLAlchemy 1.4), so it is only downloaded.
FIGHTCHURN := $(VENV)/wheels/fightchurn-1.2.0-py3-none-any.whl

$(FIGHTCHURN): $(BIN)/python
	$(BIN)/pip download --quiet --no-deps fightchurn==1.2.0 -d $(VENV)/wheels

install: $(STAMP) $(FIGHTCHURN)

lint: $(STAMP)
	$(BIN)/ruff check csbridge csbridge_sandbox tests bench
	$(BIN)/ruff format --check csbridge csbridge_sandbox tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# HTML reports are tested in Debian's headless Chromium, driven by Playwright.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: lint typecheck browser $(FIGHTCHURN)
	$(BIN)/pytest -n auto

demo: $(STAMP)
	$(BIN)/csbridge demo

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
