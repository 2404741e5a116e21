"""Ground truth for rollouts: the first wrong step, where the problem makes it knowable.

Synthetic problems make every step checkable from the text alone, whichever policy wrote it (the
simulator, or a real model answering synthetic problems); for other problems the truth is unknown
(null) unless a human label was imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error, parse_step
from prmlabel.synthetic.problems import SyntheticProblem, as_problem, problem_from_row


def gold_first_error_for(problem: Mapping[str, Any], steps: list[str]) -> int | None:
    """Index of the first wrong step (-1 if none) for a synthetic problem, else None (unknown)."""
    if problem.get("source") != "synthetic":
        return None
    parsed = problem_from_row(problem)
    if parsed is None:
        return None
    return gold_first_error(parsed, steps)


def success_probability(
    problem: Mapping[str, Any] | SyntheticProblem, prefix: str, policy: SyntheticPolicy
) -> float | None:
    """The exact chance that ``policy`` continues ``prefix`` to the right answer (None: a foreign prefix).

    The simulator's chain, per remaining operation: give up with ``abandon_rate``; from the true
    running value, slip off it with ``slip_rate``; from a wrong one, recover with ``recovery_rate``.
    The answer is right iff the last value is the true one. So with m operations left

        on(0) = 1, off(0) = 0
        on(m)  = (1 - a) * ((1 - s) * on(m - 1) + s * off(m - 1))
        off(m) = (1 - a) * (r * on(m - 1) + (1 - r) * off(m - 1))

    (an operation that maps two values to one, e.g. a product with 0, could land a wrong value on the
    true one; the problems draw none). A prefix that states an answer is 1 or 0 by that answer. This is
    the truth that MC estimates of the prefix (a tree's node values) are measured against.
    """
    prob = as_problem(problem)
    state = SyntheticPolicy._read_prefix(prob, prefix)
    if state is None:
        return None
    values = prob.values
    if state.finished:
        steps = [piece for piece in prefix.split("\n\n") if piece.strip()]
        parsed = parse_step(steps[-1]) if steps else None
        answer = parsed.answer if parsed is not None else None
        return 1.0 if answer is not None and int(answer) == values[-1] else 0.0
    on_track = state.carried == values[state.next_op]
    a, s, r = policy.abandon_rate, policy.slip_rate, policy.recovery_rate
    on, off = 1.0, 0.0
    for _ in range(len(prob.ops) - state.next_op):
        on, off = (1 - a) * ((1 - s) * on + s * off), (1 - a) * (r * on + (1 - r) * off)
    return on if on_track else off
