"""SCAN (arXiv 2509.16548; yyDing1/SCAN-PRM @463c201) on a hand-made rollout table: the scan, its labels,
and the denoising (SC filter, tolerance soft labels, no-zero drop, 1:1 balance), worked by hand.

The table (tests/data/conformance/scan/cases.json) gives each response's continuations per scanned
prefix and the labels SCAN's released code gives them (the ``working`` field of each case says how,
with the file and line). The recipe's settings are checked against the same code at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from prmlabel.engine.types import ResponseView
from prmlabel.filters.base import Candidate, initial_labels
from prmlabel.filters.scan import ScanDenoiseFilter, ScanDenoiseParams
from prmlabel.labelers.scan import SCAN, SCANParams
from prmlabel.launch.recipe import recipes_dir
from tests.conformance.helpers import load_cases, prefix_outcomes, same_values
from tests.labelers.driver import drive

TABLE = load_cases("scan")
CASES = TABLE["cases"]


def _label(case: dict):
    view = ResponseView(f"q{case['sc']}", case["name"], tuple(case["steps"]), case["is_correct"], case["sc"])
    labeler = SCAN(SCANParams(k=TABLE["k"], tolerance=TABLE["tolerance"]))
    return drive(labeler.label(view), prefix_outcomes(case["steps"], case["continuations"]))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_scan_labels_match_the_worked_table(case: dict) -> None:
    labels, rounds, requests = _label(case)
    assert same_values(labels.values, case["values"]), (labels.values, case["working"])
    assert labels.hard == case["hard"], case["working"]
    assert labels.first_error == case["first_error"], case["working"]
    if case["soft"] is not None:
        assert same_values(labels.extra["soft"], case["soft"]), (labels.extra["soft"], case["working"])
    assert bool(labels.extra.get("no_zero_step")) == case["no_zero_step"]
    assert labels.extra.get("undecided_rollouts", 0) == case["undecided_rollouts"]
    # The scan is sequential: one prefix per round, k continuations each (main_datasyn.py:236-287).
    assert rounds == case["rounds"] == len(requests) and sum(r.k for r in requests) == case["rollouts"]
    assert [r.prefix for r in requests] == ["".join(case["steps"][: t + 1]) for t in range(rounds)]


def _candidates() -> list[Candidate]:
    out = []
    for case in CASES:
        labels, _, _ = _label(case)
        row = {
            "problem_id": f"q{case['sc']}",
            "response_id": case["name"],
            "steps": case["steps"],
            "is_correct": case["is_correct"],
            "values": labels.values,
            "hard": labels.hard,
            "first_error": labels.first_error,
            "label_extra": json.dumps(labels.extra),
        }
        out.append(Candidate(row=row, labels_final=initial_labels(row)))
    return out


def test_denoising_keeps_and_softens_as_scans_label_script() -> None:
    # process.py:35 (SC < 0.75 dropped), :40-48 (correct all 1), :51-52 (one step 0), :56-57 (no zero
    # dropped), :59-74 (soft labels up to t_e, later steps cut). Balance off here, on below.
    candidates = _candidates()
    params = ScanDenoiseParams(tolerance=TABLE["tolerance"], drop_no_zero_step=True, balance=False)
    ScanDenoiseFilter(params).apply(candidates)
    by_name = {c.response_id: c for c in candidates}
    expected = {
        "incorrect, the scan stops at the first zero": [1.0, 0.9375, 0.625, 0.0],
        "correct: all positive, no rollouts": [1.0, 1.0, 1.0],
        "incorrect, one step: 0 without rollouts": [0.0],
        "incorrect, the zero comes from rolling out the whole response": [0.9722222222222222, 0.1388888888888889, 0.0],
    }
    for name, labels in expected.items():
        assert by_name[name].keep and same_values(by_name[name].labels_final, labels), name
    assert by_name["incorrect, no zero even for the whole response"].reason == "scan:no_zero_step"
    assert by_name["incorrect, question below the confidence threshold: not scanned"].reason == "scan:low_confidence"
    undecided = by_name["incorrect, an estimate with no decided continuation stops the scan"]
    assert not undecided.keep  # first error unknown: never a label


def test_denoising_balances_whole_responses_one_to_one() -> None:
    # process.py:76-77: min(#correct, #incorrect) of each. Kept before balancing: 1 correct, 3 incorrect.
    candidates = _candidates()
    ScanDenoiseFilter(ScanDenoiseParams(drop_no_zero_step=True, balance=True)).apply(candidates)
    kept = [c for c in candidates if c.keep]
    assert sorted(c.row["is_correct"] for c in kept) == [False, True]
    assert sum(c.reason == "scan:balance_surplus_negative" for c in candidates) == 2


def test_filter_and_labeler_agree_at_zero_self_confidence() -> None:
    # min(1, c_t / SC) -> 1 as SC -> 0 with c_t > 0; SCAN never gets here (SC >= 0.75 first).
    from prmlabel.filters.scan import soft_labels

    assert soft_labels([0.5, 0.0], 1, 0.0, 2) == [1.0, 0.0]
    assert SCAN(SCANParams(scan_unconfident=True))._soft([0.5, 0.0], 0.0) == [1.0, 0.0]


# SCAN's released settings, file and line, against the recipe (recipes/scan.yaml).
SCAN_CODE = {
    ("samples",): 128,  # main_datasyn.py:109 num_sequence
    ("stages", "generate", "options", "sampling"): {"temperature": 1.0, "top_p": 1.0, "max_tokens": 2048},  # :106-114
    ("stages", "generate", "options", "steps", "split"): "scan",  # gen_utils.py:137-152
    ("stages", "generate", "options", "require_answer"): True,  # main_datasyn.py:172-178
    ("stages", "generate", "options", "prompt", "template"): "{question}",  # prompt_template.py:93-104
    ("stages", "scan", "options", "sampling"): {"temperature": 1.0, "top_p": 1.0, "max_tokens": 2048},  # :230
    ("stages", "scan", "options", "params", "k"): 8,  # :115 num_rollouts
    ("tolerance",): 2,  # process.py:62-66
    ("min_confidence",): 0.75,  # main_datasyn.py:221, process.py:35
    ("stages", "denoise", "options", "params", "scan", "balance"): True,  # process.py:76-77
}


@pytest.mark.parametrize("path", list(SCAN_CODE), ids=[".".join(p) for p in SCAN_CODE])
def test_recipe_uses_scans_settings(path: tuple[str, ...]) -> None:
    node = yaml.safe_load(Path(recipes_dir() / "scan.yaml").read_text(encoding="utf-8"))
    for key in path:
        node = node[key]
    assert node == SCAN_CODE[path]


def test_the_filter_drops_no_zero_responses_by_default() -> None:
    # process.py:56-57; the recipe leaves it at the default (a key set to the default is read only when a
    # row has no_zero_step, which tests/conformance/test_recipe_keys.py would count as unread).
    assert ScanDenoiseParams().drop_no_zero_step is True
