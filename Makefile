# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv tools demo test test-fast test-versions lint format typecheck check clean

venv: $(STAMP)

# torch==2.13.0 first: pip takes the CPU build from local disk, and the looser
# requirement in pyproject.toml is then already satisfied (no CUDA download).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[train,dev,broker]'
	touch $(STAMP)

# `make demo KEEP=1` leaves the stack and the explorer (printed URL) up until Ctrl-C.
demo: $(STAMP)
	$(PY) -m services.devtools.demo $(if $(KEEP),--keep)

# System validators the deploy/ tests call (promtool, docker-compose config), installed
# from Debian packages only when missing (apt-get update only then). kubectl comes with
# the machine: Debian's kubernetes-client (1.20) predates the kustomize features deploy/k8s
# uses (components), so a missing kubectl is reported, not replaced by it.
TOOLS := promtool:prometheus docker-compose:docker-compose
# Debian's chromium for the explorer's browser tests (Playwright drives it; no browser download)
TOOLS += chromium:chromium

tools:
	@command -v kubectl >/dev/null 2>&1 || { echo "kubectl >= 1.27 is needed (kubectl kustomize)"; exit 1; }
	@missing=""; for t in $(TOOLS); do \
	  command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: $(STAMP) tools
	$(PY) -m pytest -q

# No broker, no training, no deploy validators: the inner loop (about a minute on 2 cores).
FAST := not kafka and not slow
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "$(FAST)"

# The fast tests on every Python of the declared range (requires-python), one venv each
# (.venv-3.X). torch==2.13.0 CPU lies on disk for 3.11 only (PyPI's wheel for the others is
# the CUDA build): there the train extra is left out and the tests that need torch skip.
PYTHONS ?= 3.11 3.12 3.13
test-versions:
	@set -e; for v in $(PYTHONS); do \
	  py=""; for c in python$$v $$HOME/.pyenv/versions/$$v*/bin/python$$v; do \
	    if $$c -c "" 2>/dev/null; then py=$$c; break; fi; done; \
	  [ -n "$$py" ] || { echo "python$$v not found"; exit 1; }; \
	  env=.venv-$$v; extras=dev,broker; \
	  if [ ! -x $$env/bin/python ]; then $$py -m venv $$env; $$env/bin/pip install -q --upgrade pip; fi; \
	  if $$env/bin/pip install -q --dry-run --no-index torch==2.13.0 >/dev/null 2>&1; then \
	    $$env/bin/pip install -q torch==2.13.0; extras=train,dev,broker; fi; \
	  $$env/bin/pip install -q -e ".[$$extras]"; \
	  echo "== Python $$v ($$extras)"; \
	  $$env/bin/python -m pytest -q -m "$(FAST)" -p no:cacheprovider; \
	done

# failure injection against the embedded broker (docs/reliability.md); `make test` runs a subset
.PHONY: chaos
chaos: $(STAMP)
	SYMAE_CHAOS=full $(PY) -m pytest -q -s -m chaos tests/chaos

lint: $(STAMP)
	$(VENV)/bin/ruff check symae services tests
	$(VENV)/bin/ruff format --check symae services tests

format: $(STAMP)
	$(VENV)/bin/ruff check --fix symae services tests
	$(VENV)/bin/ruff format symae services tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# what .ci/run does: format check, lint, type check, then the whole suite
check: lint typecheck test

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info .pytest_cache .mypy_cache .ruff_cache
