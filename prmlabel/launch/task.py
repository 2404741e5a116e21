"""One task of a run: some shards of one stage, against the frozen config in ``RUN/run.yaml``.

Every executor ends here: the local one in-process, SLURM and Ray through ``prmlabel task``. A task
refuses to run when the prmlabel code changed since the run was frozen, or when a shard it reads is
not finished or was written by another config, and says what to do instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prmlabel.contract.config import fingerprint
from prmlabel.contract.store import ShardStore, StoreError
from prmlabel.launch.plan import changed_code, read_plan, stage_class
from prmlabel.stages.runner import RunSummary, run_stage


class TaskError(StoreError):
    """A task that must not run; the message says why and what to do."""


def stage_shards(plan: dict[str, Any], stage: str) -> int:
    return int(plan["stages"][stage]["config"]["num_shards"])


def pending_shards(run_folder: Path, plan: dict[str, Any], stage: str) -> list[int]:
    store = ShardStore(run_folder / stage)
    return [i for i in range(stage_shards(plan, stage)) if not store.is_done(i)]


def check_code(run_folder: Path, plan: dict[str, Any]) -> None:
    changed = changed_code(run_folder, plan)
    if changed:
        raise TaskError(
            f"the prmlabel code changed since {run_folder} was frozen ({', '.join(changed[:8])}"
            f"{', ...' if len(changed) > 8 else ''}); its shards would not match the ones already written. "
            "Restore that code, start a new run folder, or re-freeze with "
            "`prmlabel run --resume --accept-code-change -o RUN`"
        )


def check_inputs(run_folder: Path, plan: dict[str, Any], stage: str, shards: list[int]) -> None:
    """Every shard this task reads must be finished, by the config the plan froze."""
    spec = plan["stages"][stage]
    for upstream in spec["reads"]:
        store = ShardStore(run_folder / upstream)
        manifest = store.read_manifest()
        expected = plan["stages"][upstream]["fingerprint"]
        if manifest is not None and manifest.get("fingerprint") != expected:
            raise TaskError(
                f"{store.root} was written by another config (fingerprint {manifest.get('fingerprint')}, "
                f"the run froze {expected}); start a new run folder"
            )
        needed = shards if spec["shardwise"] else list(range(stage_shards(plan, upstream)))
        missing = [i for i in needed if not store.is_done(i)]
        if missing:
            raise TaskError(
                f"stage {stage} needs shards {missing} of {upstream}, which are not finished; "
                f"see `prmlabel status {run_folder}` and continue with `prmlabel run ... --resume`"
            )


def run_task(run_folder: Path, stage: str, shards: list[int] | None, progress: bool = True) -> list[RunSummary]:
    """Run ``shards`` of ``stage`` (None: every shard in one process) and return the stage summaries."""
    run_folder = Path(run_folder).resolve()
    plan = read_plan(run_folder)
    if stage not in plan["stages"]:
        raise TaskError(f"the run in {run_folder} has no stage {stage!r} (its stages: {', '.join(plan['stages'])})")
    check_code(run_folder, plan)
    total = stage_shards(plan, stage)
    bad = [i for i in shards or [] if not 0 <= i < total]
    if bad:
        raise TaskError(f"shards {bad} are outside 0..{total - 1} for stage {stage}")
    check_inputs(run_folder, plan, stage, list(range(total)) if shards is None else shards)
    config: dict[str, Any] = plan["stages"][stage]["config"]
    config = {**config, "runtime": {**(config.get("runtime") or {}), "progress": progress}}
    previous_cwd = os.getcwd()
    os.chdir(run_folder)  # the frozen configs name the run's folders relative to it
    summaries = []
    try:
        instance = stage_class(plan["stages"][stage]["command"])(config, fingerprint(config))
        try:
            if shards is None:
                summaries.append(run_stage(instance, config, config["output"]))
            for index in shards or []:
                shard_config = {**config, "runtime": {**config["runtime"], "shard": f"{index}/{total}"}}
                summaries.append(run_stage(instance, shard_config, config["output"]))
        finally:
            instance.close()
    finally:
        os.chdir(previous_cwd)
    return summaries


def parse_shard_list(text: str) -> list[int]:
    """'0,1,5' or '0-3' or a mix -> sorted shard indices."""
    out: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, sep, high = part.partition("-")
        try:
            out.update(range(int(low), int(high) + 1) if sep else [int(low)])
        except ValueError:
            raise TaskError(f"--shards {text!r}: write indices as 0,1,2 or ranges as 0-3") from None
    return sorted(out)
