"""Reliability at length (docs/reliability.md): many seeded SIGKILLs across stages, and a 100k-response
labeling run with its peak memory and per-shard throughput. `make test` runs the short versions."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.registry import bench
from tests.reliability.harness import cli_env, cli_ok, records
from tests.reliability.kill_scenarios import generate_then_label, run_recipe, table


@bench
def bench_reliability_kills() -> str:
    """SIGKILL at seeded random moments: generate, label by omegaprm, mc, sympy and judge, filter, and a whole
    `prmlabel run math_shepherd` resumed with --resume, 6 kills each."""
    with tempfile.TemporaryDirectory() as tmp:
        results = generate_then_label(
            Path(tmp),
            kills_per_stage=6,
            seed=7,
            methods=("omegaprm", "mc", "sympy", "judge"),
            filters=("prof,dedup,balance",),
        )
        results.append(run_recipe(Path(tmp) / "recipe", kills=6, seed=8))
    total = sum(r.log.kills for r in results)
    return table(results) + f"\n\nkills survived: {total}; rows lost: {sum(r.missing for r in results)}"


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc), in kB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def _measure(args: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak resident memory (process tree, polled every 0.2 s) of ``prmlabel ARGS``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "prmlabel", *args], cwd=cwd, env=cli_env(), stdout=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.2)
    if proc.returncode:
        raise RuntimeError(f"prmlabel {' '.join(args)} failed ({proc.returncode})")
    return time.perf_counter() - start, peak


@bench
def bench_reliability_load() -> str:
    """`prmlabel label --method omegaprm` on synthetic rollouts (4 per problem, generated in 8 shards): peak
    memory of the process tree and rows/s of each shard, at 25k and 100k responses, and 100k relabeled
    into 32 shards (as many rows per shard as 25k in 8); then one cluster task's (``--shard 0/N``) peak."""
    lines = [
        "| responses | shards | rows per shard | rollouts used | wall s | responses/s | peak RSS MB "
        "| per-shard rows/s min / median / max | one `--shard 0/N` task: peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for problems, shard_counts in ((6_250, (8,)), (25_000, (8, 32))):
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            cli_ok(
                ["synthetic", "problems", "--count", str(problems), "--steps", "4-8", "--seed", "0", "-o", "p.jsonl"],
                cwd,
            )
            cli_ok(["generate", "-i", "p.jsonl", "-o", "rollouts", "--backend", "synthetic", "--samples", "4",
                    "--num-shards", "8", "--no-progress"], cwd)  # fmt: skip
            for shards in shard_counts:
                label = ["label", "-i", "rollouts", "--method", "omegaprm", "--backend", "synthetic",
                         "--num-shards", str(shards), "--no-progress"]  # fmt: skip
                seconds, peak_kb = _measure([*label, "-o", f"labels{shards}"], cwd)
                recs = records(cwd / f"labels{shards}")
                rates = sorted(r["rows_out"] / r["seconds"] for r in recs)
                responses = sum(r["rows_out"] for r in recs)
                lost = sum(r["rows_in"] - r["rows_out"] - r["rows_rejected"] for r in recs)
                assert lost == 0 and sum(r["rows_in"] for r in recs) == problems * 4
                rollouts = int(sum(r["cost"].get("rollouts", 0) for r in recs))
                _, task_kb = _measure([*label, "-o", f"task{shards}", "--shard", f"0/{shards}"], cwd)
                lines.append(
                    f"| {responses} | {len(recs)} | {responses // len(recs)} | {rollouts} | {seconds:.0f} "
                    f"| {responses / seconds:.0f} | {peak_kb / 1024:.0f} "
                    f"| {rates[0]:.0f} / {statistics.median(rates):.0f} / {rates[-1]:.0f} | {task_kb / 1024:.0f} |"
                )
    return "\n".join(lines)
