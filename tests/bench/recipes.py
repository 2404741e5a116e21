"""Each recipe's relative claims about labels and cost, through the real `prmlabel run` on the simulator.

Every recipe runs end to end (`prmlabel run RECIPE -i problems.jsonl -o RUN backend=synthetic`) with
its own defaults; the only overrides are the ones the simulator needs (listed in ``RECIPES``). With
the same seed and number of samples every run writes the same responses, so the recipes label the
same rows. Scored against the simulator's truth, ``gold_first_error``:

- F1, acc err, acc ok: ProcessBench's first-error scores (``first_error_scores``) of the rows a stage
  keeps; an unknown first error counts as wrong;
- step precision: of the step labels kept, the fraction equal to the true path label (1 before the
  true first error, 0 from it on; soft labels are read as label >= 0.5), as in tests/bench/filters.py;
- rollouts/problem: continuations the labelers used (each paper's own accounting, every sample counted);
  generated: what the backend actually generated after the run's rollout cache (shared prefixes).

The consensus sweep over judge accuracies is tests/bench/filters.py (`bench_consensus`); here the
qwen_consensus recipe runs once at the judge accuracy its page gives for the simulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from prmlabel.export.scores import first_error_scores
from tests.bench.registry import bench

REPO = Path(__file__).resolve().parents[2]
PROBLEMS, STEPS, SEED = 120, "4-10", 5
UNKNOWN = 10**6  # stands for a null first error: never equal to a gold index, never "no error"
RECIPES: dict[str, list[str]] = {  # recipe: the overrides the simulator needs (docs/recipes/<name>.md)
    "math_shepherd": [],
    "omegaprm": ["steps_split=double_newline"],  # the simulator's truth is per written step
    "qwen_consensus": ["+judge_backend.options.judge_accuracy=0.9"],  # the simulated judge's accuracy
    "scan": ["samples=8"],  # the same 8 responses as the others; its own 128 in bench_scan_cost
    # the simulator writes its own "Step k:" lines (a prefill would give an empty first step) and its truth
    # is per written step; GenPRM draws its own 32 paths per question and labels 8 + 8 of them
    "genprm_rpe": ["stages.generate.options.prompt.prefill=null", "stages.generate.options.steps.split=double_newline"],
    "rewarding_progress": [],
    "groundedprm": [],
    "rest_mcts": [],  # labels the paths of its own trees (one-step expansions), not generate's responses
}
OWN_DRAWS = {"genprm_rpe", "scan", "groundedprm", "rest_mcts"}  # generate samples its own way (see the docs note)
SCAN_POLICIES = {  # name: backend overrides; what SCAN saves depends on how often and how late the policy errs
    "default policy (slip 0.1, recovery 0.2)": [],
    "strong policy (slip 0.03, recovery 0.2)": ["+backend.options.slip_rate=0.03"],
    "strong policy, errors rarely undone (slip 0.03, recovery 0.02)": [
        "+backend.options.slip_rate=0.03",
        "+backend.options.recovery_rate=0.02",
    ],
}


def _cli(cwd: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "prmlabel", *args], cwd=cwd, env=env, text=True, capture_output=True)
    if proc.returncode:
        raise RuntimeError(f"prmlabel {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}")


def _run(root: Path, recipe: str, out: str, overrides: list[str]) -> Path:
    run = root / out
    _cli(root, "run", recipe, "-i", "p.jsonl", "-o", str(run), "backend=synthetic", "pipeline.num_shards=2",
         *overrides, "--no-progress")  # fmt: skip
    return run


def _rows(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


def _stage_cost(folder: Path) -> dict[str, float]:
    """A stage's cost from its shard records: rollouts used, rollouts and tokens generated."""
    total = {"rollouts": 0.0, "generated_rollouts": 0.0, "generated_tokens": 0.0}
    for record in (folder / "_records").glob("*.json"):
        cost = json.loads(record.read_text())["cost"]
        for key in total:
            total[key] += cost.get(key, 0)
    return total


def _truth(gold: int, t: int) -> bool:
    return gold < 0 or t < gold


def _score(rows: list[dict], labels_key: str) -> dict[str, float]:
    """ProcessBench first-error scores and step precision of the kept labels of ``rows``."""
    predicted = [UNKNOWN if r["first_error"] is None else r["first_error"] for r in rows]
    gold = [r["gold_first_error"] for r in rows]
    scores = first_error_scores(predicted, gold)
    steps = [
        (lab >= 0.5) == _truth(r["gold_first_error"], t)
        for r in rows
        for t, lab in enumerate(r[labels_key])
        if lab is not None
    ]
    return {
        "f1": scores.f1,
        "acc_err": scores.acc_error,
        "acc_ok": scores.acc_correct,
        "steps": len(steps),
        "precision": sum(steps) / len(steps) if steps else float("nan"),
    }


def _signal(rows: list[dict], labels_key: str = "hard") -> list[dict]:
    """The rows that carry labels: a filter's kept rows, or a labeler's rows with any known label."""
    if "keep" in rows[0]:
        return [r for r in rows if r["keep"]]
    return [r for r in rows if any(lab is not None for lab in r[labels_key])]


def _line(name: str, responses: int, rows: list[dict], labels_key: str, cost: dict[str, float], base: float) -> str:
    s = _score(rows, labels_key)
    per = {k: v / PROBLEMS for k, v in cost.items()}
    return (
        f"| {name} | {responses} | {len(rows)} | {s['steps']} | {per['rollouts']:.0f} | "
        f"{100 * cost['rollouts'] / base:.0f}% | {per['generated_rollouts']:.0f} | {per['generated_tokens']:.0f} | "
        f"{100 * s['f1']:.1f} | {100 * s['acc_err']:.1f} | {100 * s['acc_ok']:.1f} | {s['precision']:.3f} |"
    )


