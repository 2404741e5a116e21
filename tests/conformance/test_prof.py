"""PROF (arXiv 2509.03403) on a hand-made table of two problems: scores and removals worked by hand.

The table (tests/data/conformance/prof/cases.json) gives each response's step values and outcome,
the released trainer's settings (k = 4, scores centred on the batch mean, length penalty 10), and the
score and decision of every row worked out by hand (its ``working`` list shows each sum).
"""

from __future__ import annotations

import json

import pytest

from prmlabel.filters.base import Candidate, initial_labels
from prmlabel.filters.prof import PROFFilter, PROFParams
from tests.conformance.helpers import load_cases

TABLE = load_cases("prof")


def _candidate(spec: dict) -> Candidate:
    n = len(spec["values"])
    row = {
        "problem_id": spec["problem"],
        "response_id": spec["id"],
        "steps": [f"{spec['id']} step {i}\n\n" for i in range(n)],
        "is_correct": spec["correct"],
        "method": "mc",
        "value_kind": "probability",
        "values": spec["values"],
        "hard": [None if v is None else v > 0 for v in spec["values"]],
        "first_error": None,
        "label_extra": json.dumps({}),
    }
    return Candidate(row=row, labels_final=initial_labels(row))


def test_decisions_match_the_worked_table() -> None:
    cands = [_candidate(spec) for spec in TABLE["rows"]]
    PROFFilter(PROFParams(**TABLE["params"])).apply(cands)
    working = "\n".join(TABLE["working"])
    for c in cands:
        want = TABLE["expected"][c.response_id]
        assert (c.keep, c.reason) == (want["keep"], want["reason"]), (c.response_id, working)
        score = c.extra["prof"]["score"]
        assert (score is None) == (want["score"] is None), c.response_id
        if score is not None:
            assert score == pytest.approx(want["score"]), (c.response_id, working)
        if c.row["is_correct"] is not None:
            assert c.extra["prof"]["center"] == pytest.approx(TABLE["center"])
            assert c.extra["prof"]["unscored"] == TABLE["unscored"][c.problem_id]


def test_the_same_rows_in_another_order_give_the_same_decisions() -> None:
    forward = [_candidate(spec) for spec in TABLE["rows"]]
    backward = [_candidate(spec) for spec in reversed(TABLE["rows"])]
    for cands in (forward, backward):
        PROFFilter(PROFParams(**TABLE["params"])).apply(cands)
    assert {c.response_id: c.reason for c in forward} == {c.response_id: c.reason for c in backward}
