# noisyexp — every target installs what it needs into .venv first.
# `make help` lists the targets. TORCH picks the torch build (default: the CPU wheel 2.13.0).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PROFILE ?= cpu
RESULTS ?= results
DATA ?= data
LAUNCHER ?= local
BIN := $(VENV)/bin
comma := ,
empty :=
space := $(empty) $(empty)
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install demo test test-all lint format bench tables figures paper readme smoke chaos clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install noisyexp with torch ($(TORCH)) and dev tools

demo: $(STAMP)  ## train the embedded default (three Gaussians) with three units and print a table
	$(BIN)/noisyexp train -m experiment=gaussians_tanh,gaussians_hard_tanh,gaussians_nan,gaussians_nah \
		paths.results_dir=$(RESULTS)/demo hydra/launcher=basic
	$(BIN)/noisyexp tables --results $(RESULTS)/demo
	@cat $(RESULTS)/demo/tables/gaussians.md

test: $(STAMP)  ## run the fast test suite (about a minute)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)  ## run every test, slow ones included
	$(BIN)/python -m pytest -q -m ""

lint: $(STAMP)  ## ruff: lint and format check
	$(BIN)/ruff check noisyexp tests scripts
	$(BIN)/ruff format --check noisyexp tests scripts

format: $(STAMP)  ## ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix noisyexp tests scripts
	$(BIN)/ruff format noisyexp tests scripts

bench: $(STAMP)  ## speed and memory of the units and of the LSTMs (prints numbers)
	$(BIN)/python scripts/bench_activations.py --threads 1
	$(BIN)/python scripts/bench_lstm.py --threads 1

smoke: $(STAMP)  ## two shrunk steps of every experiment preset
	$(BIN)/python -m pytest -q tests/test_experiments.py -m ""

CHAOS ?=
chaos: $(STAMP)  ## kills, double signals, locks, full disks, bad inputs (<10 min; CHAOS=--quick: a smoke test); writes docs/errors.md
	OMP_NUM_THREADS=1 $(BIN)/python scripts/chaos.py $(CHAOS)

tables: $(STAMP)  ## build results/tables/ from every run summary under results/
	$(BIN)/noisyexp tables --results $(RESULTS)

figures: $(STAMP)  ## plot learning curves into results/figures/
	$(BIN)/noisyexp figures --results $(RESULTS)

paper: $(STAMP)  ## every experiment of PROFILE=cpu|full over its seeds (DATA=dir), then tables, figures
	$(BIN)/noisyexp paper --profile $(PROFILE) --results $(RESULTS) --data-dir $(DATA) \
		--launcher $(LAUNCHER)

# the README's tables come from the run records that are committed (results/paper/, see
# .gitignore) and from nothing else, so a fresh clone rebuilds them byte for byte
# (tests/test_readme_tables.py fails when they differ)
README_TABLES := table1_lte table2_ptb table4_nmt table5_unique ntm_recall gaussians mnist char_gru
README_RECORDS := results/paper
readme: $(STAMP)  ## rebuild results/tables/ from the committed run records (results/paper/) and paste them and the unit docs into README.md
	$(BIN)/noisyexp tables --results $(README_RECORDS) --out results/tables
	$(BIN)/python scripts/sync_readme.py activations=docs/activations.md \
		results=$(subst $(space),$(comma),$(foreach t,$(README_TABLES),results/tables/$(t).md))

clean:  ## remove caches (keeps .venv and results/)
	rm -rf .pytest_cache .ruff_cache outputs multirun
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
