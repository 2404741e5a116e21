"""What the filters buy, on the synthetic environment, through the real command line.

Consensus (Qwen "Lessons"): MC labels (k=8, hard = any continuation correct) and a SIMULATED judge
of given accuracy each name a first error; consensus keeps the rows where they agree. Scored
against the simulator's ``gold_first_error``:

- first-error precision: of the rows a signal labels, the fraction whose first error is the true one;
- step precision: of the step labels it keeps (consensus and judge labels stop at the first error),
  the fraction equal to the true path label (1 before the true first error, 0 from it on);
- kept: the fraction of responses that keep labels.

SCAN: soft labels (tolerance d=2) of the SCAN filter against the hard MC labels of the same rows
and steps, by mean absolute error to the true path label.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.bench.registry import bench

REPO = Path(__file__).resolve().parents[2]
PROBLEMS, SAMPLES, STEPS = 150, 8, "4-10"
ACCURACIES = (0.6, 0.75, 0.8, 0.95)


def _cli(cwd: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "prmlabel", *args] + (["--no-progress"] if args[0] != "synthetic" else []),
        cwd=cwd,
        env=env,
        text=True,
        capture_output=True,
    )
    if proc.returncode:
        raise RuntimeError(f"prmlabel {' '.join(args)}: {proc.stderr}")


def _rows(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


def _truth(gold: int, t: int) -> float:
    return 1.0 if gold == -1 or t < gold else 0.0


def _path(first_error: int, steps: int) -> list[float]:
    return [1.0] * steps if first_error < 0 else [1.0] * first_error + [0.0]


def _score(rows: list[tuple[int, int | None, list[float | None]]], total: int) -> str:
    """rows: (gold, predicted first error, labels); returns '| fe precision | step precision | kept |'."""
    fe_ok = sum(fe == gold for gold, fe, _ in rows)
    steps = [(lab == _truth(gold, t)) for gold, _, labels in rows for t, lab in enumerate(labels) if lab is not None]
    fe_p = fe_ok / len(rows) if rows else float("nan")
    st_p = sum(steps) / len(steps) if steps else float("nan")
    return f"{fe_p:.3f} | {st_p:.3f} | {len(rows) / total:.1%} ({len(rows)})"


def _setup(root: Path) -> None:
    _cli(root, "synthetic", "problems", "--count", str(PROBLEMS), "--steps", STEPS, "--seed", "5", "-o", "p.jsonl")
    _cli(
        root,
        "generate",
        "-i",
        "p.jsonl",
        "-o",
        "r/rollouts",
        "--backend",
        "synthetic",
        "--samples",
        str(SAMPLES),
        "--num-shards",
        "4",
    )
    _cli(root, "label", "-i", "r/rollouts", "-o", "r/mc", "--method", "mc", "--backend", "synthetic")


@bench
def bench_consensus() -> str:
    """MC alone, a simulated judge alone, and their consensus, by judge accuracy."""
    lines = [
        f"{PROBLEMS} synthetic problems x {SAMPLES} responses (default noise: slip 0.1, recovery 0.2), MC k=8.",
        "",
        "| judge accuracy | signal | first-error precision | step precision | kept |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _setup(root)
        mc = {r["response_id"]: r for r in _rows(root / "r" / "mc")}
        total = len(mc)
        mc_rows = [
            (r["gold_first_error"], r["first_error"], _path(r["first_error"], len(r["steps"]))) for r in mc.values()
        ]
        lines.append(f"| - | MC alone (path labels) | {_score(mc_rows, total)} |")
        mc_all = [(r["gold_first_error"], r["first_error"], list(map(_f, r["hard"]))) for r in mc.values()]
        lines.append(f"| - | MC alone (every step's own label) | {_score(mc_all, total)} |")
        for acc in ACCURACIES:
            judge_dir, final_dir = f"r/judge{acc}", f"r/final{acc}"
            _cli(
                root,
                "label",
                "-i",
                "r/rollouts",
                "-o",
                judge_dir,
                "--method",
                "judge",
                "--backend",
                "synthetic",
                f"backend.options.judge_accuracy={acc}",
            )
            _cli(root, "filter", "-i", "r/mc", "--with", judge_dir, "-o", final_dir, "--method", "consensus")
            judge = [r for r in _rows(root / judge_dir) if r["first_error"] is not None]
            j_rows = [
                (r["gold_first_error"], r["first_error"], _path(r["first_error"], len(r["steps"]))) for r in judge
            ]
            kept = [r for r in _rows(root / final_dir) if r["keep"]]
            c_rows = [(r["gold_first_error"], r["first_error"], r["labels_final"]) for r in kept]
            lines.append(f"| {acc} | judge alone | {_score(j_rows, total)} |")
            lines.append(f"| {acc} | consensus | {_score(c_rows, total)} |")
    return "\n".join(lines)


def _f(h: bool | None) -> float | None:
    return None if h is None else float(h)


@bench
def bench_scan_soft() -> str:
    """SCAN's tolerance soft labels against hard MC labels on the same rows and steps (MAE to the truth)."""
    lines = ["| labels | rows | steps | MAE to the true path label |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _setup(root)
        _cli(root, "label", "-i", "r/rollouts", "-o", "r/scan", "--method", "scan", "--backend", "synthetic")
        results: dict[str, list[float]] = {"SCAN soft (d=2)": [], "SCAN hard (d=0)": [], "MC hard (k=8)": []}
        mc = {r["response_id"]: r for r in _rows(root / "r" / "mc")}
        for d, name in ((2, "SCAN soft (d=2)"), (0, "SCAN hard (d=0)")):
            out = f"r/scan_d{d}"
            _cli(
                root,
                "filter",
                "-i",
                "r/scan",
                "-o",
                out,
                "--method",
                "scan",
                "--tolerance",
                str(d),
                "--min-confidence",
                "0.5",
            )
            kept = [r for r in _rows(root / out) if r["keep"]]
            for r in kept:
                for t, lab in enumerate(r["labels_final"]):
                    if lab is None:
                        continue
                    results[name].append(abs(lab - _truth(r["gold_first_error"], t)))
                    if d == 2:
                        hard = mc[r["response_id"]]["hard"][t]
                        if hard is not None:
                            results["MC hard (k=8)"].append(abs(float(hard) - _truth(r["gold_first_error"], t)))
            if d == 2:
                rows = len(kept)
        for name, errs in results.items():
            lines.append(f"| {name} | {rows} | {len(errs)} | {sum(errs) / max(len(errs), 1):.4f} |")
    return "\n".join(lines)
