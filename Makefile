# Set-up and the two everyday jobs. `make report` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup report test quick-test generate bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	bash .ci/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Grade the bundled reference solutions: reports/solutions/report.html
report: setup
	$(VENV)/bin/grader grade solutions

# The whole suite, slow tests included (pytest exit code 5, "no tests ran", is a failure).
test: setup
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

# What a developer runs while working: everything but training and whole-submission grading.
quick-test: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# Every benchmark of docs/BENCHMARKS.md (~20 min; BENCH_ARGS=--quick for a smoke run).
bench: setup
	$(PY) bench/run_all.py $(BENCH_ARGS)

generate: setup
	$(VENV)/bin/grader generate

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
