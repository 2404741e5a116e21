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
    """One split through the `sympy` labeler (the label stage's code path: one limited call per solution).

    A *flag* is a step decided ``wrong``; a solution's first flag is its ``first_error`` when >= 0.
    precision = flagged solutions whose first flag is at or after the human first error, over all flagged
    solutions (a flag on a solution the annotators found correct, label -1, counts against it);
    step precision = the same over every flagged step. recall (flagged) = erroneous solutions with any
    flag; recall (exact) = erroneous solutions whose first flag is the human first error.
    """
    from prmlabel.labelers.sympy_verifier import SympyVerifier

    labeler = SympyVerifier()
    labeler.check(_view(["1 + 1 = 2"]))  # start the worker outside the timing
    erroneous = flagged_err = exact = 0
    flagged = flagged_ok = flagged_steps = flagged_steps_ok = correct_solutions = false_alarms = 0
    steps = checkable = written_none = written_clean = 0
    start = time.perf_counter()
    labels = [labeler.check(_view(row["steps"])) for row in rows]
    seconds = time.perf_counter() - start
    for row, lab in zip(rows, labels, strict=True):
        human = row["label"]
        steps += len(lab.hard)
        checkable += lab.extra["checked"]
        written_none += lab.first_error is None
        written_clean += lab.first_error == -1
        first = lab.first_error if lab.first_error is not None and lab.first_error >= 0 else None
        wrong_at = [t for t, h in enumerate(lab.hard) if h is False]
        flagged_steps += len(wrong_at)
        flagged_steps_ok += sum(human >= 0 and t >= human for t in wrong_at)
        if human == -1:
            correct_solutions += 1
        else:
            erroneous += 1
        if first is None:
            continue
        flagged += 1
        if human == -1:
            false_alarms += 1
            continue
        flagged_err += 1
        flagged_ok += first >= human
        exact += first == human
    return (
        f"| {split} | {len(rows)} | {erroneous} | {flagged_ok / max(flagged, 1):.3f} ({flagged_ok}/{flagged}) | "
        f"{flagged_steps_ok / max(flagged_steps, 1):.3f} ({flagged_steps_ok}/{flagged_steps}) | "
        f"{flagged_err / erroneous:.3f} ({flagged_err}) | {exact / erroneous:.3f} ({exact}) | "
        f"{false_alarms}/{correct_solutions} | {checkable / steps:.3f} | {written_clean} / {written_none} | "
        f"{steps / seconds:.0f} |"
    )


def _synthetic_row() -> str:
    from prmlabel.labelers.sympy_verifier import SympyVerifier
    from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error
    from prmlabel.synthetic.problems import make_problems
    from prmlabel.text.steps import split_steps

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
            first = labels.first_error if labels.first_error is not None else -1
            if gold >= 0:
                slips += 1
                found += first == gold
            early += first >= 0 and (gold == -1 or first < gold)
    seconds = time.perf_counter() - start
    return (
        f"| synthetic (slip 0.2, recovery 0.3) | {SYNTHETIC_PROBLEMS * SYNTHETIC_SAMPLES} | {slips} | "
        f"flags before the slip: {early} | | | found at the slip: {found}/{slips} | | 1.000 | | {steps / seconds:.0f} |"
    )


def _view(steps: list[str]):
    from prmlabel.engine.types import ResponseView

    return ResponseView("p", "r", tuple(steps), False)


@bench
def bench_sympy() -> str:
    """`sympy` step verifier against ProcessBench's human first errors. A flag is a step decided `wrong`.
    precision = flagged solutions whose first flag is at or after the human first error / all flagged
    solutions (a flag on a human-correct solution counts against it); step precision = the same per
    flagged step; recall (flagged) = erroneous solutions with any flag / erroneous; recall (exact) =
    erroneous solutions whose first flag is the human first error / erroneous; false alarms = flagged
    human-correct solutions; checked = steps decided; -1 / null = solutions written first_error -1 (every
    step decided right) / null (nothing wrong, something undecided); steps/s on one worker core."""
    lines = [
        "| split | solutions | erroneous | precision | step precision | recall (flagged) | recall (exact) "
        "| false alarms | checked steps | -1 / null | steps/s/core |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for split in ("gsm8k", "math"):
        path = PROCESSBENCH / f"{split}.json"
        if path.exists():
            lines.append(_processbench_row(split, json.loads(path.read_text())))
    lines.append(_synthetic_row())
    return "\n".join(lines)
