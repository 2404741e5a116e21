"""ProcessBench's scores of predicted first errors against gold ones, per split and averaged, plus
step-level precision and recall of finding the wrong step.

Sample level (Zheng et al., 2024, via :mod:`prmlabel.export.scores`): accuracy on erroneous samples
(predicted first error == gold), accuracy on correct samples (predicted -1), F1 = their harmonic
mean; the average over splits is the mean of each split's numbers, as ProcessBench reports it. An
unknown prediction (null) is wrong on both kinds of sample.

Step level, positive class = a wrong step: only steps whose truth is defined count (steps up to
and including the gold first error; every step of a correct sample). A step is predicted wrong when
its hard label is false, or, for predictions with a first error only, when it is the predicted
first error. Precision = wrong steps found / steps predicted wrong; recall = found / gold wrong.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass

from prmlabel.evaluate.items import GoldItem, PredItem
from prmlabel.export.scores import first_error_scores

UNKNOWN = sys.maxsize  # an unknown prediction: equal to no gold label and not "-1 = no error"


@dataclass
class SplitScores:
    split: str
    n_gold: int
    n_matched: int
    n_error: int
    n_correct: int
    acc_error: float
    acc_correct: float
    f1: float
    step_precision: float | None
    step_recall: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def match(gold: list[GoldItem], preds: list[PredItem]) -> list[tuple[GoldItem, PredItem]]:
    """Pairs by id (a prediction's problem_id, response_id or file id equal to the gold id) when the
    id names one prediction, else by question and steps; gold items without a prediction are left out."""
    by_id: dict[str, list[PredItem]] = {}
    by_key: dict[str, PredItem] = {}
    for p in preds:
        for i in set(p.ids):
            by_id.setdefault(i, []).append(p)
        if p.key is not None:
            by_key.setdefault(p.key, p)
    pairs = []
    for g in gold:
        found = by_id.get(g.id, []) if g.id is not None else []
        pred = found[0] if len(found) == 1 else by_key.get(g.key)
        if pred is not None:
            pairs.append((g, pred))
    return pairs


def _predicted_wrong(pred: PredItem, t: int) -> bool:
    if pred.hard is not None:
        return t < len(pred.hard) and pred.hard[t] is False
    return pred.first_error is not None and t == pred.first_error


def step_scores(pairs: list[tuple[GoldItem, PredItem]]) -> tuple[float | None, float | None]:
    found = predicted = gold_wrong = 0
    for g, p in pairs:
        last = g.first_error if g.first_error >= 0 else len(g.steps) - 1
        for t in range(last + 1):
            truth_wrong = t == g.first_error
            said_wrong = _predicted_wrong(p, t)
            found += truth_wrong and said_wrong
            predicted += said_wrong
            gold_wrong += truth_wrong
    precision = found / predicted if predicted else None
    recall = found / gold_wrong if gold_wrong else None
    return precision, recall


def score_split(split: str, gold: list[GoldItem], preds: list[PredItem]) -> SplitScores:
    pairs = match(gold, preds)
    predicted = [UNKNOWN if p.first_error is None else p.first_error for _, p in pairs]
    scores = first_error_scores(predicted, [g.first_error for g, _ in pairs])
    precision, recall = step_scores(pairs)
    return SplitScores(
        split=split,
        n_gold=len(gold),
        n_matched=len(pairs),
        n_error=scores.n_error,
        n_correct=scores.n_correct,
        acc_error=scores.acc_error,
        acc_correct=scores.acc_correct,
        f1=scores.f1,
        step_precision=precision,
        step_recall=recall,
    )


def average(splits: list[SplitScores]) -> SplitScores:
    """ProcessBench's average: the mean over splits of each number (not pooled over samples); a split
    with no matched prediction has no scores and is left out of the mean (its gold rows still count)."""
    scored = [s for s in splits if s.n_matched]

    def mean(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if known else None

    acc_error = mean([s.acc_error for s in scored]) or 0.0
    acc_correct = mean([s.acc_correct for s in scored]) or 0.0
    return SplitScores(
        split="average",
        n_gold=sum(s.n_gold for s in splits),
        n_matched=sum(s.n_matched for s in splits),
        n_error=sum(s.n_error for s in splits),
        n_correct=sum(s.n_correct for s in splits),
        acc_error=acc_error,
        acc_correct=acc_correct,
        f1=mean([s.f1 for s in scored]) or 0.0,
        step_precision=mean([s.step_precision for s in scored]),
        step_recall=mean([s.step_recall for s in scored]),
    )
