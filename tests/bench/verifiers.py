"""Step verifiers against human labels (ProcessBench) and against the simulator's known slips."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from tests.bench.registry import bench

PROCESSBENCH = Path(__file__).resolve().parents[3] / "shared" / "data" / "processbench"
SYNTHETIC_PROBLEMS, SYNTHETIC_SAMPLES = 300, 2


def _processbench_row(split: str, rows: list[dict]) -> str:
    from prmlabel.verifiers.math_claims import UNVERIFIABLE, WRONG, verify_steps

    verify_steps(["1 + 1 = 2"])  # start the worker outside the timing
    erroneous = flagged = flagged_ok = exact = correct_solutions = false_alarms = 0
    steps = checkable = 0
    start = time.perf_counter()
    verdicts = [verify_steps(row["steps"]) for row in rows]  # one limited worker call per solution
    seconds = time.perf_counter() - start
    for row, vs in zip(rows, verdicts, strict=True):
        steps += len(vs)
        checkable += sum(v.verdict != UNVERIFIABLE for v in vs)
        first = next((i for i, v in enumerate(vs) if v.verdict == WRONG), -1)
        if row["label"] == -1:
            correct_solutions += 1
            false_alarms += first >= 0
            continue
        erroneous += 1
        if first >= 0:
            flagged += 1
            flagged_ok += first >= row["label"]
            exact += first == row["label"]
    return (
        f"| {split} | {len(rows)} | {erroneous} | {flagged / erroneous:.3f} ({flagged}) | "
        f"{flagged_ok / max(flagged, 1):.3f} | {exact / erroneous:.3f} | "
        f"{false_alarms / max(correct_solutions, 1):.3f} ({false_alarms}/{correct_solutions}) | "
        f"{checkable / steps:.3f} | {steps / seconds:.0f} |"
    )


def _synthetic_row() -> str:
    from prmlabel.labelers.sympy_verifier import SympyVerifier
    from prmlabel.steps import split_steps
    from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error
    from prmlabel.synthetic.problems import make_problems

    policy = SyntheticPolicy(slip_rate=0.2, recovery_rate=0.3)
    rng = random.Random(3)
    labeler = SympyVerifier()
    slips = found = early = 0
    steps = 0
    start = time.perf_counter()
    for row in make_problems(SYNTHETIC_PROBLEMS, (4, 12), seed=7):
        for _ in range(SYNTHETIC_SAMPLES):
            response = split_steps(policy.continue_text(row, "", rng))
            gold = gold_first_error(row, response)
            labels = labeler.check(_view(response))
            steps += len(response)
            if gold >= 0:
                slips += 1
                found += labels.first_error == gold
            early += labels.first_error >= 0 and (gold == -1 or labels.first_error < gold)
    seconds = time.perf_counter() - start
    return (
        f"| synthetic (slip 0.2, recovery 0.3) | {SYNTHETIC_PROBLEMS * SYNTHETIC_SAMPLES} | {slips} | "
        f"found at the slip: {found}/{slips} | flags before the slip: {early} | | | 1.000 | {steps / seconds:.0f} |"
    )


def _view(steps: list[str]):
    from prmlabel.engine.types import ResponseView

    return ResponseView("p", "r", tuple(steps), False)


@bench
def bench_sympy() -> str:
    """`sympy` step verifier. recall = erroneous solutions with any `wrong` step; precision = flagged
    erroneous solutions whose first `wrong` step is at or after the human first error; exact = first
    `wrong` step == human label; false alarms = correct solutions (label -1) with a `wrong` step;
    checkable = steps not `unverifiable`; steps/s on one worker core, one limited call per solution."""
    lines = [
        "| split | solutions | erroneous | recall (flagged) | precision | exact | false alarms on correct "
        "| checkable steps | steps/s/core |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split in ("gsm8k", "math"):
        path = PROCESSBENCH / f"{split}.json"
        if path.exists():
            lines.append(_processbench_row(split, json.loads(path.read_text())))
    lines.append(_synthetic_row())
    return "\n".join(lines)
