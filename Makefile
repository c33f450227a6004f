# Two commands set everything up on a fresh machine with Python 3.11 and pip:
#   make demo   - venv, install, sample NWB file, JupyterLab on 127.0.0.1 with the Explorer
#   make test   - venv, test extras, system packages the tests need, the whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
LINT_DIRS := lazynwb_explorer tests $(wildcard benchmarks)

.PHONY: demo test bench lint venv clean system-deps

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

test: $(STAMP) system-deps
	$(PY) -m ruff check $(LINT_DIRS)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check $(LINT_DIRS)

demo: $(STAMP)
	$(PY) -m lazynwb_explorer.demo_data notebooks/sample.nwb
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser notebooks/explorer.ipynb

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
