"""`make bench`: the benchmark harness. Prints markdown tables to paste into docs/benchmarks.md.

Not part of `make test`: numbers here are measurements, never assertions. Run one benchmark with
`python -m tests.bench.run generate` (names below), all with no argument.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tests.bench.backends  # noqa: F401
import tests.bench.filters  # noqa: F401  (registers its benchmarks)
import tests.bench.recipes  # noqa: F401  (registers its benchmarks)
import tests.bench.reliability  # noqa: F401  (registers its benchmarks)
import tests.bench.trees  # noqa: F401  (registers its benchmarks)
import tests.bench.verifiers  # noqa: F401  (registers its benchmarks)
from tests.bench import labelers  # noqa: F401  (registers its benchmarks)
from tests.bench.registry import BENCHMARKS, bench

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "prmlabel", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    return time.perf_counter() - start, proc.stdout


@bench
def bench_generate() -> str:
    """End-to-end `prmlabel generate` on the synthetic backend: the pipeline's own overhead per rollout."""
    lines = ["| problems | samples | shards | rollouts | wall s | rollouts/s |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        for count, samples, shards in ((1000, 8, 4), (5000, 8, 8)):
            _cli("synthetic", "problems", "--count", str(count), "--steps", "4-12", "-o", f"p{count}.jsonl", cwd=cwd)
            seconds, _ = _cli(
                "generate",
                "-i",
                f"p{count}.jsonl",
                "-o",
                f"out{count}",
                "--samples",
                str(samples),
                "--num-shards",
                str(shards),
                "--no-progress",
                cwd=cwd,
            )
            rollouts = count * samples
            lines.append(f"| {count} | {samples} | {shards} | {rollouts} | {seconds:.1f} | {rollouts / seconds:.0f} |")
    return "\n".join(lines)


@bench
def bench_answers() -> str:
    """Answer checking: the exact-number fast path and the math-verify path (in the limited worker)."""
    from prmlabel.text.answers import is_equivalent

    cases = {
        "numbers (fast path)": [("1,000", "1000"), ("0.5", "\\frac{1}{2}"), ("11", "1")] * 300,
        "LaTeX (math-verify in a worker)": [("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"), ("x^2+2x", "x(x+2)")]
        * 50,
    }
    lines = ["| case | checks | checks/s |", "|---|---|---|"]
    for name, pairs in cases.items():
        is_equivalent(*pairs[0])  # warm the worker
        start = time.perf_counter()
        for a, b in pairs:
            is_equivalent(a, b)
        seconds = time.perf_counter() - start
        lines.append(f"| {name} | {len(pairs)} | {len(pairs) / seconds:.0f} |")
    return "\n".join(lines)


@bench
def bench_synthetic_calibration() -> str:
    """Observed slip and recovery rates of the simulated policy against their settings."""
    import random

    from prmlabel.synthetic.policy import SyntheticPolicy, parse_step, split_solution
    from prmlabel.synthetic.problems import make_problems, problem_from_row

    lines = ["| slip set | slip observed | recovery set | recovery observed | steps |", "|---|---|---|---|---|"]
    rows = make_problems(1000, (6, 12), seed=1)
    for slip, recovery in ((0.05, 0.2), (0.1, 0.2), (0.3, 0.5)):
        policy = SyntheticPolicy(slip_rate=slip, recovery_rate=recovery)
        rng = random.Random(0)
        from_right = slips = from_wrong = recovered = 0
        for row in rows:
            problem = problem_from_row(row)
            values = problem.values
            text = policy.continue_text(problem, "", rng)
            on_track = True
            for i, step in enumerate(split_solution(text)):
                parsed = parse_step(step)
                if parsed is None or parsed.result is None or i >= len(problem.ops):
                    break
                right = parsed.result == values[i + 1]
                if on_track:
                    from_right += 1
                    slips += not right
                else:
                    from_wrong += 1
                    recovered += right
                on_track = right
        observed_slip, observed_recovery = slips / from_right, recovered / max(from_wrong, 1)
        lines.append(
            f"| {slip} | {observed_slip:.4f} | {recovery} | {observed_recovery:.4f} | {from_right + from_wrong} |"
        )
    return "\n".join(lines)


def main(names: list[str]) -> None:
    chosen = names or list(BENCHMARKS)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    results = {}
    for name in chosen:
        print(f"\n## {name}\n\n{BENCHMARKS[name].__doc__}\n")
        results[name] = BENCHMARKS[name]()
        print(results[name])
    Path(REPO / "runs").mkdir(exist_ok=True)
    (REPO / "runs" / "bench.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
