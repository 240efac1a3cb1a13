# inspector-autopilot: every target installs what it needs from this repository's own files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := $(CURDIR)/.venv
PYTHON      ?= python3
STAMP       := $(VENV)/.installed
CHECKOV_VENV := $(CURDIR)/.venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
TEMPLATE    := infra/template.yaml
# sam reads these offline; no credentials are needed to build or validate.
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= ap-northeast-2
# Outside the clone, so that CI and fresh clones reuse the compiled AWS SDK.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/inspector-autopilot/target
export PATH := $(VENV)/bin:$(PATH)
FUNCTIONS   := agent-installer suppression-sync finding-router findings-export account-setup
LAMBDA_DIR  := $(CURDIR)/target/lambda

.PHONY: help setup fmt lint validate package deploy deploy-fast test unit-test e2e build release-host invoke-agent-installer invoke-suppression-sync invoke-finding-router invoke-findings-export bench demo demo-up demo-down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-24s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

setup: $(STAMP) ## project venv with pinned moto[server], cargo-lambda, ziglang, cfn-lint and sam

fmt: ## format the code
	cargo fmt --all

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

unit-test: $(STAMP) ## unit, handler, adapter and moto integration tests
	cargo test --workspace --all-targets

release-host: ## release binaries for this machine (for e2e and bench)
	cargo build --release $(addprefix -p ,$(FUNCTIONS))

e2e: $(STAMP) release-host ## the release binaries under cargo-lambda's Runtime API against moto, and the demo in quick mode
	$(VENV)/bin/python scripts/lambda_e2e.py $(CARGO_TARGET_DIR)/release
	$(VENV)/bin/python scripts/demo.py $(CARGO_TARGET_DIR)/release --quick
	$(VENV)/bin/python -m unittest discover -s scripts -p 'test_*.py'

validate: $(STAMP) $(CHECKOV_STAMP) ## the template: cfn-lint, sam validate --lint, checkov, its security test
	$(VENV)/bin/cfn-lint $(TEMPLATE)
	@echo "cfn-lint: 0 errors, 0 warnings"
	$(VENV)/bin/sam validate --lint -t $(TEMPLATE)
	$(CHECKOV_VENV)/bin/checkov -f $(TEMPLATE) --framework cloudformation --skip-download --compact --quiet
	$(VENV)/bin/python -m unittest discover -s infra/tests

test: lint validate unit-test e2e ## everything CI runs

build: $(STAMP) ## arm64 Lambda zips in target/lambda/<name>/bootstrap.zip
	cargo lambda build --release --arm64 --output-format zip --lambda-dir $(LAMBDA_DIR) $(addprefix -p ,$(FUNCTIONS))

package: $(STAMP) ## sam build (rust-cargolambda, arm64) -> .aws-sam/build/<Function>/bootstrap
	PATH=$(VENV)/bin:$$PATH $(VENV)/bin/sam build -t $(TEMPLATE) --beta-features

deploy: package ## sam deploy with infra/samconfig.toml (copy infra/samconfig.toml.example first)
	@test -f infra/samconfig.toml || { echo "copy infra/samconfig.toml.example to infra/samconfig.toml and fill it in"; exit 1; }
	$(VENV)/bin/sam deploy --config-file infra/samconfig.toml

deploy-fast: $(STAMP) ## FUNCTION=<name> NAME=<deployed function name>: cargo lambda deploy of one function's code
	@test -n "$(FUNCTION)" -a -n "$(NAME)" || { echo "usage: make deploy-fast FUNCTION=finding-router NAME=<deployed function name>"; exit 1; }
	cargo lambda build --release --arm64 -p $(FUNCTION)
	cargo lambda deploy --binary-name $(FUNCTION) $(NAME)

invoke-agent-installer: e2e ## fixtures through cargo lambda watch/invoke against moto

invoke-suppression-sync: e2e ## the example rules through cargo lambda watch/invoke against moto

invoke-finding-router: e2e ## the finding fixtures through cargo lambda watch/invoke against moto

invoke-findings-export: e2e ## a stream export of seeded findings through cargo lambda watch/invoke against moto

demo: $(STAMP) release-host ## the whole product on this machine: template on moto, the four flows, a report
	$(VENV)/bin/python scripts/demo.py $(CARGO_TARGET_DIR)/release

demo-up: $(STAMP) release-host ## the demo, then leave moto, the emulator and the functions running
	$(VENV)/bin/python scripts/demo.py $(CARGO_TARGET_DIR)/release --up

demo-down: ## stop what demo-up left running
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python scripts/demo.py --down; else echo "demo-down: nothing is running (no venv)"; fi

bench: $(STAMP) release-host ## matcher, router and export throughput; cold start, peak RSS and sizes (`make build` first for the zip)
	cargo bench -p shared --features fakes --bench matcher --bench router
	cargo run --quiet --release -p findings-export --example export_bench
	for f in $(FUNCTIONS); do $(VENV)/bin/python scripts/bench.py $(CARGO_TARGET_DIR)/release/$$f $(LAMBDA_DIR)/$$f/bootstrap.zip || exit 1; done

clean: ## remove the venvs and build outputs
	rm -rf $(VENV) $(CHECKOV_VENV) target .aws-sam
	cargo clean
