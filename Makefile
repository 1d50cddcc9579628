# TokenPrism — every target sets up what it needs on a fresh machine.
#   make demo   the main job: a coloured token view and the count of a sample prompt
#   make test   every test (Python unit + LSP end-to-end + the VS Code end-to-end test)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TP     := $(VENV)/bin/tokenprism
export TRANSFORMERS_VERBOSITY ?= error
# Vocabularies used by the tests are fetched once into this cache, never committed.
export TOKENPRISM_TESTDATA ?= $(HOME)/.cache/tokenprism-testdata

.PHONY: demo test test-python testdata venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: venv
	$(TP) show examples/prompt.md
	$(TP) count examples/prompt.md

testdata: venv
	$(PY) tests/fetch_testdata.py

test-python: venv testdata
	$(PY) -m pytest -q

test: test-python

clean:
	rm -rf $(VENV) build *.egg-info
