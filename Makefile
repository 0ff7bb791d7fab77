# Two commands do everything: `make run` and `make test` (see README).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_MODEL := .spacy/nb_lemma
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
# No telemetry or crash reports leave the machine (Rasa would send them to its servers).
export RASA_TELEMETRY_ENABLED := false

.PHONY: setup train run shell cluster test check validate test-stories pytest bench bench-load clean

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || "$$(scripts/find_python310.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.2" "setuptools==70.3.0" "wheel==0.45.1"
	$(PY) -m pip install --quiet --no-deps -r requirements.lock
	$(PY) -m pip check
	@touch $@

$(SPACY_MODEL)/config.cfg: $(VENV)/.installed scripts/build_spacy_nb.py
	$(PY) scripts/build_spacy_nb.py $(SPACY_MODEL)

setup: $(VENV)/.installed $(SPACY_MODEL)/config.cfg

train: setup
	$(PY) scripts/train_if_stale.py

run: train
	$(PY) -m ops.launcher

shell: train
	$(PY) -m ops.launcher --shell

# nginx + 2 gateways + 2 Rasa servers + 2 action servers on PostgreSQL and Redis (README: Running at scale)
cluster: train
	scripts/ensure_services.sh
	$(PY) -m ops.cluster

validate: setup
	$(PY) scripts/validate_data.py

test-stories: train
	$(RASA) test core --model models/current.tar.gz --stories tests/test_stories.yml \
		--e2e --fail-on-prediction-errors --out results/core

pytest: train
	scripts/ensure_services.sh
	$(PY) -m pytest tests

test: validate train test-stories pytest

# The fast loop: lint, format and types (pyproject.toml), then every test that needs no trained
# model and no servers (no training).
check: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -m unit tests

bench: train
	$(PY) bench/nlu_benchmark.py

bench-load: train
	scripts/ensure_services.sh
	$(PY) bench/load_benchmark.py

clean:
	rm -rf models results var .spacy
