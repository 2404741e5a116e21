"""Ground truth for rollouts: the first wrong step, where the problem makes it knowable.

Synthetic problems make every step checkable from the text alone, whichever policy wrote it (the
simulator, or a real model answering synthetic problems); for other problems the truth is unknown
(null) unless a human label was imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prmlabel.synthetic.policy import gold_first_error
from prmlabel.synthetic.problems import problem_from_row


def gold_first_error_for(problem: Mapping[str, Any], steps: list[str]) -> int | None:
    """Index of the first wrong step (-1 if none) for a synthetic problem, else None (unknown)."""
    if problem.get("source") != "synthetic":
        return None
    parsed = problem_from_row(problem)
    if parsed is None:
        return None
    return gold_first_error(parsed, steps)
