"""Qwen's consensus filtering (arXiv 2501.07301, Sec. 3) on a hand-made rollout table.

tests/data/conformance/qwen_consensus/cases.json: per response, the 8 completions of each step's
prefix (from which the MC hard labels and first error follow) and the judge's first error; the keep
decision and the kept hard labels are worked out by hand from the paper's rule.
"""

from __future__ import annotations

import json

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.filters.base import Candidate, initial_labels
from prmlabel.filters.consensus import ConsensusFilter, ConsensusParams
from prmlabel.labelers.mc import MathShepherdMC, MCParams
from tests.conformance.helpers import load_cases, prefix_outcomes
from tests.labelers.driver import drive

TABLE = load_cases("qwen_consensus")


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_consensus_matches_the_worked_table(case: dict) -> None:
    view = ResponseView("p", "r", tuple(case["steps"]), case["is_correct"])
    labels, _, _ = drive(
        MathShepherdMC(MCParams(k=TABLE["k"])).label(view), prefix_outcomes(case["steps"], case["continuations"])
    )
    assert labels.first_error == case["mc_first_error"], case["working"]
    row = {
        "problem_id": "p",
        "response_id": "r",
        "steps": case["steps"],
        "is_correct": case["is_correct"],
        "method": "mc",
        "values": labels.values,
        "hard": labels.hard,
        "first_error": labels.first_error,
        "label_extra": json.dumps(labels.extra),
    }
    judge = {"response_id": "r", "method": "judge", "first_error": case["judge_first_error"]}
    candidate = Candidate(row, initial_labels(row))
    ConsensusFilter(ConsensusParams(), {"r": judge}).apply([candidate])
    assert candidate.keep == case["keep"], case["working"]
    assert candidate.reason == case["reason"], case["working"]
    if case["keep"]:
        assert candidate.labels_final == case["labels_final"] and candidate.label_kind == "hard"
