"""Fidelity against cost of every labeler on the synthetic environment (fixed seeds).

For each noise level the simulated policy writes `SAMPLES` responses to each of `PROBLEMS`
problems; every method labels the same responses with its own scheduler (fresh cache) and is
scored against `gold_first_error` (ProcessBench's F1, step accuracy) and charged what it used
(rollouts, generated tokens, backend rounds, the engine's own time per rollout).
"""

from __future__ import annotations

import random
import time

from prmlabel.backends import Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import ResponseView
from prmlabel.export.scores import first_error_scores
from prmlabel.labelers import load_labeler
from prmlabel.stages.label import DEFAULT_PROMPT
from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error
from prmlabel.synthetic.problems import make_problems
from prmlabel.text.answers import check_answer
from prmlabel.text.steps import split_steps
from tests.bench.registry import bench

PROBLEMS, SAMPLES, STEPS = 150, 4, (4, 12)
NOISE = {  # name: (slip, recovery)
    "low (slip 0.05, recovery 0.05)": (0.05, 0.05),
    "default (slip 0.1, recovery 0.2)": (0.1, 0.2),
    "high (slip 0.2, recovery 0.3)": (0.2, 0.3),
}
METHODS: dict[str, tuple[str, dict]] = {
    "mc (k=8)": ("mc", {}),
    "mc waves (k=8, wave 2)": ("mc", {"waves": 2}),
    "omegaprm binary (k=8)": ("omegaprm", {}),
    "scan (k=8)": ("scan", {"scan_unconfident": True}),  # every incorrect response, as the other methods
    "rpe (k=8, eps 0.8)": ("rpe", {}),
    "pav (k=8, BoK 4)": ("pav", {"k": 8}),
}
SAMPLING = Sampling(temperature=0.7, top_p=1.0, max_tokens=1024)


def _responses(slip: float, recovery: float) -> list[tuple[dict, list[str], bool, int]]:
    policy = SyntheticPolicy(slip_rate=slip, recovery_rate=recovery)
    rng = random.Random(7)
    out = []
    for row in make_problems(PROBLEMS, STEPS, seed=3):
        for _ in range(SAMPLES):
            text = policy.continue_text(row, "", rng)
            steps = split_steps(text)
            correct = check_answer(text, row["reference_answer"]).is_correct
            out.append((row, steps, correct, gold_first_error(row, steps)))
    return out


def label_all(method: str, params: dict, responses, slip: float, recovery: float) -> dict:
    labeler = load_labeler(method, params)
    pass_rate: dict[str, list[int]] = {}
    for row, _, correct, _ in responses:
        pass_rate.setdefault(row["problem_id"], []).append(int(correct))
    jobs = []
    for i, (row, steps, correct, _) in enumerate(responses):
        rate = sum(pass_rate[row["problem_id"]]) / len(pass_rate[row["problem_id"]])
        view = ResponseView(row["problem_id"], f"{row['problem_id']}/r{i}", tuple(steps), correct, rate)
        question = DEFAULT_PROMPT["template"].replace("{question}", row["question"])
        jobs.append(Job(question, row["reference_answer"], "math", labeler.label(view)))
    backend = SyntheticBackend(slip_rate=slip, recovery_rate=recovery)
    start = time.perf_counter()
    stats = Scheduler(backend, SAMPLING, seed=0, model_key="bench").run(jobs)
    wall = time.perf_counter() - start
    done = [(j, r) for j, r in zip(jobs, responses, strict=True) if j.result is not None]
    scores = first_error_scores(
        [j.result.first_error for j, _ in done], [r[3] for _, r in done], [j.result.hard for j, _ in done]
    )
    n = len(responses)
    return {
        "f1": scores.f1,
        "acc_err": scores.acc_error,
        "acc_ok": scores.acc_correct,
        "step_acc": scores.step_accuracy,
        "rollouts": stats.rollouts_used / n,
        "tokens": sum(j.cost.generated_tokens for j in jobs) / n,
        "rounds": stats.rounds,
        "engine_ms": 1000 * stats.engine_seconds / max(stats.rollouts_used, 1),
        "failed": n - len(done),
        "wall": wall,
    }


@bench
def bench_labelers() -> str:
    """Fidelity (ProcessBench first-error F1, step accuracy) against cost, per method and noise level."""
    lines = []
    for noise, (slip, recovery) in NOISE.items():
        responses = _responses(slip, recovery)
        n_err = sum(1 for r in responses if r[3] >= 0)
        lines += [
            f"\n### noise: {noise}; {len(responses)} responses, {n_err} with an error\n",
            "| method | F1 | acc err | acc ok | step acc | rollouts/resp | % of MC | gen tokens/resp | rounds "
            "| engine ms/rollout |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        base = None
        for name, (method, params) in METHODS.items():
            r = label_all(method, params, responses, slip, recovery)
            base = base or r["rollouts"]
            lines.append(
                f"| {name} | {100 * r['f1']:.1f} | {100 * r['acc_err']:.1f} | {100 * r['acc_ok']:.1f} "
                f"| {100 * (r['step_acc'] or 0):.1f} | {r['rollouts']:.1f} | {100 * r['rollouts'] / base:.0f}% "
                f"| {r['tokens']:.0f} | {r['rounds']} | {r['engine_ms']:.3f} |"
            )
    return "\n".join(lines)
