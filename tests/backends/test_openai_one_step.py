"""One-step requests through the openai backend: each request's own stop strings, and ``stop_reason``.

Against the real server (llama-cpp-python's, on the bundled GGUF, started by the ``llama_server``
fixture in conftest.py) a one-step request ends at the step delimiter; that server does not say
whether a stop string or the end-of-turn token ended a choice, so ``stop_reason`` stays None. vLLM's
server does say (its ``stop_reason`` field); stdlib stand-in servers answer as it does, to test how the
field is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prmlabel.backends.base import GenerationRequest, Sampling
from prmlabel.backends.openai_compat import OpenAIBackend

from .conftest import LlamaServer, Reply

DELIMITER = "\n\n"
# llama.cpp's servers sample with extra samplers and a repeat penalty unless told otherwise (test_openai.py).
NEUTRAL_SAMPLERS = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}
STEP_QUESTION = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether? Write each step as its own paragraph."
)
STEP_PREFIX = "Step 1: In April, Natalia sold 48 clips.\n\n"


def one_step(stop: tuple[str, ...] = (DELIMITER,), max_tokens: int = 60, k: int = 1) -> GenerationRequest:
    """Greedy, so a one-step request and the rollout of the same prompt share their tokens."""
    return GenerationRequest(STEP_QUESTION, STEP_PREFIX, k, Sampling(0.0, 1.0, max_tokens, stop), 7)


def test_one_step_against_llama_server(llama_server: LlamaServer, template_file: Path) -> None:
    backend = OpenAIBackend(
        base_url=llama_server.base_url, chat_template=str(template_file), extra_body=NEUTRAL_SAMPLERS
    )
    try:
        step, rollout = backend.generate([one_step(), one_step(())])
    finally:
        backend.close()
    s, r = step.completions[0], rollout.completions[0]
    assert s.text.strip() and DELIMITER not in s.text and s.finish_reason == "stop"
    assert 0 < s.completion_tokens < 60
    # The other request of the batch had no stop string: it ran on through the delimiter.
    assert r.text.startswith(s.text + DELIMITER) and len(r.text) > len(s.text) + len(DELIMITER)
    # llama-cpp-python's server sends no stop_reason: a stop string and EOS look the same, so None.
    assert s.stop_reason is None and r.stop_reason is None


def vllm_like(choices: list[dict[str, Any]]) -> Any:
    """A server answering as ``vllm serve`` does, the n-th completion request with ``choices[n]``."""
    seen: list[dict[str, Any]] = []

    def respond(method: str, path: str, raw: bytes) -> Reply:
        if path.endswith("/models"):
            return 200, {"object": "list", "data": [{"id": "m", "owned_by": "vllm"}]}
        seen.append(json.loads(raw))
        choice = {"index": 0, "text": "Step 2: 24 clips.", "logprobs": None, **choices[len(seen) - 1]}
        return 200, {"choices": [choice], "usage": {"prompt_tokens": 9, "completion_tokens": 6}}

    return respond, seen


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"finish_reason": "stop", "stop_reason": DELIMITER}, DELIMITER),
        ({"finish_reason": "stop", "stop_reason": None}, "eos"),  # vLLM: null = the EOS token
        ({"finish_reason": "stop", "stop_reason": 128009}, "eos"),  # an end token from generation_config
        ({"finish_reason": "length", "stop_reason": None}, None),
        ({"finish_reason": "stop"}, None),  # a server without the field cannot tell
    ],
)
def test_vllm_stop_reason_field(stub, choice: dict[str, Any], expected: str | None) -> None:
    respond, _ = vllm_like([choice])
    server = stub(respond)
    backend = OpenAIBackend(base_url=server.base_url, chat_template="chatml", max_retries=0)
    try:
        [c] = backend.generate([one_step()])[0].completions
    finally:
        backend.close()
    assert c.stop_reason == expected and c.finish_reason == choice["finish_reason"]


def test_a_stop_token_the_caller_asked_for_is_not_eos(stub) -> None:
    respond, seen = vllm_like([{"finish_reason": "stop", "stop_reason": 13}])
    server = stub(respond)
    backend = OpenAIBackend(base_url=server.base_url, chat_template="chatml", extra_body={"stop_token_ids": [13]})
    try:
        [c] = backend.generate([one_step()])[0].completions
    finally:
        backend.close()
    assert seen[0]["stop_token_ids"] == [13] and c.stop_reason is None


def test_each_request_sends_its_own_stop_list(stub) -> None:
    respond, seen = vllm_like([{"finish_reason": "stop", "stop_reason": None}] * 3)
    server = stub(respond)
    backend = OpenAIBackend(base_url=server.base_url, chat_template="chatml", concurrency=1)
    try:
        backend.generate([one_step(k=2), one_step(())])
    finally:
        backend.close()
    stops = sorted(str(body.get("stop")) for body in seen)
    assert stops == ["None", str([DELIMITER]), str([DELIMITER])]
