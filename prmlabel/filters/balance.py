"""Balancing: subsample the larger class so positives and negatives stand at a given ratio.

SCAN (arXiv 2509.16548; yyDing1/SCAN-PRM ``dataset/SCAN-Base/process.py:76-77``) balances whole
responses 1:1 by random subsampling: correct responses (all steps 1) against incorrect ones (a 0 at
the first error). This filter does the same for any labels: a response is **negative** when one of
its final labels is 0 (a step decided wrong), **positive** when every final label is decided and
none is 0, and **undecided** otherwise (no step decided wrong, some step not decided). An undecided
response is counted as neither class: it is dropped as ``<prefix>:undecided`` and counted in the
notes, so the kept rows stand at the ratio asked.

This is not FoVer's LastStepBalanced rule. FoVer (psunlpgroup/FoVer @742fcf9,
``src/dataset_creation/postprocessing/generate_final_dataset.py:236-339``) turns every prefix of a
solution (steps 1..t, t = 1..M) into its own example labeled by step t alone (trained with the
history masked), and subsamples those examples so the last-step labels are balanced (separately
for prefixes ending at the final-answer step and for the others, ``random.Random(68)``). A
``prmlabel filter`` row is one response with one label per step and is written exactly once, so a
per-prefix sample cannot be expressed here; see docs/filters.md.

Which rows survive is decided by a seeded hash of each response id, not by input order or shard,
so every task of a cluster array, and every re-run, keeps the same rows: with P positives, N
negatives and ratio r = P:N wanted, keep min(P, r N) positives and min(N, P / r) negatives, those
with the smallest hash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prmlabel.filters.base import Candidate, stable_rank


@dataclass(frozen=True)
class BalanceParams:
    ratio: float = 1.0  # positives per negative
    seed: int = 0


def response_class(candidate: Candidate) -> str | None:
    """'negative' (a final label is 0), 'positive' (every label decided, none 0) or None (undecided).

    A soft label above 0 (SCAN's 0.3125) is not a wrong step; SCAN's and the hard rules' wrong step is
    exactly 0. A row with no final labels at all is undecided."""
    labels = candidate.labels_final
    if any(v == 0.0 for v in labels if v is not None):
        return "negative"
    if labels and all(v is not None for v in labels):
        return "positive"
    return None


class BalanceFilter:
    name: ClassVar[str] = "balance"
    paper: ClassVar[str] = "whole-response class balancing as in SCAN (arXiv 2509.16548)"

    def __init__(self, params: BalanceParams, prefix: str = "balance"):
        if params.ratio <= 0:
            raise ValueError(f"balance: ratio must be > 0, got {params.ratio}")
        self.p = params
        self.prefix = prefix  # the reason's prefix: "scan" when SCAN's denoising balances

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def apply(self, candidates: list[Candidate]) -> None:
        kept = [c for c in candidates if c.keep]
        classes = {c.response_id: response_class(c) for c in kept}
        positives = [c for c in kept if classes[c.response_id] == "positive"]
        negatives = [c for c in kept if classes[c.response_id] == "negative"]
        undecided = [c for c in kept if classes[c.response_id] is None]
        want_pos = min(len(positives), round(self.p.ratio * len(negatives)))
        want_neg = min(len(negatives), round(len(positives) / self.p.ratio))
        note = {"positives": len(positives), "negatives": len(negatives), "undecided": len(undecided)}
        for c in undecided:
            c.extra["balance"] = {"class": None, **note}
            c.drop(f"{self.prefix}:undecided")
        for group, want, label in ((positives, want_pos, "positive"), (negatives, want_neg, "negative")):
            group.sort(key=lambda c: stable_rank(self.p.seed, "balance", c.response_id))
            for c in group[want:]:
                c.drop(f"{self.prefix}:balance_surplus_{label}")
            for c in group[:want]:
                c.extra["balance"] = {"class": label, **note, "kept": want}
                if self.prefix == "balance":
                    c.keep_as("balance:kept")
