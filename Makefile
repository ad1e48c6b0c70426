# calltime: `make pipeline` runs the retraining pipeline locally, `make test` runs the tests.
# Both first create or update .venv from the pinned constraints (idempotent, quick when unchanged).

# Python 3.12, as in AWS (the Lambda base image and the scikit-learn serving image): on PATH,
# else pyenv's. A .venv made by another version is rebuilt.
PYTHON_VERSION := 3.12
PYTHON ?= $(shell for p in python$(PYTHON_VERSION) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION); do \
	command -v $$p >/dev/null 2>&1 && $$p -c '' 2>/dev/null && { command -v $$p; break; }; done)
VENV := .venv
# The pinned dependencies are installed by uv (several times faster than pip for this set),
# compiled to bytecode as pip does (the Lambda workers run with -B: without it every worker
# would compile its imports again); pip installs the same pins if uv cannot be had.
UV_VERSION := 0.13.9
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(PYTHON_VERSION)
OUT ?= out
DATA ?=
SEED ?= 7
CONTACTS ?= 5000
SCENARIO ?= deploy
CDK_ENV ?= dev

.PHONY: venv test test-clients test-races test-fast faults lint pipeline train synth diff deploy costs bench bench-quick bench-quality bench-loop bench-load bench-scale bench-storage bench-workers lock clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt clients/python/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found (install it, or PYTHON=/path/to/python$(PYTHON_VERSION))"; exit 2; }
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(PYTHON_VERSION)".split("."))))' 2>/dev/null \
		|| { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	@{ $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) \
		&& VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/uv pip install --quiet --compile-bytecode -c constraints.txt -e '.[dev]' -e clients/python; } \
		|| $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]' \
			-e clients/python
	@touch $(STAMP)
	@echo "venv ready: $(VENV)"

# The TypeScript campaign client (clients/typescript): npm ci from its lock, then its tests,
# which start local endpoints with .venv's calltime (Node's test runner, about 30 s).
CLIENT_TS := clients/typescript
$(CLIENT_TS)/node_modules/.installed: $(CLIENT_TS)/package.json $(CLIENT_TS)/package-lock.json
	cd $(CLIENT_TS) && npm ci --no-audit --no-fund --silent
	@touch $@

# The TypeScript tests serve the model pytest's tests serve (trained once, .cache/tests/).
NPM_TEST = cd $(CLIENT_TS) && CALLTIME_BIN=$(abspath $(BIN))/calltime \
	CALLTIME_TEST_MODEL=$$(cd $(CURDIR) && $(BIN)/python -m tests.support.trained) npm test --silent

# pytest runs on TEST_WORKERS workers (pytest-xdist; the tests that share a module's state kept
# together on one worker, tests/conftest.py; the thread pools of each worker and of the processes
# it starts, Lambda workers included, sized to its share of the cores). Measured on these 2
# cores with a warm .cache: 1 worker 530 s, 2 workers 428 s; with the thread pools sized,
# 2 workers 364 s, 3 workers 355 s (the same code). TEST_WORKERS=1: one process.
TEST_WORKERS ?= 2
test: venv $(CLIENT_TS)/node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/pytest $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup)
	$(NPM_TEST)

test-clients: venv $(CLIENT_TS)/node_modules/.installed
	$(BIN)/pytest -q tests/clients tests/localaws/test_runtime_http.py
	$(NPM_TEST)

# The tests that once raced the wall clock or each other (issue 25), COUNT times each in random
# order (pytest-randomly, pytest-repeat; the TypeScript files shuffled, their tests in order:
# Node 20's runner cannot shuffle). Run it while something else loads the machine, e.g. a
# `make test` in another clone. About 20 minutes.
COUNT ?= 10
RACES := tests/clients tests/localaws/test_lambda_workers.py tests/localaws/test_sagemaker.py \
	tests/localaws/test_runtime_http.py tests/pipeline_lambdas/test_deployment.py \
	tests/pipeline_lambdas/test_rollback.py tests/pipeline_lambdas/test_health.py
