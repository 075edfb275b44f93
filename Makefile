# Developer entry points. Every target installs what it needs into .venv/ and node_modules/,
# so a fresh clone needs only Python 3.10+, Node 20+ and the package registries.
SHELL := /bin/bash
# The first interpreter that really runs and is 3.10+ (a pyenv shim can exist yet not run).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1 && { command -v $$p; break; }; \
	done)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install test lint typecheck pytest nodetest demo stage vsix bench soak lock docs clean

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): setup.cfg pyproject.toml
	@test -n "$(PYTHON)" || { echo 'Python 3.10+ is required (none of python3, python3.1x runs here).'; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

lint: $(PY_STAMP)
	$(BIN)/ruff check pytask tests tools bench
	$(BIN)/ruff format --check pytask tests tools bench

typecheck: $(PY_STAMP)
	$(BIN)/mypy

# Two workers, one test file each at a time (module-scoped sandboxes stay per file): most
# tests wait on the sandbox's scaled clock, not on the CPU.
pytest: install
	$(BIN)/pytest -n 2 --dist loadfile

nodetest: install
	node --test tasks/launcher/test/

test: lint typecheck nodetest pytest

demo: install
	$(BIN)/pytask demo

# build/extension/: the task folders exactly as the vsix holds them (no tfx needed).
stage: $(PY_STAMP)
	$(BIN)/python tools/build.py stage

vsix: install
	$(BIN)/python tools/build.py vsix

bench: install
	$(BIN)/python -m bench

# The reliability suite at full counts (tests/reliability/ledger.py); figures go to
# bench/reliability.json. `make test` runs the same tests at their quick counts.
soak: install
	RELIABILITY_MODE=soak $(BIN)/pytest tests/reliability tests/e2e/test_least_privilege.py \
		-p no:cacheprovider --timeout=3600

# Regenerate the hash-pinned runtime lock shipped in every task folder. Index and find-links
# options stay out of it: agents use their own pip configuration (private index, wheelhouse).
lock: $(PY_STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links \
		--output-file tasks/requirements.lock setup.cfg

docs: $(PY_STAMP)
	$(BIN)/python tools/build.py docs

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache

# The unmodified Azure CLI against the sandbox, configured only as a custom cloud
# (docs/sandbox-fidelity.md). The CLI gets its own venv: too heavy for `make test`.
AZURE_CLI_VERSION ?= 2.91.0
.PHONY: fidelity
fidelity: install
	@test -x .venv-az/bin/az || { $(PYTHON) -m venv .venv-az && echo '*' > .venv-az/.gitignore; }
	.venv-az/bin/python -m pip install --quiet --disable-pip-version-check 'azure-cli==$(AZURE_CLI_VERSION)'
	$(BIN)/pytest tests/fidelity -v -m azure_cli
