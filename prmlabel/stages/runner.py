"""Drive a stage over its shards: partition inputs, skip finished shards, write, summarise.

The runner knows shards and folders; a stage knows how to turn one shard's inputs into rows.
A stage that can say where its rows go without reading them (``plan(num_shards)`` -> rows per
shard, then ``load_shard(index)``) is loaded one shard at a time; the others are loaded once.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from prmlabel.contract.config import fingerprint
from prmlabel.contract.schema import table_from_rows
from prmlabel.contract.store import ShardRecord, ShardStore, StoreError, parse_shard_spec, shard_of


@dataclass
class StageInputs:
    """Everything a stage reads: work items and input rejects, each with its shard key."""

    items: list[tuple[str, Any]]
    rejects: list[tuple[str, dict[str, Any]]]
    rows_in: int


@dataclass
class ShardOutput:
    rows: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    rows_out: int  # input units that produced rows (problems, for generate)
    cost: dict[str, Any] = field(default_factory=dict)
    # Rejects that are output units, not input ones (generate: responses left out by require_answer or
    # select_paths); rows in counts them too, so rows in = rows out + rejected still holds.
    dropped: int = 0
    # Tables written beside the rows, by name (``nodes``: a tree method's search trees), already sorted.
    side: dict[str, pa.Table] = field(default_factory=dict)


class Stage(Protocol):
    """A stage reads its input either whole (``load``) or shard by shard (``plan``, then ``load_shard``)."""

    name: str
    schema: pa.Schema

    def process(self, items: list[Any], progress: tqdm, shard: int = 0) -> ShardOutput: ...

    def sort_key(self, row: dict[str, Any]) -> Any: ...


class WholeInputStage(Stage, Protocol):
    def load(self) -> StageInputs: ...


@runtime_checkable
class ShardedInputStage(Stage, Protocol):
    def plan(self, num_shards: int) -> dict[int, int]: ...

    def load_shard(self, index: int) -> StageInputs:
        """Only shard ``index``'s work items (and input rejects), of the ``plan`` made before."""
        ...


