"""Balancing: subsample the larger class so positives and negatives stand at a given ratio.

SCAN (arXiv 2509.16548) balances positive and negative samples 1:1 by random subsampling; FoVer's
LastStepBalanced sets do the same for the last step. A response is negative when one of its final
labels is 0 (the wrong step), positive otherwise.

Which rows survive is decided by a seeded hash of each response id, not by input order or shard,
so every task of a cluster array, and every re-run, keeps the same rows: with P positives, N
negatives and ratio r = P:N wanted, keep min(P, r N) positives and min(N, P / r) negatives, those
with the smallest hash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prmlabel.filters.base import Candidate, is_positive, stable_rank


@dataclass(frozen=True)
class BalanceParams:
    ratio: float = 1.0  # positives per negative
    seed: int = 0


class BalanceFilter:
    name: ClassVar[str] = "balance"
    paper: ClassVar[str] = "class balancing as in SCAN (arXiv 2509.16548) and FoVer (arXiv 2505.15960)"

    def __init__(self, params: BalanceParams, prefix: str = "balance"):
        if params.ratio <= 0:
            raise ValueError(f"balance: ratio must be > 0, got {params.ratio}")
        self.p = params
        self.prefix = prefix  # the reason's prefix: "scan" when SCAN's denoising balances

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def apply(self, candidates: list[Candidate]) -> None:
        kept = [c for c in candidates if c.keep]
        positives = [c for c in kept if is_positive(c)]
        negatives = [c for c in kept if not is_positive(c)]
        want_pos = min(len(positives), round(self.p.ratio * len(negatives)))
        want_neg = min(len(negatives), round(len(positives) / self.p.ratio))
        for group, want, label in ((positives, want_pos, "positive"), (negatives, want_neg, "negative")):
            group.sort(key=lambda c: stable_rank(self.p.seed, "balance", c.response_id))
            for c in group[want:]:
                c.drop(f"{self.prefix}:balance_surplus_{label}")
            c_note = {"positives": len(positives), "negatives": len(negatives), "kept": want}
            for c in group[:want]:
                c.extra["balance"] = {"class": label, **c_note}
                if self.prefix == "balance":
                    c.keep_as("balance:kept")
