# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv tools demo test lint bench clean

venv: $(STAMP)

# torch==2.13.0 first: pip takes the CPU build from local disk, and the looser
# requirement in pyproject.toml is then already satisfied (no CUDA download).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[train,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m services.devtools.demo

# System validators the deploy/ tests call (promtool, docker-compose config), installed
# from Debian packages only when missing (apt-get update only then). kubectl comes with
# the machine: Debian's kubernetes-client (1.20) predates the kustomize features deploy/k8s
# uses (components), so a missing kubectl is reported, not replaced by it.
TOOLS := promtool:prometheus docker-compose:docker-compose

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

# failure injection against the embedded broker (docs/reliability.md); `make test` runs a subset
.PHONY: chaos
chaos: $(STAMP)
	SYMAE_CHAOS=full $(PY) -m pytest -q -s -m chaos tests/chaos

lint: $(STAMP)
	$(VENV)/bin/ruff check symae services tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