RACES_E2E := first_deployment or stopped_run or rerun_on_the_live or second_deployment
test-races: venv $(CLIENT_TS)/node_modules/.installed
	@fail=0; \
	$(BIN)/pytest -q -p randomly -p repeat --count $(COUNT) $(RACES) || fail=1; \
	$(BIN)/pytest -q -p randomly -p repeat --count $(COUNT) tests/e2e/test_pipeline.py \
		-k "$(RACES_E2E)" || fail=1; \
	cd $(CLIENT_TS) && npm run build --silent && npm run build:test --silent && \
		export CALLTIME_BIN=$(abspath $(BIN))/calltime \
		CALLTIME_TEST_MODEL=$$(cd $(CURDIR) && $(BIN)/python -m tests.support.trained) && \
		for i in $$(seq $(COUNT)); do node --test --test-reporter=dot $$(ls build/test/*.test.js \
			| grep -v package.test | shuf) && echo "typescript run $$i: no failure" || fail=1; done; \
	exit $$fail

# The edit-test loop, under 30 s and offline: everything but the tests marked slow (end to end,
# the fault matrix, tests on a trained model, a local account, a synthesized stack or other
# processes: tests/conftest.py).
test-fast: venv
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not slow"

# The fault matrix: every fault AWS can produce at every step, injected into the synthesized
# state machine's run on the local runtime; prints the table (docs/local-runtime.md, "When a step
# fails") and each red cell's problems. CELLS=Train-memory,Deploy-throttled runs some. About 20
# minutes.
CELLS ?=
faults: venv
	$(BIN)/python -m tests.faults --out $(OUT) $(if $(CELLS),--cells $(CELLS))

lint: venv
	$(BIN)/ruff check .

# The retraining pipeline, locally: synthesize the CDK app, run its state machine on the local
# runtime (moto + in-process Lambdas + local SageMaker). DATA=path/to/calls.csv to use your log;
# SCENARIO=broken-model|worse-model|bad-data|concurrent to see the failure paths; CDK_ARGS passes
# settings as for synth (e.g. CDK_ARGS="-c training_memory_mb=512").
pipeline: venv
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(BIN)/calltime local pipeline --out $(OUT) \
		--scenario $(SCENARIO) --contacts $(CONTACTS) --seed $(SEED) $(if $(DATA),--data $(DATA)) \
		$(CDK_ARGS)

# Train only (no AWS, no state machine): data scientists' loop; writes $(OUT)/model/.
train: venv
ifeq ($(DATA),)
	$(BIN)/calltime generate --out $(OUT)/data --contacts $(CONTACTS) --seed $(SEED)
	$(BIN)/calltime train --calls $(OUT)/data/calls.csv --truth $(OUT)/data/truth.csv.gz --out $(OUT)/model
else
	$(BIN)/calltime train --calls $(DATA) --out $(OUT)/model
endif

# The CDK CLI from infra/package-lock.json (npm ci), used by synth, diff and deploy.
CDK := infra/node_modules/.bin/cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

$(CDK): infra/package.json infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund --silent
	@touch $(CDK)

# CDK_ENV=dev|prod|... picks infra/environments/<env>.json; CDK_ARGS passes more (-c key=value).
synth: venv $(CDK)
	cd infra && ./node_modules/.bin/cdk synth -c env=$(CDK_ENV) $(CDK_ARGS) --quiet

diff: venv $(CDK)
	cd infra && ./node_modules/.bin/cdk diff -c env=$(CDK_ENV) $(CDK_ARGS)

# Needs AWS credentials, a bootstrapped account/region and Docker (the functions' image).
deploy: venv $(CDK)
	cd infra && ./node_modules/.bin/cdk deploy -c env=$(CDK_ENV) $(CDK_ARGS)

# Monthly cost estimate from the settings (CDK_ENV) and assumed traffic (see infra/costs.py).
costs: venv
	$(BIN)/python -m infra.costs --env $(CDK_ENV)

# Before and after the model rework (training time ratio, serving latency and throughput, size,
# AUC and calibration: needs the git history), recommendation quality on two generator settings
# by history depth and behaviour group, then the side-by-side tables against the seed's
# RandomForest and the load test. About 30 minutes.
bench: venv
	$(BIN)/python -m benchmarks.before_after
	$(BIN)/python -m benchmarks.quality
	$(BIN)/python -m benchmarks.model_vs_seed
	$(BIN)/python -m benchmarks.serving
	$(BIN)/python -m benchmarks.load

bench-quality: venv
	$(BIN)/python -m benchmarks.quality

# The closed loop: a campaign calling at the model's recommendations for ROUNDS weekly retrains,
# greedy against exploring (Thompson sampling), on the `minorities` population. About 5 minutes.
ROUNDS ?= 8
bench-loop: venv
	$(BIN)/python -m benchmarks.loop --rounds $(ROUNDS)

# Load (and, with SOAK=600, a 10-minute soak): 200 concurrent clients against `calltime serve`
# and through the local SageMaker's InvokeEndpoint, recommendations and the seed format.
SOAK ?= 0
bench-load: venv
	$(BIN)/python -m benchmarks.load --soak $(SOAK)

# The side-by-side tables against the seed only (about 3 minutes).
bench-quick: venv
	$(BIN)/python -m benchmarks.model_vs_seed
	$(BIN)/python -m benchmarks.serving

# Training at scale: the single-function path against the Distributed Map path on generated
# Parquet logs (SIZES rows each), through the local state machine with enforced limits; then the
# AWS cost and time model for 10M/100M/1B rows from those figures. The same sizes run first
# through SCALE_BASELINE's own tree (the code before issue 28), printed side by side; empty
# (make bench-scale SCALE_BASELINE=) skips it. About 25 minutes here with the baseline.
SIZES ?= 1M 4M
SCALE_BASELINE ?= 3a0bed2
bench-scale: venv
	$(BIN)/python -m benchmarks.scale --sizes "$(SIZES)" $(if $(SCALE_BASELINE),--baseline $(SCALE_BASELINE))
	$(BIN)/python -m benchmarks.scale_model

# What a run leaves in the models bucket, by class of key, measured on a 1M-row scale-out run
# and projected to a billion rows (docs/operating.md, "What a run leaves in the bucket"). About 4
# minutes.
ROWS ?= 1M
bench-storage: venv
	$(BIN)/python -m benchmarks.storage --rows $(ROWS)

# The scale-out workers at the sizes training/footprint.py gives them at the least allowed memory
# (1,024 MB), each under its limit as on AWS; fails if one reaches it. About 2 minutes.
bench-workers: venv
	$(BIN)/python -m benchmarks.worker_memory

# Re-pin every dependency to what resolves today (review the diff before committing).
lock:
	rm -rf /tmp/calltime-lock && $(PYTHON) -m venv /tmp/calltime-lock
	/tmp/calltime-lock/bin/pip install --quiet --upgrade pip
	/tmp/calltime-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/calltime-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .venv-serving .cache $(OUT) .pytest_cache .ruff_cache *.egg-info infra/cdk.out infra/node_modules \
		$(CLIENT_TS)/node_modules $(CLIENT_TS)/dist $(CLIENT_TS)/build