@dataclass
class RunSummary:
    output: str
    fingerprint: str
    shards_total: int
    shards_run: list[int]
    shards_skipped: list[int]
    records: list[ShardRecord]
    seconds: float

    def totals(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows_in": 0, "rows_out": 0, "rows_rejected": 0, "rows_written": 0}
        cost: dict[str, float] = {}
        for rec in self.records:
            for key in out:
                out[key] += getattr(rec, key)
            for key, value in rec.cost.items():
                if isinstance(value, int | float):
                    cost[key] = cost.get(key, 0) + value
        out["cost"] = cost
        return out


def resolve_shards(config: dict[str, Any]) -> tuple[int, int | None]:
    """(num_shards, only_shard) from ``num_shards`` and ``runtime.shard``."""
    num_shards = int(config.get("num_shards") or 1)
    spec = (config.get("runtime") or {}).get("shard")
    if spec in (None, ""):
        return num_shards, None
    index, total = parse_shard_spec(str(spec))
    if total != num_shards:
        raise StoreError(
            f"--shard {spec} names {total} shards but num_shards is {num_shards}; "
            f"pass --num-shards {total} (every task of an array must use the same count)"
        )
    return num_shards, index


def run_stage(stage: Stage, config: dict[str, Any], output: str) -> RunSummary:
    started = time.perf_counter()
    num_shards, only_shard = resolve_shards(config)
    runtime = config.get("runtime") or {}
    fp = fingerprint(config)
    store = ShardStore(output)
    targets = [only_shard] if only_shard is not None else list(range(num_shards))
    run: list[int] = []
    skipped: list[int] = []
    with store.open(stage.name, config, fp, num_shards, only_shard, bool(runtime.get("overwrite"))):
        todo = [i for i in targets if not store.is_done(i)]
        skipped = [i for i in targets if i not in todo]
        if todo:
            # A stage with a plan loads shard by shard; the others (filters decide over the whole
            # input) load everything once and are split here.
            planned = stage.plan(num_shards) if isinstance(stage, ShardedInputStage) else None
            if planned is None:
                loaded = _split(cast(WholeInputStage, stage).load(), num_shards, todo)
                total = sum(len(items) for items, _ in loaded.values())
            else:
                total = sum(planned.get(i, 0) for i in todo)
            with tqdm(
                total=total,
                desc=f"{stage.name}",
                unit="item",
                disable=None if runtime.get("progress", True) else True,
                dynamic_ncols=True,
                leave=False,
            ) as bar:
                for index in todo:
                    shard_started = time.perf_counter()
                    if planned is None:
                        items, input_rejects = loaded.pop(index)
                    else:
                        shard_inputs = cast(ShardedInputStage, stage).load_shard(index)
                        items = [item for _, item in shard_inputs.items]
                        input_rejects = [reject for _, reject in shard_inputs.rejects]
                    out = stage.process(items, bar, shard=index)
                    rows = sorted(out.rows, key=stage.sort_key)
                    store.write_shard(
                        index,
                        table_from_rows(rows, stage.schema),
                        input_rejects + out.rejects,
                        rows_in=len(items) + len(input_rejects) + out.dropped,
                        rows_out=out.rows_out,
                        seconds=time.perf_counter() - shard_started,
                        cost=out.cost,
                        side=out.side,
                    )
                    run.append(index)
        records = [r for r in (store.read_record(i) for i in targets) if r is not None]
    return RunSummary(
        output=str(store.root),
        fingerprint=fp,
        shards_total=num_shards,
        shards_run=run,
        shards_skipped=skipped,
        records=records,
        seconds=time.perf_counter() - started,
    )


ShardInputs = tuple[list[Any], list[dict[str, Any]]]  # one shard's work items and input rejects

# Output shard -> (input file, row positions in it).
ShardPlan = dict[int, list[tuple[Path, list[int]]]]


def plan_by_problem(paths: list[Path], num_shards: int) -> ShardPlan:
    """Where every row of ``paths`` goes, from its ``problem_id`` column alone (a question stays whole).

    With a plan a stage loads one shard's rows at a time (:func:`load_planned`), so memory follows
    the shard, not the input, and a cluster task reads only its own rows."""
    plan: ShardPlan = defaultdict(list)
    for path in paths:
        ids = pq.read_table(path, columns=["problem_id"]).column("problem_id").to_pylist()
        by_shard: dict[int, list[int]] = defaultdict(list)
        for position, problem_id in enumerate(ids):
            by_shard[shard_of(problem_id or "", num_shards)].append(position)
        for index, positions in by_shard.items():
            plan[index].append((path, positions))
    return plan


def load_planned(plan: ShardPlan, index: int, columns: list[str]) -> StageInputs:
    """Shard ``index``'s rows as work items ``(file, row number, row)`` keyed by problem_id. Only the
    files holding rows of the shard are read: with the input's own shard count, exactly one."""
    items: list[tuple[str, Any]] = []
    for path, positions in plan.get(index, []):
        rows = pq.read_table(path, columns=columns).take(positions).to_pylist()
        for position, row in zip(positions, rows, strict=True):
            items.append((row["problem_id"] or "", (str(path), position + 1, row)))
    return StageInputs(items=items, rejects=[], rows_in=len(items))


def _split(inputs: StageInputs, num_shards: int, wanted: list[int]) -> dict[int, ShardInputs]:
    """The wanted shards' work items and input rejects, by the hash of each one's key."""
    out: dict[int, ShardInputs] = {i: ([], []) for i in wanted}
    for key, item in inputs.items:
        shard = shard_of(key, num_shards)
        if shard in out:
            out[shard][0].append(item)
    for key, reject in inputs.rejects:
        shard = shard_of(key, num_shards)
        if shard in out:
            out[shard][1].append(reject)
    return out
