# Two commands set everything up on a fresh machine with Python 3.11 and pip:
#   make demo   - venv, install, sample NWB file, JupyterLab on 127.0.0.1 with the Explorer
#   make test   - venv, test extras, system packages the tests need, the whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
LINT_DIRS := lazynwb_explorer tests $(wildcard benchmarks)

.PHONY: demo test fuzz bench lint venv clean system-deps js-test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,widgets,demo]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash scripts/system_deps.sh

# The front end: its unit tests (vitest) and the committed bundles checked against the sources.
JS := widgets_js
JS_STAMP := $(JS)/node_modules/.installed
$(JS_STAMP): $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

js-test: $(JS_STAMP)
	cd $(JS) && npm test --silent && node build.mjs --check

test: $(STAMP) system-deps js-test
	$(PY) -m ruff check $(LINT_DIRS)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

# The fuzzer of tests/test_fuzz.py for longer (FUZZ_SCALE x CI's 16,200 inputs) and on
# other inputs than CI's (FUZZ_SEED); failing inputs land in tests/fuzz_corpus/new/.
FUZZ_SCALE ?= 20
FUZZ_SEED ?= 1
fuzz: $(STAMP)
	FUZZ_SCALE=$(FUZZ_SCALE) FUZZ_SEED=$(FUZZ_SEED) $(PY) -m pytest tests/test_fuzz.py -s --timeout=0 $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check $(LINT_DIRS)
	$(VENV)/bin/lint-imports --no-cache

# Jupyter refuses to run as root unless told to (containers, CI machines).
demo: $(STAMP)
	$(PY) -m lazynwb_explorer.demo_data notebooks/sample.nwb
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser \
		$(if $(filter 0,$(shell id -u)),--allow-root) notebooks/explorer.ipynb

# Benchmarks need the peers (lazynwb 1.0, pynwb + remfile): the `bench` extra.
# `make bench` rewrites benchmarks/README.md (~15 min; files are generated into
# benchmarks/data on first use); `make bench BENCH_ARGS=--quick` is a ~2-3 min check.
BENCH_STAMP := $(VENV)/.installed-bench
BENCH_ARGS ?=

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,widgets,demo,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
