"""OmegaPRM (arXiv 2406.06592): the binary search (Sec. 3.2) and the per-question tree search (Sec. 3.3) on hand-made tables.

tests/data/conformance/omegaprm/cases.json lists the continuations of exactly the prefixes the
paper's search estimates, and the first error and rollouts it spends, worked by hand. A request for
any other prefix fails the test (the search would be spending rollouts the paper's does not).
"""

from __future__ import annotations

import pytest

from prmlabel.engine.types import QuestionView, ResponseView
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


TREE = load_cases("omegaprm", "tree.json")


def test_per_question_search_matches_the_worked_tree() -> None:
    """The recipe's mode: the tree the paper's search grows on tree.json's table, worked by hand there."""
    r = TREE["response"]
    response = ResponseView("p", "r", tuple(r["steps"]), r["is_correct"], tokens=r["tokens"])
    question = QuestionView("p", {"question": "q"}, (response,))
    table = TREE["continuations"]

    def outcome(prefix: str, k: int, offset: int) -> list[tuple[str, bool, int]]:
        assert prefix in table, f"the paper's search asks for no rollouts of {prefix!r}"
        return [tuple(c) for c in table[prefix][offset : offset + k]]

    params = OmegaPRMParams(k=TREE["k"], mode="search", filter_rollouts=0, split="double_newline")
    result, _, requests = drive(OmegaPRM(params).label_question(question), outcome)
    assert [q.prefix for q in requests] == TREE["requests"], TREE["working"]
    assert sum(q.k for q in requests) == TREE["rollouts"]
    assert result.extra["selections"] == TREE["selections"]
    got = [[n.parent_id, n.step, n.mc, n.terminal, n.correct] for n in result.nodes]
    assert got == TREE["nodes"], TREE["working"]
    labels = result.responses["r"]
    expected = TREE["response_labels"]
    assert (labels.first_error, labels.hard) == (expected["first_error"], expected["hard"])
    assert same_values(labels.values, expected["values"])
