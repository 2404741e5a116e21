"""The openai backend against a real OpenAI-compatible server: llama-cpp-python's, on the bundled GGUF.

The server is started by the ``llama_server`` fixture (conftest.py). Small stdlib HTTP servers made
here stand in where a test is about the HTTP behaviour itself: headers, fault injection, retries.
Tests that need llama-cpp-python skip without it (CI makes them fail instead); the stdlib ones run
everywhere.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from prmlabel.backends import load_backend
from prmlabel.backends.base import GenerationRequest, GenerationResult, Sampling
from prmlabel.backends.errors import BackendConfigError, BackendError
from prmlabel.backends.openai_compat import OpenAIBackend

from .conftest import LlamaServer, Reply, free_port

# llama.cpp's servers sample with top_k=40, min_p=0.05 and (llama-cpp-python's) repeat_penalty=1.1
# unless told otherwise; prmlabel's llamacpp backend, like vLLM, samples with temperature and top_p
# only. These fields make the server sample the same way.
NEUTRAL_SAMPLERS = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}


def req(
    question: str = "What is 17 + 25?",
    prefix: str = "17 + 25 =",
    k: int = 1,
    seed: int = 7,
    temperature: float = 0.8,
    max_tokens: int = 24,
    system: str | None = None,
) -> GenerationRequest:
    return GenerationRequest(question, prefix, k, Sampling(temperature, 1.0, max_tokens, ()), seed, system)


def texts(results: list[GenerationResult]) -> list[list[str]]:
    return [[c.text for c in r.completions] for r in results]


# -- stdlib stand-in servers (StubServer, in conftest.py) ----------------------------------------------


def fake_openai(method: str, path: str, raw: bytes) -> Reply:
    """A canned OpenAI-compatible answer, echoing the seed so tests can see which one was sent."""
    if path.endswith("/models"):
        return 200, {"object": "list", "data": [{"id": "stub-model", "owned_by": "stub"}]}
    body = json.loads(raw)
    usage = {"prompt_tokens": 3, "completion_tokens": 2}
    if path.endswith("/chat/completions"):
        choice = {"message": {"role": "assistant", "content": f"seed {body['seed']}"}, "finish_reason": "stop"}
    else:
        choice = {"text": f"seed {body['seed']}", "finish_reason": "length"}
    return 200, {"choices": [choice], "usage": usage}


def forward(base_url: str, method: str, path: str, raw: bytes) -> Reply:
    """Pass a request through to the real server (the proxy's "healthy" answer)."""
    url = base_url.removesuffix("/v1") + path
    request = urllib.request.Request(url, data=raw or None, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as resp:
        return resp.status, resp.read()


# -- without a model: HTTP behaviour ----------------------------------------------------------------------


def test_base_url_is_required() -> None:
    with pytest.raises(BackendConfigError, match="base_url"):
        load_backend("openai", model="m")


def test_bad_mode_is_rejected() -> None:
    with pytest.raises(BackendConfigError, match="mode"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", mode="bogus")


def test_api_key_is_sent_as_bearer_from_the_environment(stub, monkeypatch: pytest.MonkeyPatch) -> None:
    server = stub(fake_openai)
    monkeypatch.setenv("PRMLABEL_TEST_KEY", "sk-test-123")
    backend = OpenAIBackend(base_url=server.base_url, api_key_env="PRMLABEL_TEST_KEY", chat_template="chatml")
    try:
        [result] = backend.generate([req(k=2, seed=50)])
    finally:
        backend.close()
    assert [c.text for c in result.completions] == ["seed 50", "seed 51"]  # one request per completion
    assert result.completions[0].finish_reason == "length"
    assert server.seen and all(s["headers"].get("Authorization") == "Bearer sk-test-123" for s in server.seen)
    assert backend.provenance() == {
        "backend": "openai",
        "model": "stub-model",  # the server's only model, since none was configured
        "model_hash": "",
        "backend_version": "openai-compatible stub",
    }


def test_no_key_no_authorization_header(stub, monkeypatch: pytest.MonkeyPatch) -> None:
    server = stub(fake_openai)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = OpenAIBackend(base_url=server.base_url, model="m", chat_template="chatml")
    backend.generate([req()])
    backend.close()
    assert all("Authorization" not in s["headers"] for s in server.seen)


def test_completions_body(stub) -> None:
    server = stub(fake_openai)
    backend = OpenAIBackend(base_url=server.base_url, model="m", chat_template="chatml", extra_body={"top_k": 0})
    request = GenerationRequest("Q?", "Step 1:", 1, Sampling(0.5, 0.9, 17, ("\n\n",)), 99, "Sys.")
    backend.generate([request])
    backend.close()
    body = json.loads(server.posts()[0]["raw"])
    assert server.posts()[0]["path"] == "/v1/completions"
    assert body == {
        "model": "m",
        "prompt": "<|im_start|>system\nSys.<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\nStep 1:",
        "max_tokens": 17,
        "temperature": 0.5,
        "top_p": 0.9,
        "seed": 99,
        "n": 1,
        "stop": ["\n\n"],
        "top_k": 0,
    }


def test_chat_mode_sends_the_prefix_as_a_final_assistant_message(stub) -> None:
    server = stub(fake_openai)
    backend = OpenAIBackend(base_url=server.base_url, model="m", mode="chat")
    [with_prefix, without] = backend.generate([req(prefix="Step 1:"), req(prefix="")])
    backend.close()
    assert with_prefix.completions[0].text == "seed 7"
    bodies = sorted((json.loads(s["raw"]) for s in server.posts()), key=lambda b: len(b["messages"]))
    assert all(s["path"] == "/v1/chat/completions" for s in server.posts())
    assert bodies[1]["messages"][-1] == {"role": "assistant", "content": "Step 1:"}
    assert bodies[1]["continue_final_message"] is True and bodies[1]["add_generation_prompt"] is False
    # No prefix: a fresh answer (an empty assistant message would be closed as a finished turn).
    assert bodies[0]["messages"] == [{"role": "user", "content": "What is 17 + 25?"}]
    assert "continue_final_message" not in bodies[0]


def test_always_500_raises_backend_error_naming_the_url(stub) -> None:
    server = stub(
        lambda method, path, raw: fake_openai(method, path, raw) if method == "GET" else (500, "engine fell over")
    )
    backend = OpenAIBackend(
        base_url=server.base_url, model="m", chat_template="chatml", max_retries=3, backoff=0.01, max_backoff=0.05
    )
    started = time.monotonic()
    with pytest.raises(BackendError) as info:
        backend.generate([req()])
    backend.close()
    message = str(info.value)
    assert f"{server.base_url}/completions" in message
    assert "HTTP 500" in message and "engine fell over" in message and "4 attempts" in message
    assert "server is running" in message  # says what to do
    assert len(server.posts()) == 4  # the first try and 3 retries: bounded
    assert time.monotonic() - started < 10


def test_a_named_model_needs_no_models_endpoint(stub) -> None:
    server = stub(
        lambda method, path, raw: (
            (404, {"error": "no such route"}) if method == "GET" else fake_openai(method, path, raw)
        )
    )
    backend = OpenAIBackend(base_url=server.base_url, model="named", chat_template="chatml")
    [result] = backend.generate([req(seed=3)])
    backend.close()
    assert result.completions[0].text == "seed 3"
    assert backend.provenance()["model"] == "named" and backend.provenance()["backend_version"] == "openai-compatible"


def test_one_failed_request_ends_the_batch_at_once(stub) -> None:
    """The other requests of the batch stop retrying too, instead of each using up its own budget."""

    def respond(method: str, path: str, raw: bytes) -> Reply:
        if method == "GET":
            return fake_openai(method, path, raw)
        return (400, "bad request") if json.loads(raw)["seed"] == 0 else (503, "overloaded")

    server = stub(respond)
    backend = OpenAIBackend(
        base_url=server.base_url, model="m", chat_template="chatml", concurrency=4, max_retries=1000, backoff=0.05
    )
    started = time.monotonic()
    with pytest.raises(BackendError, match="HTTP 400"):
        backend.generate([req(seed=s) for s in range(4)])
    assert time.monotonic() - started < 5
    time.sleep(0.3)
    posts = len(server.posts())
    time.sleep(0.5)
    assert len(server.posts()) == posts, "no request goes on retrying after the batch failed"
    backend.close()


def test_client_errors_are_not_retried(stub) -> None:
    server = stub(lambda method, path, raw: (401, {"error": "bad key"}))
    backend = OpenAIBackend(base_url=server.base_url, model="m", chat_template="chatml", backoff=0.01)
    with pytest.raises(BackendError, match="HTTP 401.*OPENAI_API_KEY"):
        backend.generate([req()])
    backend.close()
    assert len(server.posts()) == 1


def test_connection_refused_is_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    backend = OpenAIBackend(base_url=url, model="m", chat_template="chatml", max_retries=2, backoff=0.01)
    with pytest.raises(BackendError, match=r"(?s)refused.*server is running"):
        backend.generate([req()])
    backend.close()


# -- against llama-cpp-python's server --------------------------------------------------------------------


# ``embedded`` (the in-process llamacpp backend) and ``template_file`` come from conftest.py.


def api(server_url: str, **options: Any) -> OpenAIBackend:
    options.setdefault("extra_body", NEUTRAL_SAMPLERS)
    return OpenAIBackend(base_url=server_url, **options)


def test_completions_mode_against_llama_server(llama_server: LlamaServer, template_file: Path, embedded) -> None:
    backend = api(llama_server.base_url, chat_template=str(template_file))
    try:
        request = req(k=2)
        assert backend.render_prompt(request) == embedded.render_prompt(request)
        [result] = backend.generate([request])
    finally:
        backend.close()
    assert len(result.completions) == 2
    for c in result.completions:
        assert c.text.strip() and c.finish_reason in ("stop", "length")
        assert c.prompt_tokens > 0 and 0 < c.completion_tokens <= 24
    prov = backend.provenance()
    assert prov["model"] == str(llama_server.gguf) and prov["backend_version"] == "openai-compatible me"


def test_chat_mode_against_llama_server(llama_server: LlamaServer, embedded) -> None:
    """llama-cpp-python's server answers chat mode but closes the prefix as a finished turn (docs/backends.md).

    This pins down that documented behaviour: if a later llama-cpp-python honours
    continue_final_message, the prompt-token count changes and this test says so.
    """
    backend = api(llama_server.base_url, mode="chat")
    fresh_request, prefixed_request = req(prefix="", max_tokens=16), req(max_tokens=16)
    try:
        fresh, prefixed = backend.generate([fresh_request, prefixed_request])
    finally:
        backend.close()
    for result in (fresh, prefixed):
        assert result.completions[0].text.strip() and result.completions[0].completion_tokens <= 16
    count = lambda text: len(embedded.llm.tokenize(text.encode(), special=True))  # noqa: E731
    assert fresh.completions[0].prompt_tokens == count(embedded.render_prompt(fresh_request))
    closed_turn = embedded.render_prompt(prefixed_request) + "<|im_end|>\n<|im_start|>assistant\n"
    assert prefixed.completions[0].prompt_tokens == count(closed_turn)


def forget_prompt(server: LlamaServer) -> None:
    """Make the server evaluate the next prompt from its first token.

    llama.cpp's server keeps the tokens of the last request and evaluates only what a new prompt adds
    to their common start; its kernels are not batch-invariant, so the same prompt can come out with
    slightly different logits after a different request. A request whose first token no chat-template
    prompt shares leaves nothing to reuse, so what follows starts from the same state every time.
    """
    body = json.dumps({"prompt": "Reset.", "max_tokens": 1, "temperature": 0.0, "seed": 0}).encode()
    request = urllib.request.Request(f"{server.base_url}/completions", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as resp:
        assert resp.status == 200


def test_same_request_and_seed_give_the_same_text(
    stub, llama_server: LlamaServer, template_file: Path, embedded
) -> None:
    """What an OpenAI-compatible server guarantees, and what prmlabel sends it.

    The same requests with the same seeds to the same server (from the same state) sample the same
    text; a request for k completions is k requests with seeds seed, seed+1, ... (n=1 each), and
    those seeds sample different text; completions mode sends the prefix as the end of the prompt
    and the server reads all of it. The text is not compared with another engine's: llama.cpp's
    server and the embedded engine compute the logits with different rounding (docs/backends.md).
    """
    proxy = stub(lambda method, path, raw: forward(llama_server.base_url, method, path, raw))
    poem = req(question="Write a short poem about the sea.", prefix="", k=2, seed=11, temperature=1.0)
    batch = [poem, req(k=1, seed=321), req(question="Name a color.", prefix="", seed=8, system="Be brief.")]
    backend = api(proxy.base_url, chat_template=str(template_file), concurrency=1)
    try:
        forget_prompt(llama_server)
        first = backend.generate(batch)
        forget_prompt(llama_server)
        again = backend.generate(batch)
    finally:
        backend.close()
    assert texts(first) == texts(again)
    assert all(c.text.strip() for r in first for c in r.completions)
    assert first[0].completions[0].text != first[0].completions[1].text  # 24 tokens of a poem, two seeds

    bodies = [json.loads(s["raw"]) for s in proxy.posts()]
    assert len(bodies) == 2 * 4 and all(b["n"] == 1 for b in bodies)  # one request per completion, twice
    prompts = [backend.render_prompt(r) for r in batch]
    by_seed = {b["seed"]: b["prompt"] for b in bodies}
    assert by_seed == {11: prompts[0], 12: prompts[0], 321: prompts[1], 8: prompts[2]}
    assert prompts[1].endswith("<|im_start|>assistant\n17 + 25 =")  # the prefix is continued, not a new turn
    count = lambda text: len(embedded.llm.tokenize(text.encode(), special=True))  # noqa: E731
    assert [r.completions[0].prompt_tokens for r in first] == [count(p) for p in prompts]
    # The built-in ChatML renders what SmolLM2's own template renders when a system message is given.
    chatml = api(llama_server.base_url, chat_template="chatml")
    try:
        assert chatml.render_prompt(batch[2]) == prompts[2]
    finally:
        chatml.close()


def test_retries_through_500_and_429(stub, llama_server: LlamaServer, caplog: pytest.LogCaptureFixture) -> None:
    script = iter([(500, {"error": "boom"}), (429, {"error": "slow down"})])
    lock = threading.Lock()

    def flaky(method: str, path: str, raw: bytes) -> Reply:
        if path.endswith("/completions"):
            with lock:
                scripted = next(script, None)
            if scripted is not None:
                return scripted
        return forward(llama_server.base_url, method, path, raw)

    proxy = stub(flaky)
    request = req(temperature=0.0, max_tokens=12)
    through_proxy = api(proxy.base_url, chat_template="chatml", backoff=0.05, max_backoff=0.2)
    direct = api(llama_server.base_url, chat_template="chatml")
    try:
        forget_prompt(llama_server)  # both evaluate the prompt from the same state: the same greedy text
        with caplog.at_level(logging.WARNING, logger="prmlabel.backends.openai_compat"):
            [result] = through_proxy.generate([request])
        forget_prompt(llama_server)
        assert texts([result]) == texts(direct.generate([request]))
    finally:
        through_proxy.close()
        direct.close()
    assert len(proxy.posts()) == 3  # 500, 429, then the real answer
    assert "HTTP 500" in caplog.text and "HTTP 429" in caplog.text


def test_survives_a_server_restart_mid_run(llama_server: LlamaServer, caplog: pytest.LogCaptureFixture) -> None:
    """Kill the server while a batch is in flight, start it again on the same port: the batch completes."""
    batch = [
        req(question=f"Write a poem about the number {n}.", prefix="", seed=n, temperature=0.0, max_tokens=32)
        for n in range(12)
    ]
    # ~10 s of retries: plenty for a 1.5 s outage and a restart.
    backend = api(
        llama_server.base_url, chat_template="chatml", concurrency=2, backoff=0.2, max_backoff=2.0, max_retries=10
    )
    backend.generate(batch[:1])  # settles the model id before the outage
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["results"] = backend.generate(batch)
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    try:
        with caplog.at_level(logging.WARNING, logger="prmlabel.backends.openai_compat"):
            worker.start()
            time.sleep(0.8)
            assert worker.is_alive(), "the batch finished before the restart; make it longer"
            llama_server.stop(hard=True)  # a crash: in-flight requests are cut
            time.sleep(1.5)
            llama_server.start(wait=False)
            worker.join(timeout=120)
        assert not worker.is_alive()
        assert "error" not in outcome, outcome.get("error")
    finally:
        llama_server.wait_ready()  # leave the session's server running for the other tests
        backend.close()
    results = outcome["results"]
    assert len(results) == len(batch) and all(len(r.completions) == 1 for r in results)
    for r in results:  # each one a whole answer (the text itself depends on what the server served before)
        c = r.completions[0]
        assert c.text.strip() and c.finish_reason in ("stop", "length") and 0 < c.completion_tokens <= 32
    assert "retry" in caplog.text  # the outage was seen and retried


def test_judge_labeler_against_llama_server(llama_server: LlamaServer, template_file: Path) -> None:
    """The judge on an OpenAI-compatible server: the critique is kept and read, or marked unparseable."""
    from tests.labelers.driver import judge_on

    backend = api(llama_server.base_url, chat_template=str(template_file))
    try:
        labels, cost = judge_on(backend, max_tokens=32)
    finally:
        backend.close()
    assert labels.extra["rationales"][0].strip()
    assert labels.extra["verdict"] in ("error", "no_error", "unparseable")
    assert (labels.first_error is None) == (labels.extra["verdict"] == "unparseable")
    assert cost.rollouts == 1 and 0 < cost.generated_tokens <= 32
