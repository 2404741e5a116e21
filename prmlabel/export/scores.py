"""Scoring labels against gold first errors, as ProcessBench defines it.

ProcessBench (Zheng et al., 2024): a sample's label is the index of its earliest wrong step, -1 if
all steps are right. Accuracy on erroneous samples = share of samples with gold >= 0 whose
predicted first error equals the gold one; accuracy on correct samples = share of samples with
gold = -1 predicted -1; F1 = their harmonic mean. Step accuracy here scores hard step labels on the
steps whose truth is defined (every step up to and including the gold first error; all steps of a
correct sample); an unknown (null) prediction counts as wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FirstErrorScores:
    n_error: int
    n_correct: int
    acc_error: float
    acc_correct: float
    f1: float
    step_accuracy: float | None = None


def harmonic_mean(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b > 0 else 0.0


def first_error_scores(
    predicted: Sequence[int], gold: Sequence[int], hard: Sequence[Sequence[bool | None]] | None = None
) -> FirstErrorScores:
    """ProcessBench's scores of predicted first errors (and, given hard labels, step accuracy)."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold labels")
    err = [(p, g) for p, g in zip(predicted, gold, strict=True) if g >= 0]
    ok = [(p, g) for p, g in zip(predicted, gold, strict=True) if g < 0]
    acc_error = sum(p == g for p, g in err) / len(err) if err else 0.0
    acc_correct = sum(p < 0 for p, _ in ok) / len(ok) if ok else 0.0
    step_acc = None
    if hard is not None:
        right = total = 0
        for labels, g in zip(hard, gold, strict=True):
            last = g if g >= 0 else len(labels) - 1
            for t in range(min(last + 1, len(labels))):
                truth = g < 0 or t < g
                total += 1
                right += labels[t] is not None and labels[t] == truth
        step_acc = right / total if total else None
    return FirstErrorScores(len(err), len(ok), acc_error, acc_correct, harmonic_mean(acc_error, acc_correct), step_acc)
