"""Recipes: composition with pipelines and overrides, the listing, and every recipe end to end on the simulator."""

from __future__ import annotations

import json

import pytest

from prmlabel.contract.config import ConfigError
from prmlabel.launch.recipe import available_recipes, compose_recipe
from tests.conftest import run_prmlabel
from tests.launch.conftest import rows

RECIPES = [
    "demo",
    "fover_z3",
    "genprm_rpe",
    "groundedprm",
    "hrm",
    "math_shepherd",
    "omegaprm",
    "qwen_consensus",
    "rest_mcts",
    "rewarding_progress",
    "scan",
]


def test_every_recipe_is_listed_with_its_paper_and_cost():
    assert available_recipes() == RECIPES
    out = run_prmlabel(["recipes"]).stdout
    for name in RECIPES:
        assert f"\n{name}\n  paper:" in f"\n{out}"
    assert "arXiv 2406.06592" in out and "arXiv 2509.16548" in out


def test_overrides_compose_onto_the_recipe():
    cfg = compose_recipe(
        "omegaprm",
        [
            "backend=vllm",
            "backend.model=Qwen/Qwen2.5-Math-7B-Instruct",
            "samples=16",
            "pipeline=slurm",
            "pipeline.partition=gpu",
            "stages.omegaprm.options.params.k=16",
        ],
    )
    assert cfg["pipeline"]["name"] == "slurm" and cfg["pipeline"]["partition"] == "gpu"
    for stage in ("generate", "omegaprm"):
        assert cfg["stages"][stage]["options"]["backend"] == {
            "name": "vllm",
            "model": "Qwen/Qwen2.5-Math-7B-Instruct",
            "options": {},
        }
    assert cfg["stages"]["generate"]["options"]["samples"] == 16
    assert cfg["stages"]["omegaprm"]["options"]["params"]["k"] == 16
    assert cfg["stages"]["omegaprm"]["options"]["params"]["mode"] == "search"  # the recipe's, untouched


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["sample=3"], "has no key 'sample'"),
        (["pipeline=kubernetes"], "unknown pipeline 'kubernetes'; choose one of: local, ray, slurm"),
        (["pipeline.num_shards=0"], "pipeline.num_shards must be a positive integer"),
        (["stages.omegaprm.input=nowhere"], "input 'nowhere' must name an earlier stage"),
    ],
)
def test_bad_overrides_are_refused_with_the_fix(overrides, message):
    with pytest.raises(ConfigError, match=message):
        compose_recipe("omegaprm", overrides)


def test_unknown_recipe_names_the_choices(tmp_path):
    proc = run_prmlabel(["run", "omega", "-i", "x.jsonl", "-o", str(tmp_path / "r")], check=False)
    assert proc.returncode == 2 and "unknown recipe 'omega'; choose one of: demo, fover_z3" in proc.stderr


# Small settings per recipe, so all of them run in seconds on the simulator (the paper's defaults are
# in the recipe files; docs/recipes/*.md gives each one's cost at full size).
SMALL = {
    "demo": [],
    "math_shepherd": [],
    "omegaprm": ["steps_split=double_newline"],
    "qwen_consensus": ["+judge_backend.options.judge_accuracy=0.9"],
    "scan": ["samples=8"],
    "genprm_rpe": ["stages.rpe.options.params.adaptive_k=false", "+stages.rpe.options.params.k=4"],
    "rewarding_progress": ["stages.pav.options.params.k=4"],
    "groundedprm": [],
    "hrm": [],
    "rest_mcts": [],
}


def _labeled_stages(run):
    return {p.parent.name: rows(p.parent) for p in run.glob("*/manifest.json")}


@pytest.mark.parametrize("recipe", sorted(SMALL))
def test_recipe_runs_end_to_end_on_the_simulator(recipe, problems, tmp_path):
    if recipe == "qwen_consensus":
        from prmlabel.labelers import available_labelers

        if "judge" not in available_labelers():
            pytest.skip("the judge labeler (`prmlabel label --method judge`) has not landed yet")
    run = tmp_path / "run"
    args = ["run", recipe, "-i", str(problems), "-o", str(run), "backend=synthetic", "pipeline.num_shards=2"]
    proc = run_prmlabel([*args, *(["samples=2"] if recipe not in ("scan",) else []), *SMALL[recipe], "--no-progress"])
    assert "run summary" in proc.stdout
    stages = json.loads(json.dumps(_labeled_stages(run), default=str))
    plan_stages = list(__import__("yaml").safe_load((run / "run.yaml").read_text())["stages"])
    assert sorted(stages) == sorted(plan_stages)
    for stage in plan_stages:
        records = [json.loads(p.read_text()) for p in (run / stage / "_records").glob("*.json")]
        assert len(records) == 2, f"{stage}: every shard finished"
        assert all(r["rows_in"] == r["rows_out"] + r["rows_rejected"] for r in records)
    labels = stages[plan_stages[1]]
    assert labels and all(len(r["hard"]) == len(r["steps"]) for r in labels)
    if recipe in ("scan", "qwen_consensus"):
        final = stages[plan_stages[-1]]
        assert len(final) == len(labels) and 0 < sum(r["keep"] for r in final) < len(final)


def test_fover_z3_labels_ready_made_formal_responses(tmp_path):
    """FoVer's responses come from other policies; the recipe's first stage becomes `import` for them."""
    premises = ["∀x (Cat(x) → Mammal(x))", "Cat(tom)", "∀x (Mammal(x) → ¬Cold(x))"]
    good = ["fact1 & fact2 -> int1: Mammal(tom)\n", "int1 & fact3 -> int2: ¬Cold(tom)\n", "The final answer is False"]
    bad = ["fact1 & fact2 -> int1: Mammal(tom)\n", "int1 & fact3 -> int2: Cold(tom)\n", "The final answer is True"]
    src = tmp_path / "responses.jsonl"
    src.write_text(
        "".join(
            json.dumps({"question": q, "answer": "False", "steps": s, "premises-FOL": premises}, ensure_ascii=False)
            + "\n"
            for q, s in (("Is Tom cold? (a)", good), ("Is Tom cold? (b)", bad))
        )
    )
    source = ["stages.generate.command=import", "~stages.generate.options", "+stages.generate.options.domain=logic"]
    run_prmlabel(["run", "fover_z3", "-i", str(src), "-o", str(tmp_path / "run"), *source, "--no-progress"])
    labels = {r["question"]: r for r in rows(tmp_path / "run" / "z3")}
    assert labels["Is Tom cold? (a)"]["first_error"] == -1
    assert labels["Is Tom cold? (b)"]["first_error"] == 1
    assert labels["Is Tom cold? (b)"]["label_cost"]["rollouts"] == 0
