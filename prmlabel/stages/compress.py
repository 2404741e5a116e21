"""`prmlabel compress`: a labels folder's search trees (``nodes/``) -> the same nodes plus merged ones.

The input is the output of a tree labeler (``prmlabel label --method omegaprm params.mode=search``,
``rest_mcts``): its ``nodes/part-*.parquet`` side table, one row per tree node. The output's rows are
nodes too (schema NODES): every input node as it was, then the merged nodes of the method (``hrm``:
HRM's hierarchical node compression, prmlabel/filters/hrm_compress.py) with source "merge", the
grandparent as parent and ``node_extra.merged_from`` naming the two nodes they were made of.

Rows are input nodes: rows in = input nodes, rows out = input nodes written again (each one is),
rejected = nodes that cannot be read as a tree node; the merged nodes are extra written rows, counted
in the summary with, for every node that could have been a merge's parent, why it was not.
A question's tree stays in one shard (sharded by problem_id); its coins come from (seed, problem_id).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from tqdm import tqdm

from prmlabel.contract.schema import NODES
from prmlabel.contract.store import StoreError
from prmlabel.filters.hrm_compress import HNCParams, compress_question
from prmlabel.stages.label import read_input_manifest
from prmlabel.stages.runner import ShardOutput, ShardPlan, StageInputs, load_planned, plan_by_problem

METHODS = {"hrm": HNCParams}
NodeItem = tuple[str, int, dict[str, Any]]  # (file, row number, node row)


def _params(config: dict[str, Any]) -> HNCParams:
    method = str(config.get("method") or "")
    if method not in METHODS:
        raise ValueError(f"--method {method!r} is not a compression; choose from: {', '.join(sorted(METHODS))}")
    options = dict(config.get("params") or {})
    known = {f.name for f in fields(METHODS[method])}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"--method {method} has no parameter(s) {', '.join(unknown)}; its parameters: {sorted(known)}")
    options.setdefault("seed", int(config.get("seed") or 0))
    return METHODS[method](**options)


class CompressStage:
    name = "compress"
    schema = NODES

    @staticmethod
    def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
        """Fill what the input decides (shard count, fingerprint) and name every parameter in full."""
        config = dict(config)
        manifest = read_input_manifest(config["input"])
        if manifest.get("stage") != "label":
            raise StoreError(
                f"{config['input']} holds the output of `prmlabel {manifest.get('stage')}`; compress reads the "
                "nodes/ of `prmlabel label` with a tree method (e.g. --method omegaprm params.mode=search)"
            )
        if config.get("num_shards") is None:
            config["num_shards"] = manifest["num_shards"]
        config["input_fingerprint"] = manifest["fingerprint"]
        config["params"] = asdict(_params(config))
        return config

    def __init__(self, config: dict[str, Any], fingerprint: str):
        self.config = config
        self.fingerprint = fingerprint
        self.params = _params(config)
        self._plan: ShardPlan = {}

    def plan(self, num_shards: int) -> dict[int, int]:
        """Where every input node goes, from its problem_id alone: a question's tree stays whole."""
        folder = Path(self.config["input"]) / "nodes"
        if not folder.is_dir():
            raise StoreError(
                f"{self.config['input']} has no nodes/ table: its labeler builds no search tree. Label with a "
                "tree method first (e.g. `prmlabel label --method omegaprm params.mode=search`)"
            )
        self._plan = plan_by_problem(sorted(folder.glob("part-*.parquet")), num_shards)
        return {index: sum(len(p) for _, p in files) for index, files in self._plan.items()}

    def load_shard(self, index: int) -> StageInputs:
        return load_planned(self._plan, index, NODES.names)

    def sort_key(self, row: dict[str, Any]) -> Any:
        return (row["problem_id"], row["node_id"])

    def process(self, items: list[NodeItem], progress: tqdm, shard: int = 0) -> ShardOutput:
        trees: dict[str, list[dict[str, Any]]] = defaultdict(list)
        seen: dict[tuple[str, int], str] = {}
        rejects: list[dict[str, Any]] = []
        for path, row_number, row in items:
            problem = _check(row)
            key = (row.get("problem_id"), row.get("node_id"))
            if problem is None and key in seen:
                problem = ("node_id", f"duplicate node_id {row['node_id']} (also {seen[key]})")
            if problem is not None:
                rejects.append(_reject(path, row_number, row, *problem))
                continue
            seen[key] = f"{Path(path).name} row {row_number}"
            trees[row["problem_id"]].append(row)
        rows: list[dict[str, Any]] = []
        parents: Counter[str] = Counter()
        merged = in_place = 0
        no_candidate = 0
        for problem_id in sorted(trees):
            nodes = trees[problem_id]
            result = compress_question(nodes, self.params)
            rows.extend(nodes)
            rows.extend(result.merged)
            merged += len(result.merged)
            in_place += sum('"rule": "in_place"' in m["node_extra"] for m in result.merged)
            parents.update(result.parents)
            no_candidate += not (result.parents["merged"] + result.parents["coin"])
            progress.update(len(nodes))
        written = len(rows) - merged
        cost: dict[str, Any] = {
            "questions": len(trees),
            "merged": merged,
            "merged_in_place": in_place,
            "questions_without_candidate": no_candidate,
        }
        cost.update({f"parents/{k}": v for k, v in sorted(parents.items())})
        return ShardOutput(rows=rows, rejects=rejects, rows_out=written, cost=cost)

    def close(self) -> None:
        pass


def _check(row: dict[str, Any]) -> tuple[str, str] | None:
    """(field, reason) when a row cannot be a tree node."""
    if not row.get("problem_id"):
        return "problem_id", "missing problem_id"
    if row.get("node_id") is None:
        return "node_id", "missing node_id"
    if row.get("parent_id") is not None and row["parent_id"] == row["node_id"]:
        return "parent_id", "a node cannot be its own parent"
    return None


def _reject(path: str, row_number: int, row: dict[str, Any], field: str, reason: str) -> dict[str, Any]:
    return {
        "file": path,
        "row": row_number,
        "field": field,
        "reason": reason,
        "problem_id": row.get("problem_id"),
        "raw": json.dumps({"node_id": row.get("node_id"), "parent_id": row.get("parent_id")}),
    }


def summary_rows(totals: dict[str, Any]) -> dict[str, Any]:
    cost = totals["cost"]
    out: dict[str, Any] = {
        "nodes in": totals["rows_in"],
        "nodes written as they were": totals["rows_out"],
        "nodes rejected": totals["rows_rejected"],
        "merged nodes added": int(cost.get("merged", 0)),
        "  of them in place (every_node)": int(cost.get("merged_in_place", 0)),
        "rows written": totals["rows_written"],
        "questions": int(cost.get("questions", 0)),
        "questions with no node of enough children": int(cost.get("questions_without_candidate", 0)),
        "parents of a merge": int(cost.get("parents/merged", 0)),
        "not a merge parent: too few children": int(cost.get("parents/few_children", 0)),
        "not a merge parent: every coin lost": int(cost.get("parents/coin", 0)),
        "not a merge parent: merged itself": int(cost.get("parents/parent_merged", 0)),
    }
    return out
