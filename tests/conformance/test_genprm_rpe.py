"""GenPRM relative progress estimation (arXiv 2504.00891; RyanLiu112/GenPRM @cc80f47) on a hand-made
rollout table, its path choice per question, and the recipe's settings against the released code.

The table (tests/data/conformance/genprm_rpe/cases.json) gives each response's completions per prefix
(the question alone included) and the labels eq. (10)-(11) give them, worked by hand in ``working``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from prmlabel.engine.types import ResponseView
from prmlabel.filters.genprm_select import select_paths
from prmlabel.labelers.rpe import RelativeProgress, RPEParams
from prmlabel.launch.recipe import recipes_dir
from tests.conformance.helpers import load_cases, prefix_outcomes, same_values
from tests.labelers.driver import drive

TABLE = load_cases("genprm_rpe")
CASES = TABLE["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rpe_labels_match_the_worked_table(case: dict) -> None:
    view = ResponseView("p", "r", tuple(case["steps"]), case["is_correct"])
    labeler = RelativeProgress(RPEParams(k=TABLE["k"], eps=TABLE["eps"]))
    labels, rounds, requests = drive(labeler.label(view), prefix_outcomes(case["steps"], case["continuations"]))
    assert same_values(labels.values, case["values"]), (labels.values, case["working"])
    assert labels.hard == case["hard"], case["working"]
    assert labels.first_error == case["first_error"], case["working"]
    assert labels.extra["undecided_rollouts"] == case["undecided_rollouts"]
    # Not adaptive: the question and every step prefix but the last (the outcome), k each, in one round.
    assert rounds == 1 and [r.k for r in requests] == [TABLE["k"]] * len(case["steps"])


def test_adaptive_k_follows_eq_9_from_the_estimated_pass_at_1() -> None:
    case = TABLE["adaptive"]
    steps = case["steps"]
    counts = {"".join(steps[: int(t)]): n for t, n in case["correct_of"].items()}

    def outcome(prefix: str, k: int, offset: int) -> list[int]:
        correct, total = counts[prefix]
        assert k == total, f"{prefix!r}: asked for {k} completions, eq. (9) gives {total}"
        return [1] * correct + [0] * (total - correct)

    labeler = RelativeProgress(RPEParams(eps=0.8, adaptive_k=True, start_k=32))
    labels, rounds, requests = drive(labeler.label(ResponseView("p", "r", tuple(steps), False)), outcome)
    assert same_values(labels.values, case["values"]), case["working"]
    assert labels.hard == case["hard"] and labels.first_error == case["first_error"], case["working"]
    assert labels.extra["k"] == case["k"] and rounds == case["rounds"]
    assert sum(r.k for r in requests) == case["rollouts"]


def _pool(spec: dict) -> list[dict]:
    kinds = (
        [("correct", True, "stop", 3)] * spec["correct"]
        + [("correct_one_step", True, "stop", 1)] * spec["correct_one_step"]
        + [("incorrect", False, "stop", 3)] * spec["incorrect"]
        + [("incorrect_truncated", False, "length", 3)] * spec["incorrect_truncated"]
        + [("undecided", None, "stop", 3)] * spec["undecided"]
    )
    return [
        {
            "problem_id": "q",
            "response_id": f"q/r{i}",
            "sample_index": i,
            "kind": kind,
            "is_correct": correct,
            "finish_reason": finish,
            "steps": ["Step 1: a\n"] * n_steps,
        }
        for i, (kind, correct, finish, n_steps) in enumerate(kinds)
    ]


@pytest.mark.parametrize("name", sorted(TABLE["select"]["pools"]))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_path_choice_matches_genprm(name: str, seed: int) -> None:
    spec = TABLE["select"]["pools"][name]
    rows = _pool(spec)
    chosen, left_out = select_paths(rows, num_paths=16, seed=seed)
    kinds = Counter(r["kind"] for r in chosen)
    assert kinds["correct"] == spec["chosen_correct"], TABLE["select"]["working"]
    assert kinds["incorrect"] == spec["chosen_incorrect"], TABLE["select"]["working"]
    assert set(kinds) <= {"correct", "incorrect"}  # never an invalid or undecided path
    assert dict(Counter(left_out.values())) == spec["reasons"], TABLE["select"]["working"]
    assert len(chosen) + len(left_out) == len(rows)


def test_path_choice_is_seeded() -> None:
    rows = _pool(TABLE["select"]["pools"]["B"])
    first = [r["response_id"] for r in select_paths(rows, 16, seed=0)[0]]
    assert first == [r["response_id"] for r in select_paths(list(reversed(rows)), 16, seed=0)[0]]
    assert any(first != [r["response_id"] for r in select_paths(rows, 16, seed=s)[0]] for s in range(1, 6))


# GenPRM's released settings, file and line (src/reward_generation/math_shepherd_ray.py unless named),
# against recipes/genprm_rpe.yaml.
SAMPLING = {"temperature": 0.7, "top_p": 1.0, "max_tokens": 2048}
GENPRM_CODE = {
    ("samples",): 32,  # num_samples_list [16, 16] (:482)
    ("paths",): 16,  # num_paths (:481): 8 correct + 8 incorrect (:162)
    ("stages", "generate", "options", "sampling"): {
        "temperature": 0.7,
        "top_p": 1.0,
        "max_tokens": 2048,
    },  # :483, :490-491
    ("stages", "generate", "options", "prompt", "prefill"): "Step 1: ",  # step forcing (:65)
    (
        "stages",
        "generate",
        "options",
        "prompt",
        "template",
    ): "{question}",  # the user turn (:65, :128-139)
    ("stages", "generate", "options", "steps", "split"): "regex:\\n(?=Step )",  # math_shepherd_utils.py:153
    ("stages", "generate", "options", "select_paths"): "${paths}",
    ("stages", "rpe", "options", "sampling"): SAMPLING,  # :115
    ("stages", "rpe", "options", "params", "eps"): 0.8,  # paper §4.1
    ("stages", "rpe", "options", "params", "adaptive_k"): True,  # paper eq. (9)
}


@pytest.mark.parametrize("path", list(GENPRM_CODE), ids=[".".join(p) for p in GENPRM_CODE])
def test_recipe_uses_genprms_settings(path: tuple[str, ...]) -> None:
    node = yaml.safe_load(Path(recipes_dir() / "genprm_rpe.yaml").read_text(encoding="utf-8"))
    for key in path:
        node = node[key]
    assert node == GENPRM_CODE[path]
