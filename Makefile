# NetStudio: set-up, run, test, benchmarks and screenshots.
VENV ?= .venv
PY := $(VENV)/bin/python
EXAMPLE ?= resources/examples/mlp.netstudio

.PHONY: setup run summary test test-engine bench screenshots clean mutation

setup:
	@bash scripts/qt-deps.sh
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/netstudio resources/examples/mlp.netstudio

summary: setup
	$(VENV)/bin/netstudio summary $(EXAMPLE)

test: setup
	@bash scripts/run-tests.sh

test-engine: setup
	$(PY) -m pytest -q tests/engine

bench: setup
	@bash scripts/run-benchmarks.sh

# Mutation testing (issue #9): the score per module, and the mistakes no test notices.
# MUTATION_ARGS="--only netstudio/init --sample 300 --seed 9" narrows it; see scripts/mutation.py.
mutation: setup
	QT_QPA_PLATFORM=offscreen $(PY) scripts/mutation.py $(MUTATION_ARGS)

screenshots: setup
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m ui.shell.screenshots docs/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
