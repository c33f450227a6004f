# Two commands set everything up on a fresh machine with Python 3.11 and pip:
#   make demo   - venv, install, sample NWB file, JupyterLab on 127.0.0.1 with the Explorer
#   make test   - venv, test extras, system packages the tests need, the whole suite; then
#                 the core tests again on the lowest versions pyproject allows (.venv-floor)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
LINT_DIRS := lazynwb_explorer tests $(wildcard benchmarks)

.PHONY: demo test test-floor fuzz bench lint venv clean system-deps js-test zarr3-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,widgets,demo]'
	touch $(STAMP)

venv: $(STAMP)

# The Zarr v3 fixture writer. hdmf-zarr 0.14 (the writer of today's NWB Zarr files) needs
# Python >= 3.12 and zarr >= 3.4; the test venv keeps zarr 2 for the peers the tests compare
# with (lazynwb 1.0, hdmf-zarr 0.13), so the writer has a venv of its own on the first Python
# >= 3.12 that scripts/zarr3_python.sh finds (pyenv's, or python3.12 / 3.13 on PATH; set
# WRITER_PYTHON to choose). It writes the v3 fixtures and reads them back with NWBZarrIO for
# the tests' reference; it also installs this package, which shows it installs beside zarr 3.
ZARR3_VENV := .venv-zarr3
ZARR3_STAMP := $(ZARR3_VENV)/.installed
WRITER_PYTHON ?=
$(ZARR3_STAMP): pyproject.toml tests/zarr3_requirements.txt
	@py="$$(WRITER_PYTHON='$(WRITER_PYTHON)' scripts/zarr3_python.sh)"; \
	if [ -z "$$py" ]; then \
		echo "make: the Zarr v3 test fixtures need Python >= 3.12 (hdmf-zarr 0.14), and none was"; \
		echo "      found (pyenv versions, python3.12 / python3.13 on PATH). Install one, or run"; \
		echo "      make WRITER_PYTHON=/path/to/python3.12 test"; \
		exit 1; \
	fi; \
	"$$py" -m venv $(ZARR3_VENV)
	$(ZARR3_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ZARR3_VENV)/bin/python -m pip install --quiet -r tests/zarr3_requirements.txt -e .
	touch $(ZARR3_STAMP)

zarr3-venv: $(ZARR3_STAMP)

system-deps:
	@bash scripts/system_deps.sh

# The other end of the dependency range: a second venv with the lowest polars, numpy,
# pandas, pyarrow and h5py that pyproject.toml allows (scripts/floor_pins.py reads them),
# running the reader's core tests (the browser, notebook, Dask and export tests need
# libraries of their own and run on the newest releases only).
FLOOR_VENV := .venv-floor
FLOOR_PY := $(FLOOR_VENV)/bin/python
FLOOR_STAMP := $(FLOOR_VENV)/.installed
FLOOR_TEST_DEPS := 'pytest>=8' 'pytest-timeout>=2.3' 'hypothesis>=6.100' 'pynwb>=2.8' \
	'hdmf-zarr>=0.12' 'moto[server]>=5' 'lazynwb==1.0.0' 'hdf5plugin>=4' 'aiobotocore>=3.10'
FLOOR_TESTS := tests/test_tables.py tests/test_shared_data.py tests/test_pushdown.py \
	tests/test_pushdown_property.py tests/test_mixed_types.py tests/test_session_table.py \
	tests/test_table_queries.py tests/test_odd_files.py tests/test_series_window.py \
	tests/test_timeseries.py tests/test_metadata.py tests/test_errors.py \
	tests/test_table_metadata.py tests/test_api_parity.py tests/test_config_env.py \
	tests/test_h5_engine.py tests/test_attrs.py tests/test_lazy_nwb.py

$(FLOOR_PY):
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_PY) -m pip install --quiet --upgrade pip

$(FLOOR_STAMP): pyproject.toml scripts/floor_pins.py | $(FLOOR_PY)
	$(FLOOR_PY) -m pip install --quiet -e '.[widgets]' $(FLOOR_TEST_DEPS) \
		$(shell $(PYTHON) scripts/floor_pins.py)
	touch $(FLOOR_STAMP)

# The front end: its unit tests (vitest) and the committed bundles checked against the sources.
JS := widgets_js
JS_STAMP := $(JS)/node_modules/.installed
$(JS_STAMP): $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

js-test: $(JS_STAMP)
	cd $(JS) && npm test --silent && node build.mjs --check

test: $(STAMP) $(FLOOR_STAMP) $(ZARR3_STAMP) system-deps js-test lint
	$(PY) -m pytest $(PYTEST_ARGS)
	$(FLOOR_PY) -m pytest $(FLOOR_TESTS) $(PYTEST_ARGS)

test-floor: $(FLOOR_STAMP)
	$(FLOOR_PY) -m pytest $(FLOOR_TESTS) $(PYTEST_ARGS)

# The fuzzers for longer (FUZZ_SCALE x CI's inputs: tests/test_fuzz.py's 16,200 hostile
# files, tests/test_pushdown_property.py's 1,000 queries) and on other inputs than CI's
# (FUZZ_SEED); failing files land in tests/fuzz_corpus/new/, differing queries are listed.
FUZZ_SCALE ?= 20
FUZZ_SEED ?= 1
fuzz: $(STAMP)
	FUZZ_SCALE=$(FUZZ_SCALE) FUZZ_SEED=$(FUZZ_SEED) $(PY) -m pytest tests/test_fuzz.py \
		tests/test_pushdown_property.py -s --timeout=0 $(PYTEST_ARGS)

# Style (ruff), the layer rule (import-linter) and the type check (mypy: [tool.mypy] in
# pyproject.toml, strict on the public API); `make test` runs it first.
lint: $(STAMP)
	$(PY) -m ruff check $(LINT_DIRS)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m mypy

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

$(BENCH_STAMP): pyproject.toml | $(STAMP) $(ZARR3_STAMP)
	$(PY) -m pip install --quiet -e '.[test,widgets,demo,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(FLOOR_VENV) $(ZARR3_VENV) .pytest_cache
