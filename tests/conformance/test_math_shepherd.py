"""Math-Shepherd (arXiv 2312.08935) on a hand-made rollout table: SE and HE per step, worked by hand.

The table (tests/data/conformance/math_shepherd/cases.json) gives, for each response, the outcomes of
the 8 continuations of every prefix, and the labels the paper's formula gives them:
SE y_t = correct / N, HE y_t = 1 if any continuation is correct; the last step is the outcome.
"""

from __future__ import annotations

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers.mc import MathShepherdMC, MCParams
from tests.conformance.helpers import load_cases, prefix_outcomes, same_values
from tests.labelers.driver import drive

TABLE = load_cases("math_shepherd")


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_labels_match_the_worked_table(case: dict) -> None:
    view = ResponseView("p", "r", tuple(case["steps"]), case["is_correct"])
    labeler = MathShepherdMC(MCParams(k=TABLE["k"]))
    labels, rounds, requests = drive(labeler.label(view), prefix_outcomes(case["steps"], case["continuations"]))
    assert same_values(labels.values, case["values"]), (labels.values, case["working"])
    assert labels.hard == case["hard"], case["working"]
    assert labels.first_error == case["first_error"], case["working"]
    assert labels.extra.get("undecided_rollouts", 0) == case["undecided_rollouts"]
    # Cost: N completions of every step's prefix but the last, all in one round.
    assert rounds == 1 and [r.k for r in requests] == [TABLE["k"]] * (len(case["steps"]) - 1)
