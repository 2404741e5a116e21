"""Run a plan on this machine: stage after stage, with ``pipeline.workers`` processes per stage.

One worker runs a stage in-process (one backend load for all its shards). More workers split the
pending shards round-robin and run ``prmlabel task`` each, with ``CUDA_VISIBLE_DEVICES`` set to
``gpus_per_worker`` GPUs of their own, so one process per GPU or CPU worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from prmlabel.launch.task import TaskError, run_task


def task_command(python: str | None, run_folder: Path, stage: str) -> list[str]:
    """The command line of one task; its shards follow as ``--shards 0,1``."""
    return [python or sys.executable, "-m", "prmlabel", "task", str(run_folder), stage]


def launch(run_folder: Path, plan: dict[str, Any], pending: dict[str, list[int]], progress: bool) -> None:
    pipeline = plan["pipeline"]
    workers = int(pipeline.get("workers") or 1)
    for number, (stage, spec) in enumerate(plan["stages"].items(), start=1):
        shards = pending[stage]
        typer.echo(
            f"[{number}/{len(plan['stages'])}] {stage}: prmlabel {spec['command']} "
            f"({len(shards)} of {spec['config']['num_shards']} shards to run)"
        )
        if not shards:
            continue
        if workers <= 1 or len(shards) == 1:
            run_task(run_folder, stage, None, progress=progress)
        else:
            _run_workers(run_folder, plan, stage, shards, workers, pipeline)


def _run_workers(
    run_folder: Path, plan: dict[str, Any], stage: str, shards: list[int], workers: int, pipeline: dict[str, Any]
) -> None:
    log_dir = run_folder / "_launch" / "local"
    log_dir.mkdir(parents=True, exist_ok=True)
    gpus = int(pipeline.get("gpus_per_worker") or 0)
    procs = []
    for worker in range(min(workers, len(shards))):
        mine = shards[worker::workers]
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(worker * gpus + g) for g in range(gpus))
        log = log_dir / f"{stage}-worker{worker}.log"
        command = task_command(pipeline.get("python"), run_folder, stage) + ["--shards", ",".join(map(str, mine))]
        with open(log, "w", encoding="utf-8") as fh:
            procs.append((worker, log, subprocess.Popen(command + ["--no-progress"], env=env, stdout=fh, stderr=fh)))
    failed = [(worker, log) for worker, log, proc in procs if proc.wait() != 0]
    if failed:
        raise TaskError(
            f"stage {stage}: {len(failed)} worker(s) failed; see "
            + ", ".join(str(log) for _, log in failed)
            + f". Fix the cause, then `prmlabel run --resume -o {run_folder}`"
        )
