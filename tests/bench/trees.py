"""Search trees: how close node values come to the truth, and what the trees cost.

`python -m tests.bench.run trees` (synthetic environment, where a prefix's true success probability is
known exactly: :func:`prmlabel.synthetic.truth.success_probability`) runs the real command line
(`generate`, then `label --method omegaprm params.mode=search` and `label --method rest_mcts`) and
reports, per method, the mean absolute error of node values against that truth, next to rollouts
and backend calls per question.

`python -m tests.bench.run trees_llamacpp` runs OmegaPRM's search with openr's settings (k 16,
c_puct 0.125, alpha 0.5, beta 0.9, L 500, search limit and rollout budget 200, T 0.7, top_p 0.9, no
question filter: openr searches every problem) with llama.cpp and SmolLM2-135M on the first 10 GSM8K
test problems, next to the anchor measured on this machine: openr's own search, 1,234 s, 44 engine
calls, 864 rollouts. It also counts continuations that were empty or cut at max_tokens, and checks
that none of them is a correct leaf or counted as a success.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from prmlabel.synthetic.policy import SyntheticPolicy
from prmlabel.synthetic.truth import success_probability
from tests.bench.registry import bench

REPO = Path(__file__).resolve().parents[2]
SLIP, RECOVERY = 0.1, 0.2  # the synthetic backend's defaults


def _cli(*args: str, cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "prmlabel", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    return time.perf_counter() - start


def _records(folder: Path) -> dict[str, float]:
    total: dict[str, float] = {}
    for path in (folder / "_records").glob("*.json"):
        for key, value in json.loads(path.read_text())["cost"].items():
            if isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    return total


def _node_errors(folder: Path, problems: dict[str, dict[str, Any]]) -> dict[str, float]:
    """MAE of each value column against the true success probability, over nodes that have both."""
    policy = SyntheticPolicy(slip_rate=SLIP, recovery_rate=RECOVERY)
    rows = duckdb.sql(
        f"select problem_id, list_concat(prefix_steps, [step]) as path, mc, value_target, terminal, rollouts "
        f"from '{folder}/nodes/*.parquet'"
    ).fetchall()
    errors: dict[str, list[float]] = {"mc": [], "mc (estimated nodes)": [], "binomial": [], "value_target": []}
    for problem_id, path, mc, target, terminal, rollouts in rows:
        truth = success_probability(problems[problem_id], "".join(path), policy)
        if truth is None:
            continue
        if mc is not None:
            errors["mc"].append(abs(mc - truth))
            if not terminal and rollouts:
                errors["mc (estimated nodes)"].append(abs(mc - truth))
                errors["binomial"].append(_binomial_mae(rollouts, truth))
        if target is not None:
            errors["value_target"].append(abs(target - truth))
    out = {f"mae {k}": sum(v) / len(v) for k, v in errors.items() if v}
    out["nodes"] = len(rows)
    return out


def _binomial_mae(k: int, p: float) -> float:
    """E|X/k - p| for X ~ Binomial(k, p): the error of an unbiased k-rollout estimate of this node."""
    return sum(math.comb(k, x) * p**x * (1 - p) ** (k - x) * abs(x / k - p) for x in range(k + 1))


@bench
def bench_trees() -> str:
    """Tree methods on the simulator: node values against the exact truth, rollouts and calls per question."""
    lines = [
        "| method | questions kept | nodes / question | MAE of mc (estimated nodes) | same nodes, an unbiased "
        "estimate with their rollouts would have | MAE of value_target | rollouts / question "
        "| backend calls / question | rollouts / backend call | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        _cli("synthetic", "problems", "--count", "40", "--steps", "3-7", "--seed", "0", "-o", "p.jsonl", cwd=cwd)
        problems = {json.loads(line)["problem_id"]: json.loads(line) for line in (cwd / "p.jsonl").open()}
        gen = ["generate", "--backend", "synthetic", "-i", "p.jsonl", "-o", "gen", "--samples", "4", "--no-progress"]
        _cli(*gen, cwd=cwd)
        runs = {
            "omegaprm search (k 8, limit 100)": [
                "--method", "omegaprm", "params.mode=search", "params.split=double_newline",
            ],
            "omegaprm search (k 16, limit 20)": [
                "--method", "omegaprm", "params.mode=search", "params.split=double_newline", "params.k=16",
                "params.search_limit=20",
            ],
            "omegaprm search (k 8, limit 100, parallel 4)": [
                "--method", "omegaprm", "params.mode=search", "params.split=double_newline", "params.parallel=4",
            ],
            "rest_mcts (50 iterations)": ["--method", "rest_mcts"],
        }  # fmt: skip
        for name, args in runs.items():
            out = f"out{len(lines)}"
            # runtime.rollout_cache=none: each run draws its own rollouts (no run answers another's from disk)
            label = ["label", "--backend", "synthetic", "-i", "gen", "-o", out, "runtime.rollout_cache=none"]
            seconds = _cli(*label, *args, "--no-progress", cwd=cwd)
            cost = _records(cwd / out)
            errors = _node_errors(cwd / out, problems)
            kept = int(cost["questions"] - cost.get("questions_dropped", 0))
            mc_mae = _fmt(errors.get("mae mc (estimated nodes)"))
            binomial = _fmt(errors.get("mae binomial"))
            target_mae = _fmt(errors.get("mae value_target"))
            lines.append(
                f"| {name} | {kept} of {int(cost['questions'])} | {errors['nodes'] / max(kept, 1):.1f} "
                f"| {mc_mae} | {binomial} | {target_mae} "
                f"| {cost['generated_rollouts'] / max(kept, 1):.0f} | {cost['backend_calls'] / max(kept, 1):.1f} "
                f"| {cost['generated_rollouts'] / max(cost['backend_calls'], 1):.0f} | {seconds:.1f} |"
            )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


OPENR = {"seconds": 1234, "engine_calls": 44, "rollouts": 864, "problems": 10}
OPENR_SETTINGS = [
    "params.mode=search",
    "params.k=16",
    "params.c_puct=0.125",
    "params.alpha=0.5",
    "params.beta=0.9",
    "params.L=500",
    "params.search_limit=200",
    "params.rollout_budget=200",
    "params.filter_rollouts=0",  # openr searches every problem
    "params.split=double_newline",  # openr cuts rollouts at blank lines
]


@bench
def bench_trees_llamacpp() -> str:
    """OmegaPRM's search with openr's settings on llama.cpp + SmolLM2, the first 10 GSM8K test problems."""
    max_tokens = os.environ.get("PRMLABEL_BENCH_MAX_TOKENS", "256")
    parallel = os.environ.get("PRMLABEL_BENCH_PARALLEL", "1")  # 1: the paper's one selection at a time
    sampling = ["--temperature", "0.7", "--top-p", "0.9", "--max-tokens", max_tokens]
    # Kept under runs/ (the run takes tens of minutes; its folders answer later questions about it).
    cwd = REPO / "runs" / f"bench-trees-llamacpp-t{max_tokens}-p{parallel}"
    shutil.rmtree(cwd, ignore_errors=True)
    cwd.mkdir(parents=True)
    lines = (REPO / "tests" / "data" / "gsm8k" / "test.jsonl").read_text().splitlines()[:10]
    (cwd / "p.jsonl").write_text("\n".join(lines) + "\n")
    gen_s = _cli("generate", "-i", "p.jsonl", "--preset", "gsm8k", "-o", "gen", "--samples", "1", *sampling,
                 "--no-progress", cwd=cwd)  # fmt: skip
    label_s = _cli("label", "-i", "gen", "-o", "omega", "--method", "omegaprm", *OPENR_SETTINGS, *sampling,
                   f"params.parallel={parallel}", "--no-progress", cwd=cwd)  # fmt: skip
    return _anchor_table(cwd, gen_s, label_s, max_tokens, parallel)


def _anchor_table(cwd: Path, gen_s: float, label_s: float, max_tokens: str, parallel: str) -> str:
    cost = _records(cwd / "omega")
    cut, cut_right, samples = duckdb.sql(
        f"select count(*) filter (where finish_reason != 'stop' or trim(text) = ''), "
        f"count(*) filter ((finish_reason != 'stop' or trim(text) = '') and correct), count(*) "
        f"from '{cwd}/_rollout_cache/*/*/*.parquet'"
    ).fetchall()[0]
    nodes_file = f"'{cwd}/omega/nodes/*.parquet'"
    bad_leaves = duckdb.sql(f"select count(*) from {nodes_file} where terminal and correct and trim(step) = ''")
    nodes, searched = duckdb.sql(f"select count(*), count(distinct problem_id) from {nodes_file}").fetchall()[0]
    rollouts, calls = cost["generated_rollouts"], cost["backend_calls"]
    ours = calls / rollouts if rollouts else float("nan")
    theirs = OPENR["engine_calls"] / OPENR["rollouts"]
    table = [
        "| run | problems searched | wall s | engine calls | rollouts | engine calls per rollout |",
        "|---|---|---|---|---|---|",
        f"| openr omegaPRM_v2 (anchor, this machine) | 10 | {OPENR['seconds']} | {OPENR['engine_calls']} "
        f"| {OPENR['rollouts']} | {theirs:.4f} |",
        f"| prmlabel label --method omegaprm (search, parallel {parallel}) | {searched} | {label_s:.0f} "
        f"| {int(calls)} | {int(rollouts)} | {ours:.4f} ({theirs / ours:.1f}x fewer) |",
        "",
        f"generate (1 response per problem, seeds the pool): {gen_s:.0f} s; max_tokens {max_tokens}; "
        f"{nodes} nodes; backend rounds {int(cost['rounds'])}; generated tokens {int(cost['generated_tokens'])}.",
        f"Continuations empty or cut at max_tokens: {cut} of {samples}, counted correct: {cut_right}; "
        f"correct leaves with an empty step: {bad_leaves.fetchall()[0][0]}.",
    ]
    return "\n".join(table)
