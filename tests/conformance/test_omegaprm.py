"""OmegaPRM's binary search (arXiv 2406.06592, Sec. 3.2) on a hand-made rollout table.

tests/data/conformance/omegaprm/cases.json lists the continuations of exactly the prefixes the
paper's search estimates, and the first error and rollouts it spends, worked by hand. A request for
any other prefix fails the test (the search would be spending rollouts the paper's does not).
"""

from __future__ import annotations

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers.omegaprm import OmegaPRM, OmegaPRMParams
from tests.conformance.helpers import load_cases, prefix_outcomes, same_values
from tests.labelers.driver import drive

TABLE = load_cases("omegaprm")


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_binary_search_matches_the_worked_table(case: dict) -> None:
    view = ResponseView("p", "r", tuple(case["steps"]), case["is_correct"])
    labeler = OmegaPRM(OmegaPRMParams(k=TABLE["k"], mode="binary"))
    labels, rounds, requests = drive(labeler.label(view), prefix_outcomes(case["steps"], case["continuations"]))
    assert labels.first_error == case["first_error"], case["working"]
    assert labels.hard == case["hard"], case["working"]
    assert same_values(labels.values, case["values"]), (labels.values, case["working"])
    assert sum(r.k for r in requests) == case["rollouts"]
    assert rounds == len(requests)  # one estimate per round: the search is sequential per response
