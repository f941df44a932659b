# Everything runs from a local .venv that this Makefile builds from the pinned requirements:
# a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= test
STACKS := test staging prod

.PHONY: help install policy-pack scan-install scan preview preview-all test check lint typecheck clean bench

help:
	@echo "make preview [STACK=test|staging|prod]  offline preview into build/<stack>/"
	@echo "make preview-all                        all three stacks"
	@echo "make preview[-all] BASE=<git ref>       also build/<stack>/diff.md: the change against that revision"
	@echo "make test                               the whole test suite"
	@echo "make check                              ruff and pyright"
	@echo "make policy-pack                        policy/.venv, for pulumi preview|up --policy-pack policy"
	@echo "make bench                              preview vs SDK floor, catalog scaling, test suite wall time"
	@echo "make scan [STACK=...]                    checkov over build/<stack>/manifests (after make preview)"

install: $(VENV)/.installed

# checkov pins many libraries: it gets its own venv, from its own pinned list.
SCAN_VENV := .venv-scan
scan-install: $(SCAN_VENV)/.installed

$(SCAN_VENV)/.installed: requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $@

scan: install scan-install
	$(BIN)/python -m policy.manifest_scan build/$(STACK)/manifests

$(VENV)/.installed: requirements.txt policy/requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

# The CrossGuard pack runs in its own virtualenv (policy/PulumiPolicy.yaml), from its own requirements.
policy-pack: policy/.venv/.installed

policy/.venv/.installed: policy/requirements.txt constraints.txt
	test -x policy/.venv/bin/python || $(PYTHON) -m venv policy/.venv
	policy/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r policy/requirements.txt -c constraints.txt
	touch $@

# With BASE=<git ref>, the base revision is previewed too (in a temporary worktree) and diffed.
PREVIEW = $(if $(BASE),delivery.preview_diff --base $(BASE),offline.preview)

preview: install
	$(BIN)/python -m $(PREVIEW) $(STACK)

preview-all: install
	$(BIN)/python -m $(PREVIEW) --quiet $(STACKS)

test: install scan-install
	$(BIN)/python -m pytest -q -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/pyright

check: lint typecheck

bench: install scan-install
	$(BIN)/python -m bench.preview_floor
	$(BIN)/python -m bench.scaling
	$(BIN)/python -m bench.suite

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
