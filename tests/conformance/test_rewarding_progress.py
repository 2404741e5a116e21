"""Rewarding Progress / PAV (Setlur et al., arXiv 2410.08146) on a hand-made rollout table: Q^pi per
prefix, the Best-of-K prover's Q^mu, advantages, effective rewards and prmlabel's hard labels, worked
by hand (``working`` in tests/data/conformance/rewarding_progress/cases.json)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from prmlabel.engine.types import ResponseView
from prmlabel.labelers.pav import PAVParams, ProcessAdvantage
from prmlabel.launch.recipe import recipes_dir
from tests.conformance.helpers import load_cases, prefix_outcomes, same_values
from tests.labelers.driver import drive

TABLE = load_cases("rewarding_progress")
CASES = TABLE["cases"]


def _labeler(threshold: float | None = None) -> ProcessAdvantage:
    return ProcessAdvantage(
        PAVParams(
            k=TABLE["k"],
            prover_k=TABLE["prover_k"],
            alpha=TABLE["alpha"],
            threshold=TABLE["threshold"] if threshold is None else threshold,
        )
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_pav_labels_match_the_worked_table(case: dict) -> None:
    view = ResponseView("p", "r", tuple(case["steps"]), case["is_correct"])
    labels, rounds, requests = drive(_labeler().label(view), prefix_outcomes(case["steps"], case["continuations"]))
    assert same_values(labels.values, case["values"]), (labels.values, case["working"])
    assert same_values(labels.extra["effective"], case["effective"]), case["working"]
    assert labels.hard == case["hard"], case["working"]
    assert labels.first_error == case["first_error"], case["working"]
    # n_mc completions of the question and of every step prefix but the last (the outcome), one round.
    assert rounds == 1 and [r.k for r in requests] == [TABLE["k"]] * len(case["steps"])


def test_threshold_zero_is_the_literal_any_negative_advantage_reading() -> None:
    case = CASES[1]
    view = ResponseView("p", "r", tuple(case["steps"]), case["is_correct"])
    labels, _, _ = drive(_labeler(threshold=0.0).label(view), prefix_outcomes(case["steps"], case["continuations"]))
    assert labels.hard == [True, False, True] and labels.first_error == 1


# The paper's settings (n_mc, the Best-of-4 prover, alpha for search with 2B/9B policies) against the recipe.
PAPER = {
    ("stages", "pav", "options", "params", "k"): 20,
    ("stages", "pav", "options", "params", "prover_k"): 4,
    ("stages", "pav", "options", "params", "alpha"): 0.5,
}


@pytest.mark.parametrize("path", list(PAPER), ids=[".".join(p) for p in PAPER])
def test_recipe_uses_the_papers_settings(path: tuple[str, ...]) -> None:
    node = yaml.safe_load(Path(recipes_dir() / "rewarding_progress.yaml").read_text(encoding="utf-8"))
    for key in path:
        node = node[key]
    assert node == PAPER[path]
