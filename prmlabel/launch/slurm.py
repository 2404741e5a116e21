"""Run a plan on SLURM through submitit: each stage a job array, one task per group of shards.

Stage dependencies are chained shard by shard where SLURM allows: a stage whose shard i reads only
shard i of its input (label after generate) depends on its input's array with ``aftercorr``, so
shard i is labeled as soon as shard i is generated, and no GPU waits for the slowest shard of the
previous stage. A stage that reads its whole input (filter) waits with ``afterok``. A failed
dependency cancels the dependent tasks (``kill-on-invalid-dep``) instead of leaving them pending.

Each task runs ``prmlabel task RUN STAGE --shards ...`` against the frozen config. Tasks are
requeued on preemption or timeout (submitit's Checkpointable, plus ``--requeue``); a requeued task
skips the shards it finished. Submitted job ids go to ``RUN/_launch/slurm.json`` for ``prmlabel status``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import submitit
import typer

from prmlabel.contract.store import write_text_atomic
from prmlabel.launch.local import task_command
from prmlabel.launch.status import wait_with_progress
from prmlabel.launch.task import TaskError

JOBS_FILE = "_launch/slurm.json"
ACTIVE_STATES = ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED")


class ShardTask(submitit.helpers.Checkpointable):
    """One array task: run ``prmlabel task`` on its group of shards.

    Checkpointable: on preemption or timeout submitit requeues the same call; the store skips the
    shards already finished, so the requeued task only does what is left.
    """

    def __init__(self, command: list[str], groups: list[list[int]]):
        self.command = command
        self.groups = groups

    def __call__(self, task_index: int) -> list[int]:
        shards = self.groups[task_index]
        subprocess.run([*self.command, "--shards", ",".join(map(str, shards)), "--no-progress"], check=True)
        return shards


def task_groups(shards: list[int], per_task: int) -> list[list[int]]:
    per_task = max(1, per_task)
    return [shards[i : i + per_task] for i in range(0, len(shards), per_task)]


def read_jobs(run_folder: Path) -> list[dict[str, Any]]:
    path = run_folder / JOBS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def launch(run_folder: Path, plan: dict[str, Any], pending: dict[str, list[int]], progress: bool) -> None:
    pipeline = plan["pipeline"]
    active = active_jobs(run_folder)
    if active:
        raise TaskError(
            f"jobs of this run are still queued or running ({', '.join(sorted(active))}); wait for them "
            f"(`prmlabel status {run_folder}`) or cancel them with scancel before resuming"
        )
    submissions = read_jobs(run_folder)
    number = len(submissions)
    submitted: dict[str, dict[str, Any]] = {}
    for stage, spec in plan["stages"].items():
        groups = task_groups(pending[stage], int(pipeline.get("shards_per_task") or 1))
        if not groups:
            continue
        dependency = _dependency(plan, stage, groups, submitted, pipeline)
        folder = run_folder / "_launch" / "slurm" / f"{number:03d}-{stage}"
        executor = submitit.SlurmExecutor(
            folder=folder, max_num_timeout=int(pipeline.get("max_requeues", 3)), python=pipeline.get("python")
        )
        executor.update_parameters(**_parameters(plan, stage, spec, pipeline, dependency, len(groups)))
        command = task_command(pipeline.get("python"), run_folder, stage)
        jobs = executor.map_array(ShardTask(command, groups), range(len(groups)))
        job_id = jobs[0].job_id.split("_")[0]
        submitted[stage] = {
            "job_id": job_id,
            "array": len(jobs) > 1,
            "task_ids": [j.job_id for j in jobs],
            "groups": groups,
            "dependency": dependency,
            "folder": str(folder),
        }
        typer.echo(
            f"submitted {stage}: job {job_id}, {len(groups)} task(s){f', after {dependency}' if dependency else ''}"
        )
    submissions.append({"submitted_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "stages": submitted})
    write_text_atomic(json.dumps(submissions, indent=1) + "\n", run_folder / JOBS_FILE)
    if pipeline.get("hold"):
        typer.echo("submitted held (pipeline.hold=true); release with: scontrol release " + _ids(submitted))
    if not pipeline.get("wait", True) or pipeline.get("hold"):
        typer.echo(f"not waiting; follow with `prmlabel status {run_folder}`")
        return
    wait_with_progress(
        run_folder,
        plan,
        lambda: not active_jobs(run_folder),
        progress,
        float(pipeline.get("poll_seconds", 2)),
    )


def _ids(submitted: dict[str, dict[str, Any]]) -> str:
    return " ".join(s["job_id"] for s in submitted.values())


def _dependency(
    plan: dict[str, Any],
    stage: str,
    groups: list[list[int]],
    submitted: dict[str, dict[str, Any]],
    pipeline: dict[str, Any],
) -> str | None:
    """aftercorr on an upstream array with the same task -> shard groups, else afterok; none if it is done."""
    spec = plan["stages"][stage]
    parts = []
    for upstream in spec["reads"]:
        up = submitted.get(upstream)
        if up is None:
            continue  # finished in an earlier submission
        same_tasks = up["array"] and up["groups"] == groups
        kind = (
            "aftercorr" if spec["shardwise"] and same_tasks and pipeline.get("chain", "shard") == "shard" else "afterok"
        )
        parts.append(f"{kind}:{up['job_id']}")
    return ",".join(parts) or None


def _parameters(
    plan: dict[str, Any], stage: str, spec: dict[str, Any], pipeline: dict[str, Any], dependency: str | None, tasks: int
) -> dict[str, Any]:
    gpus = int(pipeline.get("gpus_per_task") or 0)
    params: dict[str, Any] = {
        "job_name": f"prmlabel-{plan['recipe']}-{stage}",
        "time": int(pipeline.get("time_min") or 60),
        "cpus_per_task": int(pipeline.get("cpus_per_task") or 1),
        "array_parallelism": int(pipeline.get("array_parallelism") or tasks),
        "signal_delay_s": int(pipeline.get("signal_delay_s") or 90),
        "additional_parameters": {
            "requeue": True,
            "kill-on-invalid-dep": "yes",
            **({"hold": True} if pipeline.get("hold") else {}),
            **(pipeline.get("additional") or {}),
        },
    }
    if pipeline.get("mem_gb"):
        params["mem"] = f"{int(pipeline['mem_gb'])}GB"
    if gpus:
        params["gpus_per_node"] = gpus
    for key in ("partition", "account", "qos", "constraint"):
        if pipeline.get(key):
            params[key] = pipeline[key]
    if pipeline.get("setup"):
        params["setup"] = list(pipeline["setup"])
    if dependency:
        params["dependency"] = dependency
    return params


def active_jobs(run_folder: Path) -> dict[str, str]:
    """Task id -> state of this run's tasks still in the queue (squeue, one line per array task)."""
    ids = [s["job_id"] for sub in read_jobs(run_folder) for s in sub["stages"].values()]
    if not ids:
        return {}
    return {k: v for k, v in queue_states(ids).items() if v in ACTIVE_STATES}


