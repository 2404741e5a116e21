"""Run a plan on an existing Ray cluster: one Ray task per group of shards, ``num_gpus`` per task.

A task runs ``prmlabel task RUN STAGE --shards ...`` in a subprocess against the frozen config, so
the cluster's workers need prmlabel installed and the run folder on storage every node sees. Shard i
of a stage that reads only shard i of its input waits for that one upstream task (the object ref is
its argument); a stage that reads its whole input waits for every upstream task.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import typer

from prmlabel.launch.local import task_command
from prmlabel.launch.slurm import task_groups
from prmlabel.launch.status import wait_with_progress
from prmlabel.launch.task import TaskError


def _run_shards(command: list[str], env: dict[str, str], *upstream: Any) -> list[str]:
    """The Ray task body (shipped by value: workers need no prmlabel import to unpickle it)."""
    proc = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return command


def launch(run_folder: Path, plan: dict[str, Any], pending: dict[str, list[int]], progress: bool) -> None:
    import ray

    pipeline = plan["pipeline"]
    address = pipeline.get("address") or "auto"
    ray.init(address=address, log_to_driver=False, logging_level="ERROR", configure_logging=False)
    try:
        remote = ray.remote(_run_shards)
        env = {k: os.environ[k] for k in ("PYTHONPATH", "HF_HOME", "HF_HUB_OFFLINE") if k in os.environ}
        refs: dict[str, list[tuple[list[int], Any]]] = {}
        for stage, spec in plan["stages"].items():
            groups = task_groups(pending[stage], int(pipeline.get("shards_per_task") or 1))
            command = task_command(pipeline.get("python"), run_folder, stage)
            for group in groups:
                deps = []
                for upstream in spec["reads"]:
                    # shard i waits for the upstream task holding shard i; a whole-input stage for all of them
                    ups = refs.get(upstream, [])
                    deps += [ref for g, ref in ups if not spec["shardwise"] or set(g) & set(group)]
                options = {
                    "num_cpus": float(pipeline.get("num_cpus_per_task", 1)),
                    "num_gpus": float(pipeline.get("num_gpus_per_task", 0)),
                    "max_retries": int(pipeline.get("max_retries", 3)),
                    "name": f"prmlabel:{stage}:{','.join(map(str, group))}",
                }
                shard_arg = ["--shards", ",".join(map(str, group)), "--no-progress"]
                ref = remote.options(**options).remote([*command, *shard_arg], env, *deps)
                refs.setdefault(stage, []).append((group, ref))
            if groups:
                typer.echo(f"submitted {stage}: {len(groups)} Ray task(s) to {address}")
        all_refs = [ref for stage_refs in refs.values() for _, ref in stage_refs]
        remaining = list(all_refs)

        def finished() -> bool:
            nonlocal remaining
            if remaining:
                _, remaining = ray.wait(remaining, num_returns=len(remaining), timeout=0)
            return not remaining

        wait_with_progress(run_folder, plan, finished, progress, float(pipeline.get("poll_seconds", 1)))
        failures = []
        for stage, stage_refs in refs.items():
            for group, ref in stage_refs:
                try:
                    ray.get(ref)
                except Exception as exc:  # a Ray task error carries the task's stderr
                    failures.append(f"{stage} shards {group}: {str(exc).strip().splitlines()[-1]}")
        if failures:
            raise TaskError(
                "Ray tasks failed:\n  "
                + "\n  ".join(failures)
                + f"\nFix the cause, then `prmlabel run --resume -o {run_folder}`"
            )
    finally:
        ray.shutdown()
