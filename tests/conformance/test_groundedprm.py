"""GroundedPRM (arXiv 2510.14942) on a hand-made rollout table: fused values and labels worked by hand.

The table (tests/data/conformance/groundedprm/cases.json) names three continuation texts whose
simulated steps the tool verifies (A: +1 -1 0, B: +1 +1 +1 0, C: +1) and their final_V by the released
code's path aggregation (mcts.py:134-150); each case lists, per step prefix, which continuation came back
and whether it reached the reference, and the values worked out by hand with the back-up to ancestors
(mcts.py:151-161: 0.9^d per level along the response's chain). Each case's ``working`` shows the sums.
"""

from __future__ import annotations

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers.grounded import GroundedParams, GroundedPRM
from prmlabel.text.steps import split_steps
from prmlabel.verifiers.math_claims import verify_steps
from tests.conformance.helpers import load_cases, prefix_outcomes, same_values
from tests.labelers.driver import drive

TABLE = load_cases("groundedprm")
CONTINUATIONS = TABLE["continuations"]


def test_the_tool_verdicts_the_table_assumes() -> None:
    verdict = {"correct": 1, "wrong": -1}
    for name, cont in CONTINUATIONS.items():
        steps = split_steps(cont["text"])
        got = [verdict.get(v.verdict, 0) for v in verify_steps(steps, timeout=5.0)]
        assert got == cont["tool"], name


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_labels_match_the_worked_table(case: dict) -> None:
    view = ResponseView("p", "r", tuple(case["steps"]), case["is_correct"])
    params = GroundedParams(k=TABLE["k"], gamma=case.get("gamma", TABLE["gamma"]), rule="grounded")
    rows = [[(CONTINUATIONS[name]["text"], correct, 10) for name, correct in prefix] for prefix in case["rollouts"]]
    labels, rounds, requests = drive(GroundedPRM(params).label(view), prefix_outcomes(case["steps"], rows))
    assert same_values(labels.extra["own"], case["own"]), (labels.extra["own"], case["working"])
    assert same_values(labels.values, case["fused"]), (labels.values, case["working"])
    assert same_values(labels.extra["mc"], case["mc"]), (labels.extra["mc"], case["working"])
    assert labels.hard == case["hard"], case["working"]
    assert labels.first_error == case["first_error"], case["working"]
    assert labels.extra["decided_by"] == case["decided_by"]
    for key in ("undecided_rollouts", "zero_value_steps", "contradicting_steps"):
        assert labels.extra[key] == case[key], key
    # Cost: k continuations of every step's prefix but the last, in one round.
    assert rounds == 1 and [r.k for r in requests] == [TABLE["k"]] * (len(case["steps"]) - 1)
