# Everything runs from a local .venv that this Makefile builds from the pinned requirements:
# a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= test
STACKS := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))
RELEASE ?=

.PHONY: help install dev-install policy-pack scan-install scan preview preview-all compose docs ci-config test check lint typecheck clean bench

help:
	@echo "make preview [STACK=<stack>]            offline preview into build/<stack>/ (stacks: $(STACKS))"
	@echo "make preview-all                        every stack (one Pulumi.<stack>.yaml each)"
	@echo "make compose [RELEASE=x.y.z]            the one-host Compose bundle into build/compose/ (default: onprem's release)"
	@echo "make preview[-all] BASE=<git ref>       also build/<stack>/diff.md: the change against that revision"
	@echo "make docs                               the README's configuration table, from the settings models; and make ci-config"
	@echo "make ci-config                          .circleci/config.yml, from .circleci/template.yml, the stack files and the tiers"
	@echo "make test                               the whole test suite"
	@echo "make check                              ruff and pyright"
	@echo "make policy-pack                        policy/.venv, for pulumi preview|up --policy-pack policy"
	@echo "make bench                              preview vs SDK floor, catalog scaling, test suite wall time, cost targets"
	@echo "make scan [STACK=...]                    checkov over build/<stack>/manifests (after make preview)"
	@echo "./preview [stack ...]                   the preview with its own exit code: 0 ok, 1 mandatory policy, 2 settings"

# Three installs, each on first use and announced in one line: the runtime (preview, pulumi up), the test and
# lint tools (make test, make check), and checkov in its own venv (it pins many libraries; make test, make scan).
PIP = --quiet --disable-pip-version-check
SCAN_VENV := .venv-scan
install: $(VENV)/.runtime
dev-install: $(VENV)/.dev
scan-install: $(SCAN_VENV)/.installed

$(VENV)/.runtime: requirements.txt policy/requirements.txt constraints.txt
	@echo "installing the pinned packages into .venv, first run only"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install $(PIP) -r requirements.txt -c constraints.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	@echo "installing the test and lint tools into .venv, first run only"
	@$(BIN)/python -m pip install $(PIP) -r requirements-dev.txt -c constraints.txt
	@touch $@

$(SCAN_VENV)/.installed: requirements-scan.txt
	@echo "installing checkov into .venv-scan, first run only"
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	@$(SCAN_VENV)/bin/python -m pip install $(PIP) -r requirements-scan.txt
	@touch $@

scan: install scan-install
	$(BIN)/python -m policy.manifest_scan build/$(STACK)/manifests

# The CrossGuard pack runs in its own virtualenv (policy/PulumiPolicy.yaml), from its own requirements.
policy-pack: policy/.venv/.installed

policy/.venv/.installed: policy/requirements.txt constraints.txt
	@echo "installing the policy pack's packages into policy/.venv, first run only"
	@test -x policy/.venv/bin/python || $(PYTHON) -m venv policy/.venv
	@policy/.venv/bin/python -m pip install $(PIP) -r policy/requirements.txt -c constraints.txt
	@touch $@

# With BASE=<git ref>, the base revision is previewed too (in a temporary worktree) and diffed.
PREVIEW = $(if $(BASE),delivery.preview_diff --base $(BASE),offline.preview)

# make exits 2 on any failure; the preview's last line says which (1: mandatory policy, 2: settings);
# ./preview passes its exit code through unchanged.
preview: install
	@$(BIN)/python -m $(PREVIEW) $(STACK)

preview-all: install
	@$(BIN)/python -m $(PREVIEW) $(STACKS)

compose: install
	@$(BIN)/python -m onprem.bundle $(if $(RELEASE),--release $(RELEASE))

# The generated files: the README's configuration table and the CircleCI config (one job chain per stack file).
docs: install ci-config
	@$(BIN)/python -m settings.doc

ci-config: install
	@$(BIN)/python -m delivery.ci_config

test: dev-install scan-install
	$(BIN)/python -m pytest -q -n 2

lint: dev-install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: dev-install
	$(BIN)/pyright

check: lint typecheck

bench: dev-install scan-install
	$(BIN)/python -m bench.preview_floor
	$(BIN)/python -m bench.scaling
	$(BIN)/python -m bench.suite
	$(BIN)/python -m bench.cost_targets

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
