# prmlabel: `make demo` and `make test` set up everything they need in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEMO := runs/demo

.PHONY: install demo test bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(BIN)/prmlabel synthetic problems --count 50 --steps 4-8 --seed 0 -o $(DEMO)/problems.jsonl
	$(BIN)/prmlabel generate -i $(DEMO)/problems.jsonl -o $(DEMO)/rollouts --backend synthetic \
		--samples 8 --num-shards 4 --seed 0
	$(PY) -c "import duckdb; print(duckdb.sql(\"SELECT is_correct, count(*) AS n FROM '$(DEMO)/rollouts/*.parquet' GROUP BY 1 ORDER BY 1\"))"

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m tests.bench.run

lint: install
	$(BIN)/ruff check prmlabel tests
	$(BIN)/ruff format --check prmlabel tests

clean:
	rm -rf $(VENV) runs .pytest_cache
