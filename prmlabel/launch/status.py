"""What a run has done: per stage, shards done / running / failed / pending, rows and cost.

Shards are done when their completion record exists (the store's commit point), so this reads the
run folder only; the executors add what the scheduler knows (SLURM job ids and states).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from tqdm import tqdm

from prmlabel.contract.store import ShardStore

# Cost keys worth a column, in this order, when any stage reports them.
COST_COLUMNS = ("rollouts", "generated_tokens", "kept", "dropped")


def stage_progress(run_folder: Path, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage: shard counts, rows in/out/rejected and the summed numeric cost."""
    rows = []
    for name, spec in plan["stages"].items():
        store = ShardStore(run_folder / name)
        total = int(spec["config"]["num_shards"])
        records = [r for r in (store.read_record(i) for i in range(total)) if r is not None]
        cost: dict[str, float] = {}
        for rec in records:
            for key, value in rec.cost.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    cost[key] = cost.get(key, 0) + value
        rows.append(
            {
                "stage": name,
                "command": spec["command"] + _method(spec),
                "shards": total,
                "done": [r.shard for r in records],
                "rows_in": sum(r.rows_in for r in records),
                "rows_out": sum(r.rows_out for r in records),
                "rejected": sum(r.rows_rejected for r in records),
                "written": sum(r.rows_written for r in records),
                "seconds": sum(r.seconds for r in records),
                "cost": cost,
            }
        )
    return rows


def _method(spec: dict[str, Any]) -> str:
    method = spec["config"].get("method")
    return f" {method}" if method else ""


def print_table(rows: list[dict[str, Any]], states: dict[str, dict[int, str]] | None = None) -> None:
    """The per-stage table. ``states`` maps stage -> shard -> scheduler state for unfinished shards."""
    states = states or {}
    cost_keys = [k for k in COST_COLUMNS if any(k in r["cost"] for r in rows)]
    header = ["stage", "command", "done", "running", "failed", "pending", "rows in", "out", "rejected", "seconds"]
    header += [k.replace("_", " ") for k in cost_keys]
    table = [header]
    for r in rows:
        unfinished = states.get(r["stage"], {})
        running = sum(1 for s in unfinished.values() if s in ("RUNNING", "COMPLETING", "CONFIGURING"))
        failed = sum(1 for s in unfinished.values() if s not in ("RUNNING", "COMPLETING", "CONFIGURING", "PENDING"))
        pending = r["shards"] - len(r["done"]) - running - failed
        line = [r["stage"], r["command"], f"{len(r['done'])}/{r['shards']}", str(running), str(failed), str(pending)]
        line += [str(r["rows_in"]), str(r["rows_out"]), str(r["rejected"]), f"{r['seconds']:.1f}"]
        line += [_number(r["cost"].get(k)) for k in cost_keys]
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def done_shards(run_folder: Path, plan: dict[str, Any]) -> int:
    return sum(len(r["done"]) for r in stage_progress(run_folder, plan))


def wait_with_progress(
    run_folder: Path, plan: dict[str, Any], finished: Callable[[], bool], progress: bool, poll_seconds: float
) -> None:
    """One progress bar over every shard of every stage until ``finished()`` says the executor is done."""
    total = sum(int(s["config"]["num_shards"]) for s in plan["stages"].values())
    with tqdm(total=total, desc="shards", unit="shard", disable=None if progress else True, dynamic_ncols=True) as bar:
        bar.update(done_shards(run_folder, plan))
        while True:
            is_finished = finished()
            bar.update(done_shards(run_folder, plan) - bar.n)
            if is_finished:
                return
            time.sleep(poll_seconds)
