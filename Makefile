# The commands behind the README. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

DEMO_DIR ?= runs/demo
DEMO_ENV ?= jax:Pendulum
DEMO_STEPS ?= 12000

.PHONY: demo test bench lint clean install

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) scripts/train.py --agent sac --env $(DEMO_ENV) --total-steps $(DEMO_STEPS) --seed 0 --run-dir $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) scripts/benchmark.py sac

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) runs
