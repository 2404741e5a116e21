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
from prmlabel.steps import split_steps
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


@bench
def bench_llamacpp() -> str:
    """llama.cpp (SmolLM2-135M, 1 thread): MC labeling rate vs raw engine rate, and prefix reuse."""
    from prmlabel.backends.llamacpp import LlamaCppBackend

    if not GSM8K.exists():
        return "(skipped: ../shared/data/gsm8k is absent)"
    backend = LlamaCppBackend(n_threads=1)
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
    labeling_seconds = time.perf_counter() - start
    requests = recorder.requests

    start = time.perf_counter()
    raw_tokens = 0
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
            raw_tokens += out["usage"]["completion_tokens"]
    raw_seconds = time.perf_counter() - start

    shuffled = list(requests)
    random.Random(0).shuffle(shuffled)
    start = time.perf_counter()
    shuffled_tokens = sum(_tokens(backend.generate([r])) for r in shuffled)
    shuffled_seconds = time.perf_counter() - start
    backend.llm.reset()
    start = time.perf_counter()
    sorted_tokens = _tokens(backend.generate(requests))
    sorted_seconds = time.perf_counter() - start
    backend.close()

    rate = stats.generated_tokens / labeling_seconds
    raw_rate = raw_tokens / raw_seconds
    lines = [
        f"{len(jobs)} responses, {len(requests)} requests, {stats.generated_rollouts} rollouts, k={K}, "
        f"max_tokens {CONTINUE.max_tokens}",
        "",
        "| run | generated tokens | seconds | tokens/s |",
        "|---|---|---|---|",
        f"| prmlabel MC labeling (scheduler + backend) | {stats.generated_tokens} | {labeling_seconds:.1f} "
        f"| {rate:.1f} |",
        f"| raw create_completion, same prompts and seeds | {raw_tokens} | {raw_seconds:.1f} | {raw_rate:.1f} |",
        f"| backend, one batch (shared prefixes together) | {sorted_tokens} | {sorted_seconds:.1f} "
        f"| {sorted_tokens / sorted_seconds:.1f} |",
        f"| backend, shuffled, one request per call | {shuffled_tokens} | {shuffled_seconds:.1f} "
        f"| {shuffled_tokens / shuffled_seconds:.1f} |",
        "",
        f"prmlabel / raw: {100 * rate / raw_rate:.0f}%; shared-prefix order saves "
        f"{100 * (1 - sorted_seconds / shuffled_seconds):.0f}% of the shuffled time.",
    ]
    return "\n".join(lines)
