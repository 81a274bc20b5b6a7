# noisyexp — every target installs what it needs into .venv first.
# `make help` lists the targets. TORCH picks the torch build (default: the CPU wheel 2.13.0);
# TORCH_INDEX, when set, is the pip index it comes from (--index-url), e.g. a CUDA build:
#   make install TORCH=torch==2.13.0 TORCH_INDEX=https://download.pytorch.org/whl/cu128
# (--index-url, as PyTorch's install instructions: that index also serves torch's own
# dependencies, and no other index can offer a same-numbered CPU wheel). Changing either
# reinstalls torch; the choice is kept in .venv/.torch-spec, so later targets (make test, ...)
# run without repeating it. Give TORCH alone to go back to the default index.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PROFILE ?= cpu
RESULTS ?= results
DATA ?= data
LAUNCHER ?= local
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the torch build last asked for (line 1 TORCH, line 2 TORCH_INDEX): rewritten only when they
# change, so the install (which depends on it) reruns exactly then; reused when neither is given
TORCH_SPEC := $(VENV)/.torch-spec
ifeq ($(origin TORCH_INDEX),undefined)
ifneq ($(wildcard $(TORCH_SPEC)),)
ifeq ($(origin TORCH),file)
TORCH := $(shell sed -n 1p $(TORCH_SPEC))
TORCH_INDEX := $(shell sed -n 2p $(TORCH_SPEC))
endif
endif
endif
TORCH_WANTED = printf '%s\n%s\n' '$(TORCH)' '$(TORCH_INDEX)'

.DEFAULT_GOAL := help
.PHONY: FORCE help install demo test test-slow test-all lint format bench tables figures paper readme smoke chaos clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# an install from before this file existed is taken to hold the build asked for now (dated as
# the install, so nothing reruns); after that, a changed request is a newer file
$(TORCH_SPEC): FORCE
	@mkdir -p $(VENV)
	@if [ ! -f $@ ] && [ -f $(STAMP) ]; then \
		$(TORCH_WANTED) > $@ && touch -r $(STAMP) $@; \
	elif ! $(TORCH_WANTED) | cmp -s - $@; then \
		$(TORCH_WANTED) > $@; \
	fi

$(STAMP): pyproject.toml $(TORCH_SPEC)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(if $(and $(filter $(TORCH_SPEC),$?),$(wildcard $(STAMP))),$(BIN)/python -m pip uninstall -q -y torch)
	$(BIN)/python -m pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv, install noisyexp, dev tools and torch (TORCH=, TORCH_INDEX=: reinstalls)

demo: $(STAMP)  ## train the embedded default (three Gaussians) with three units and print a table
	$(BIN)/noisyexp train -m experiment=gaussians_tanh,gaussians_hard_tanh,gaussians_nan,gaussians_nah \
		paths.results_dir=$(RESULTS)/demo hydra/launcher=basic
	$(BIN)/noisyexp tables --results $(RESULTS)/demo
	@cat $(RESULTS)/demo/tables/gaussians.md

# the tests run on JOBS processes (pytest-xdist; each test keeps torch to one thread)
JOBS ?= 2
test: $(STAMP)  ## the fast tier: every test not marked slow (tests/unit, tests/integration)
	$(BIN)/python -m pytest -q -n $(JOBS)

test-slow: $(STAMP)  ## the slow tier alone: compiles, every preset end to end, signals, installs
	$(BIN)/python -m pytest -q -n $(JOBS) -m slow

test-all: $(STAMP)  ## every test, both tiers
	$(BIN)/python -m pytest -q -n $(JOBS) -m ""

lint: $(STAMP)  ## ruff: lint and format check
	$(BIN)/ruff check noisyexp tests scripts
	$(BIN)/ruff format --check noisyexp tests scripts

format: $(STAMP)  ## ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix noisyexp tests scripts
	$(BIN)/ruff format noisyexp tests scripts

DEVICE ?= cpu
bench: $(STAMP)  ## speed and memory of the units and of the LSTMs (prints numbers; DEVICE=cuda: the LSTMs on a GPU)
	$(BIN)/python scripts/bench_activations.py --threads 1
	$(BIN)/python scripts/bench_lstm.py --threads 1 --device $(DEVICE)
	$(BIN)/python scripts/bench_eval.py --threads 1

smoke: $(STAMP)  ## two shrunk steps of every experiment preset
	$(BIN)/python -m pytest -q -n $(JOBS) tests/integration/test_experiment_presets.py -m ""

CHAOS ?=
chaos: $(STAMP)  ## kills, double signals, locks, full disks, bad inputs (<10 min; CHAOS=--quick: a smoke test); writes docs/errors.md
	OMP_NUM_THREADS=1 $(BIN)/python scripts/chaos.py $(CHAOS)

tables: $(STAMP)  ## build results/tables/ from results/paper/ (the other runs under results/: results/tables/runs/)
	$(BIN)/noisyexp tables --results $(RESULTS)

figures: $(STAMP)  ## plot learning curves into results/figures/
	$(BIN)/noisyexp figures --results $(RESULTS)

paper: $(STAMP)  ## every experiment of PROFILE=quick|cpu|full|long|converge over its seeds (DATA=dir), then tables, figures
	$(BIN)/noisyexp paper --profile $(PROFILE) --results $(RESULTS) --data-dir $(DATA) \
		--launcher $(LAUNCHER)

# the generated sections of README.md and docs/ (the claims summary, the paper tables of
# docs/results.md, the bench tables of docs/speed.md) come from the run records that are committed
# (results/paper/, see .gitignore) and from nothing else, so a fresh clone rebuilds them byte for
# byte (tests/integration/test_readme_tables.py fails when they differ)
README_RECORDS := results/paper
README_BENCH := results/bench/cpu-20261130
readme: $(STAMP)  ## rebuild results/tables/, results/claims* and the bench tables from the committed records (results/paper/, results/bench/) and paste them into README.md and docs/
	$(BIN)/noisyexp tables --results $(README_RECORDS) --out results/tables
	$(BIN)/noisyexp claims --results $(README_RECORDS) --out results
	$(BIN)/python scripts/bench_table.py $(README_BENCH) --out $(README_BENCH)/bench.md
	$(BIN)/python scripts/sync_readme.py --generated --tables results/tables \
		--claims results/claims_summary.md --bench $(README_BENCH)/bench.md

clean:  ## remove caches (keeps .venv and results/)
	rm -rf .pytest_cache .ruff_cache outputs multirun
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