@bench
def bench_recipes() -> str:
    """Every recipe on the same responses: responses, kept, cost per problem, first-error F1, step precision."""
    lines = [
        f"{PROBLEMS} synthetic problems of {STEPS} steps (seed {SEED}), 8 responses each (960), default noise "
        "(slip 0.1, recovery 0.2); every recipe with its own parameters. Cost columns are per problem.",
        "",
        "| recipe: stage | responses | kept | kept step labels | rollouts | % of MC | generated rollouts "
        "| generated tokens | F1 | acc err | acc ok | step precision |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _cli(root, "synthetic", "problems", "--count", str(PROBLEMS), "--steps", STEPS, "--seed", str(SEED),
             "-o", "p.jsonl")  # fmt: skip
        responses: set[tuple[str, str]] | None = None
        base = 0.0
        for recipe, overrides in RECIPES.items():
            run = _run(root, recipe, recipe, overrides)
            generated = {(r["response_id"], r["response"]) for r in _rows(run / "generate")}
            if recipe in OWN_DRAWS:
                pass  # compared on its own responses (listed in the table's note)
            elif responses is not None and generated != responses:
                raise RuntimeError(f"{recipe} wrote other responses than math_shepherd; the comparison needs the same")
            responses = responses if recipe in OWN_DRAWS else generated
            stages = _plan_stages(run)
            label_stages = [s for s, command in stages if command == "label"]
            recipe_cost = _sum_costs([_stage_cost(run / s) for s in label_stages])
            base = base or recipe_cost["rollouts"]
            for stage, command in stages[1:]:
                rows = _rows(run / stage)
                key = "labels_final" if command == "filter" else "hard"
                cost = recipe_cost if command == "filter" else _stage_cost(run / stage)
                name = f"{recipe}: {stage}" + (" (whole recipe's cost)" if command == "filter" else "")
                lines.append(_line(name, len(rows), _signal(rows, key), key, cost, base))
    return "\n".join(lines)


def _plan_stages(run: Path) -> list[tuple[str, str]]:
    import yaml

    plan = yaml.safe_load((run / "run.yaml").read_text())
    return [(name, stage["command"]) for name, stage in plan["stages"].items()]


def _sum_costs(costs: list[dict[str, float]]) -> dict[str, float]:
    return {key: sum(c[key] for c in costs) for key in costs[0]}


@bench
def bench_scan_cost() -> str:
    """SCAN's own setting (128 responses per question) against vanilla MC (math_shepherd) on the same responses."""
    lines = [
        f"{PROBLEMS} synthetic problems of {STEPS} steps (seed {SEED}), 128 responses each (15,360); the scan "
        "recipe as written and math_shepherd with samples=128. Rollouts per problem.",
        "",
        "| policy | responses correct | questions with SC >= 0.75 | vanilla MC | SCAN as run "
        "(confident questions only) | ratio | SCAN on SC >= 0.75 questions | ratio to MC on all "
        "| ratio to MC on the same questions "
        "| scan depth (t_e + 1) / M of scanned responses | denoise kept |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _cli(root, "synthetic", "problems", "--count", str(PROBLEMS), "--steps", STEPS, "--seed", str(SEED),
             "-o", "p.jsonl")  # fmt: skip
        for i, (policy, overrides) in enumerate(SCAN_POLICIES.items()):
            mc_run = _run(root, "math_shepherd", f"mc{i}", ["samples=128", *overrides])
            scan_run = _run(root, "scan", f"scan{i}", overrides)
            mc = _rows(mc_run / "mc")
            scan = _rows(scan_run / "scan")
            if {r["response"] for r in mc} != {r["response"] for r in scan}:
                raise RuntimeError("scan and math_shepherd wrote different responses at samples=128")
            confident = {r["problem_id"] for r in scan if json.loads(r["label_extra"])["self_confidence"] >= 0.75}
            mc_cost = sum(r["label_cost"]["rollouts"] for r in mc)
            scan_cost = sum(r["label_cost"]["rollouts"] for r in scan)
            scan_confident = sum(r["label_cost"]["rollouts"] for r in scan if r["problem_id"] in confident)
            mc_confident = sum(r["label_cost"]["rollouts"] for r in mc if r["problem_id"] in confident)
            kept = sum(r["keep"] for r in _rows(scan_run / "denoise"))
            correct = sum(r["is_correct"] for r in scan) / len(scan)
            depths = [  # how far the scan ran into an incorrect response before its first zero estimate
                (json.loads(r["label_extra"]).get("error_step", 0) + 1) / len(r["steps"])
                for r in scan
                if not r["is_correct"] and "error_step" in json.loads(r["label_extra"])
            ]
            lines.append(
                f"| {policy} | {correct:.1%} | {len(confident)} of {PROBLEMS} | {mc_cost / PROBLEMS:.0f} "
                f"| {scan_cost / PROBLEMS:.0f} | {scan_cost / mc_cost:.1%} | {scan_confident / PROBLEMS:.0f} "
                f"| {scan_confident / mc_cost:.1%} | {scan_confident / max(mc_confident, 1):.1%} "
                f"| {sum(depths) / max(len(depths), 1):.2f} | {kept} of {len(scan)} |"
            )
    return "\n".join(lines)
