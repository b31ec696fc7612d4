# Two entry points (see README.md):
#   make demo   set up, start the local AWS emulator, deploy into it, run MLflow on :5000
#   make test   set up, lint, run every test
SHELL := /bin/bash
PYTHON ?= python3
ENV ?= local
VENV := .venv
BIN := $(VENV)/bin
EMULATOR_PORT ?= 4566
# ENV=local talks to the emulator on EMULATOR_PORT (overriding the inventory's 4566); any other
# environment talks to AWS.
EMULATOR_URL := http://127.0.0.1:$(EMULATOR_PORT)
ENDPOINT_VARS := $(if $(filter local,$(ENV)),-e aws_endpoint_url=$(EMULATOR_URL))
# MITOGEN=1 runs the playbooks with mitogen's linear strategy (README, "Faster runs with mitogen").
MITOGEN ?=
# The plugins' directory comes from tools/mitogen_strategy.py (as for the tests and bench-deploy).
STRATEGY_ENV = $(if $(filter 1,$(MITOGEN)),ANSIBLE_STRATEGY=mitogen_linear ANSIBLE_STRATEGY_PLUGINS=$$($(BIN)/python tools/mitogen_strategy.py))

.PHONY: test-arm64 demo setup mlflow-venv deploy destroy run-local admin-password emulator stop lint test unit bench bench-image bench-task-size bench-deploy clean ansible-test molecule cost

demo: setup emulator deploy run-local

setup: $(VENV)/.installed mlflow-venv

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

# The MLflow server's own virtualenv: the same pins as the container image (does nothing
# while docker/requirements.txt is unchanged).
mlflow-venv:
	tools/mlflow_venv.sh

emulator: $(VENV)/.installed
	$(BIN)/python tools/emulator.py start --port $(EMULATOR_PORT) --environment local

stop:
	$(BIN)/python tools/emulator.py stop --port $(EMULATOR_PORT)

deploy: $(VENV)/.installed
	$(STRATEGY_ENV) $(BIN)/ansible-playbook playbooks/deploy.yml -i inventories/$(ENV) $(ENDPOINT_VARS)

destroy: $(VENV)/.installed
	$(STRATEGY_ENV) $(BIN)/ansible-playbook playbooks/destroy.yml -i inventories/$(ENV) $(ENDPOINT_VARS)

run-local: setup
	$(BIN)/python tools/run_local.py --endpoint-url $(EMULATOR_URL) --family $(ENV)-mlflow-tracking

# The MLflow admin password of the local deployment (generated at first deploy, kept in the
# emulator's Secrets Manager; the deploy never prints it).
admin-password: $(VENV)/.installed
	@$(BIN)/python tools/run_local.py --endpoint-url $(EMULATOR_URL) --family $(ENV)-mlflow-tracking --admin-password

lint: $(VENV)/.installed
	@date -u +'== %T lint'
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint
	$(BIN)/antsibull-changelog lint

# Each step prints the time it starts (CI reads how long each took).
test: setup lint
	@date -u +'== %T test dependencies'
	tools/test-deps.sh
	@date -u +'== %T pytest'
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=25 -m 'not arm64'
	@date -u +'== %T ansible-test'
	$(MAKE) ansible-test
	@date -u +'== %T molecule'
	$(MAKE) molecule
	@date -u +'== %T done'


# The arm64 image built and started under qemu: 25+ minutes on a fresh machine (base image, build,
# emulated start), so make test leaves it out; run it before changing docker/ or tools/base_image.sh.
test-arm64: setup
	tools/test-deps.sh
	$(BIN)/pytest -m arm64

unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit

# The monthly cost of ENV's inventory by component (no AWS call); see docs/cost.md.
cost: $(VENV)/.installed
	$(BIN)/ansible-playbook playbooks/cost.yml -i inventories/$(ENV)

bench: setup
	$(BIN)/python tests/benchmarks/bench_memory.py

# The MLflow image next to stock `mlflow server` in containers under the task's limits (needs
# root for the Docker engine and the stand-in base: tools/test-deps.sh).
bench-image: setup
	tools/test-deps.sh
	$(BIN)/python tests/benchmarks/bench_image.py

# The server's throughput, latency and cost per request by Fargate task size (256/512, 512/1024,
# 1024/2048) and 1 or 2 workers, against PostgreSQL, at 1, 4 and 16 clients; prints the table and
# the choice, draws docs/task-size.png (docs/task-size.md). About 17 min; needs root like
# bench-image. BENCH_TASK_SIZE_ARGS, e.g. "--sizes 256/512 --workers 1 --window 10".
bench-task-size: setup
	tools/test-deps.sh
	$(BIN)/python tests/benchmarks/bench_task_size.py $(BENCH_TASK_SIZE_ARGS)

# Deploy overhead on the emulator (local inventory): full deploy, no-op re-deploy, --check --diff
# and destroy, Ansible's default strategy next to mitogen; median wall and CPU time, tasks, AWS
# calls (figures in docs/speed.md). BENCH_DEPLOY_ARGS, e.g. "--runs 5" or "--simulate-aws".
bench-deploy: $(VENV)/.installed
	$(BIN)/python tests/benchmarks/bench_deploy.py $(BENCH_DEPLOY_ARGS)

clean: stop
	rm -rf $(VENV) .venv-mlflow .emulator outputs

# ansible-test sanity (Python 3.11) and units on the collection as it ships: built, installed into
# a fresh ansible_collections tree, with per-test virtualenvs of pinned requirements (--venv).
ansible-test: $(VENV)/.installed
	tools/ansible_test.sh all

# The collection's Molecule scenario (extensions/molecule/default): emulator, deploy,
# idempotence, verify, destroy. MOLECULE_EMULATOR_PORT picks the emulator's port (4590).
molecule: $(VENV)/.installed
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/molecule test
