# ermlab: `make run` reproduces the default experiment, `make test` runs the test suite.
# Both create .venv on first use from the exact versions in requirements.lock.

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
# This machine keeps the CPU build of torch on disk; elsewhere pip finds it on the index.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels)

# DVC runs the stage commands (ermlab-stage) from .venv.
export PATH := $(BIN):$(PATH)

.PHONY: run test test-fast ui notebook server server-stop params data bench reproduce lint lock clean

PORT ?= 5000

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(FIND_LINKS) -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . \
		--config-settings editable_mode=compat
	touch $(STAMP)

## run: restore data/, compose conf/ into params.yaml, dvc repro, print the risks
run: $(STAMP) data params
	$(BIN)/dvc repro
	$(BIN)/ermlab-stage report

## params: compose conf/ into params.yaml (rewritten only when it changed)
params: $(STAMP)
	$(BIN)/ermlab-stage params

## data: restore the DVC-tracked reference datasets in data/ from the package's copies
data: $(STAMP)
	$(BIN)/ermlab-stage restore-data

## test: the whole suite, slow end-to-end tests included
test: $(STAMP) data
	$(BIN)/python -m pytest -q

## test-fast: the unit tests only
test-fast: $(STAMP) data
	$(BIN)/python -m pytest -q -m "not slow"

## ui: browse the MLflow runs of this project on http://127.0.0.1:$(PORT)
ui: $(STAMP)
	@echo "MLflow UI on http://127.0.0.1:$(PORT): choose 'Model training' at the top left once"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port $(PORT)

## notebook: JupyterLab on http://127.0.0.1:$(NOTEBOOK_PORT) with the course's notebook open
NOTEBOOK_PORT ?= 8888
# Jupyter refuses to run as root unless told (a container's user often is).
notebook: $(STAMP)
	$(BIN)/jupyter lab --ip 127.0.0.1 --port $(NOTEBOOK_PORT) --no-browser \
		$(if $(filter 0,$(shell id -u)),--allow-root) --ServerApp.root_dir=$(CURDIR) \
		$(NOTEBOOK_FLAGS) notebooks/erm_method.ipynb

## server: a team tracking server on http://127.0.0.1:$(PORT): PostgreSQL (cluster in .ermlab/)
## and mlflow server with proxied artifacts; returns once it answers. Log to it with
## `ermlab tracking=server tracking.uri=http://127.0.0.1:$(PORT)`.
server: $(STAMP)
	$(BIN)/ermlab-server start --port $(PORT)

## server-stop: stop the server of `make server` (both processes; the data stay in .ermlab/)
server-stop: $(STAMP)
	$(BIN)/ermlab-server stop

STUDIES := $(notdir $(patsubst %/dvc.yaml,%,$(wildcard pipelines/*/dvc.yaml)))

## reproduce: every study under pipelines/, then one table of published against reproduced
reproduce: $(STAMP) data
	@status=0; for study in $(STUDIES); do \
	  echo "== $$study"; \
	  $(BIN)/ermlab-study $$study params && (cd pipelines/$$study && $(BIN)/dvc repro) \
	    || status=1; \
	done; \
	$(BIN)/ermlab-study summary || status=1; exit $$status

## bench: speed and accuracy against peers (not part of make test)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ols.py
	$(BIN)/python benchmarks/bench_torch_loop.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_model_logging.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_sweep_phases.py
	$(BIN)/python benchmarks/bench_dvc.py

lint: $(STAMP)
	$(BIN)/ruff check .

## lock: re-pin requirements.lock from the current .venv
lock:
	{ echo "# Exact versions for .venv (make uses this); ranges live in pyproject.toml."; \
	  echo "# Regenerate with: make lock"; \
	  $(BIN)/pip freeze --exclude-editable | sed 's/+cpu$$//' | grep -v '^ermlab'; } > requirements.lock

clean:
	rm -rf results outputs multirun
