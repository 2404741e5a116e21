"""A SIMULATED judge with a configurable accuracy, for scoring the consensus filter.

Consensus filtering keeps a label only when an LLM judge agrees with it. To know what that filter
buys at a given judge quality, the judge is simulated: it names the true first wrong step with
probability ``accuracy`` and otherwise a uniformly drawn different answer. It is not a model.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from prmlabel.synthetic.policy import gold_first_error
from prmlabel.synthetic.problems import SyntheticProblem


class SyntheticJudge:
    """Judge simulator: right with probability ``accuracy``, deterministic given ``seed`` and ``key``.

    The key (e.g. a response id) rather than call order fixes each verdict, so a resumed or
    reordered run gets the same verdicts.
    """

    name = "synthetic-judge"

    def __init__(self, accuracy: float = 0.8, seed: int = 0) -> None:
        if not 0.0 <= accuracy <= 1.0:
            raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
        self.accuracy = accuracy
        self.seed = seed

    def describe(self) -> str:
        """The judge's name in provenance."""
        return f"synthetic-judge(accuracy={self.accuracy:g},seed={self.seed})"

    def first_error(self, problem: SyntheticProblem | Mapping[str, Any], steps: list[str], key: str) -> int:
        """The judged first wrong step (-1: none).

        With probability ``accuracy`` the gold first error; otherwise an index drawn uniformly from
        ``{-1, 0, ..., len(steps) - 1}`` minus the gold one. With no steps there is no other answer,
        so the gold -1 is returned.
        """
        gold = gold_first_error(problem, steps)
        rng = random.Random(f"prmlabel.synthetic.judge:{self.seed}:{key}")
        if rng.random() < self.accuracy:
            return gold
        others = [i for i in range(-1, len(steps)) if i != gold]
        return rng.choice(others) if others else gold