def queue_states(job_ids: list[str]) -> dict[str, str]:
    """squeue's view (jobs still known to slurmctld), one entry per array task."""
    if not shutil.which("squeue"):
        return {}
    proc = subprocess.run(
        ["squeue", "-h", "-r", "-t", "all", "-j", ",".join(job_ids), "-o", "%i|%T"],
        capture_output=True,
        text=True,
        check=False,
    )
    return dict(line.split("|", 1) for line in proc.stdout.split() if "|" in line)


def accounting_states(job_ids: list[str]) -> dict[str, str]:
    """sacct's view (finished tasks too) where accounting runs; empty otherwise."""
    if not shutil.which("sacct"):
        return {}
    proc = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-j", ",".join(job_ids), "-o", "JobID,State"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {}
    return {a: b.split()[0] for a, b in (line.split("|", 1) for line in proc.stdout.split("\n") if "|" in line)}


def shard_states(run_folder: Path) -> tuple[dict[str, dict[int, str]], list[str]]:
    """stage -> shard -> state of its latest task (squeue, then sacct), and lines naming the jobs."""
    submissions = read_jobs(run_folder)
    ids = [s["job_id"] for sub in submissions for s in sub["stages"].values()]
    if not ids:
        return {}, []
    states = {**accounting_states(ids), **queue_states(ids)}
    out: dict[str, dict[int, str]] = {}
    lines = []
    for sub in submissions:
        for stage, job in sub["stages"].items():
            task_states = []
            for task_id, group in zip(job["task_ids"], job["groups"], strict=True):
                state = states.get(task_id, "FINISHED")  # gone from the queue, no accounting: see the records
                task_states.append(f"{task_id.rpartition('_')[2] if job['array'] else task_id}={state}")
                for shard in group:
                    out.setdefault(stage, {})[shard] = state
            lines.append(f"{stage}: job {job['job_id']} ({sub['submitted_at']}) " + " ".join(task_states))
    return out, lines
