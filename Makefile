# The task runner: `make run` and `make test` are the README's two commands.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# uv from PATH, else a private copy bootstrapped from PyPI into .tools/.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

.PHONY: help run test test-fast lint format engines event-path bench clean

help:
	@echo "make run        the whole system locally (SQLite, in-process event bus)"
	@echo "make test       the full test suite (real engines are used where present)"
	@echo "make test-fast  unit tests only, no real engines"
	@echo "make lint       ruff check, ruff format --check, mypy"
	@echo "make engines    build/cache PostgreSQL, Kafka, daprd, Pulumi, actionlint, promqlcheck"
	@echo "make event-path the real event path: Kafka, PostgreSQL, 4 processes with daprd"
	@echo "make bench      run the benchmarks"

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv>=0.5"

ifeq ($(UV),.tools/bin/uv)
UV_BOOTSTRAP := .tools/bin/uv
endif

.venv/.synced: uv.lock pyproject.toml $(UV_BOOTSTRAP)
	$(UV) sync --frozen
	@touch $@

run: .venv/.synced
	$(UV) run taskstream run

test: .venv/.synced
	$(UV) run pytest

test-fast: .venv/.synced
	$(UV) run pytest -m "not integration and not postgres and not slow"

# mypy's cache lives beside the engine cache, so fresh clones on this machine reuse it.
MYPY_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/taskstream/mypy
export MYPY_CACHE_DIR

lint: .venv/.synced
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

format: .venv/.synced
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

engines:
	bash tools/engines/provision.sh

# The real event path: PostgreSQL, Kafka and the four processes, each with its daprd.
event-path: .venv/.synced
	$(UV) run python tools/dev/event_path.py

bench: .venv/.synced
	$(UV) run python -m bench

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache var render
