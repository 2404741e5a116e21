"""Read a node table (schema ``NODES``) into the examples an export writes, counting every node left out.

Where the nodes are: a labels folder of a tree method (OmegaPRM's search, ReST-MCTS*) keeps them in
``FOLDER/nodes/part-*.parquet``; a ``prmlabel compress`` folder (manifest stage ``compress``) has
NODES rows as its own ``part-*.parquet``; ``FOLDER/nodes`` itself is read as well.

A node's value: ``value_target`` where its method defines one (``rest_mcts``, whose ``mc`` is its
search's own estimate V^, or any method with a non-null ``value_target`` in the table), else ``mc``
(OmegaPRM: successes / rollouts). The column is chosen per method, never per node, so a node whose
target is null is unknown rather than read from the other column. NaN is read as null. A null value
is never turned into a label.

Every node except the root (no parent, no step) becomes one example: the question, the steps from
the root to the node (``prefix_steps + [step]``), and the node's value; path formats (TRL, OpenRLHF)
also carry each ancestor's value as the label of its step, so they walk ``parent_id`` up to the root
and check that the ancestors' steps are the node's ``prefix_steps``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from prmlabel.contract.store import StoreError
from prmlabel.export.source import ExportRow
from prmlabel.export.value_kinds import row_value_kind

COLUMNS = [
    "problem_id",
    "node_id",
    "parent_id",
    "question",
    "prefix_steps",
    "step",
    "mc",
    "value_target",
    "value_kind",
    "method",
    "source",
]
# Methods whose training value is ``value_target`` even in a table where every target is null.
TARGET_METHODS = frozenset({"rest_mcts"})
ROOT = "root (no step to label)"
EMPTY_STEP = "empty step (nothing to label)"


@dataclass
class Node:
    problem_id: str
    node_id: int
    parent_id: int | None
    question: str
    prefix_steps: list[str]
    step: str
    value: float | None  # the method's value column (value_target or mc); None = unknown
    value_kind: str | None
    method: str | None
    source: str | None

    @property
    def is_root(self) -> bool:
        return self.parent_id is None and not self.step


@dataclass
class NodeRow(ExportRow):
    """One node as an export row: ``steps`` = its path's steps, ``labels`` = their values (None = unknown)."""

    node_id: int = 0


@dataclass
class NodeTable:
    kind: str  # "labels" (a labels folder's nodes/), "compress" or "nodes" (node shards given directly)
    nodes_in: int
    trees: dict[str, dict[int, Node]]  # problem_id -> node_id -> node
    value_columns: dict[str, str]  # method -> the column its values come from
    skipped: Counter = field(default_factory=Counter)  # nodes left out while reading
    fingerprint: str | None = None

    def nodes(self) -> list[Node]:
        return [tree[i] for pid in sorted(self.trees) for tree in [self.trees[pid]] for i in sorted(tree)]


def node_files(folder: Path) -> tuple[str, list[Path]]:
    """The node shards of ``folder`` and what the folder is."""
    manifest = _manifest(folder)
    if manifest.get("stage") == "compress" or _schema_name(folder) == "nodes":
        return ("compress" if manifest.get("stage") == "compress" else "nodes"), _shards(folder)
    if (folder / "nodes").is_dir():
        return "labels", _shards(folder / "nodes")
    raise StoreError(
        f"{folder} has no node table: --nodes reads the nodes/ folder that a tree method writes beside its "
        "labels (omegaprm with params.mode=search, rest_mcts), or a `prmlabel compress` output folder. "
        "Export per-response labels without --nodes"
    )


def read_nodes(folder: str | Path) -> NodeTable:
    """Every node of the folder's node table, grouped by question; duplicates counted and left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StoreError(f"{folder} is not a folder; -i takes a labels folder with nodes/ or a compress folder")
    kind, files = node_files(folder)
    if not files:
        raise StoreError(f"{folder} has no node shards (part-*.parquet); did its stage finish? (`prmlabel stats`)")
    rows: list[dict[str, Any]] = []
    for path in files:
        present = set(pq.read_schema(path).names)
        missing = {"problem_id", "node_id", "parent_id", "step"} - present
        if missing:
            raise StoreError(f"{path} is not a node table (no {', '.join(sorted(missing))} column)")
        rows += pq.read_table(path, columns=[c for c in COLUMNS if c in present]).to_pylist()
    with_target = TARGET_METHODS | {r.get("method") for r in rows if _number(r.get("value_target")) is not None}
    value_columns = {str(m): ("value_target" if m in with_target else "mc") for m in {r.get("method") for r in rows}}
    table = NodeTable(kind, len(rows), {}, value_columns, fingerprint=_manifest(folder).get("fingerprint"))
    for r in rows:
        node = Node(
            problem_id=r["problem_id"],
            node_id=int(r["node_id"]),
            parent_id=None if r["parent_id"] is None else int(r["parent_id"]),
            question=r.get("question") or "",
            prefix_steps=list(r.get("prefix_steps") or []),
            step=r.get("step") or "",
            value=_number(r.get(value_columns[str(r.get("method"))])),
            value_kind=row_value_kind(r.get("value_kind"), r.get("method")),
            method=r.get("method"),
            source=r.get("source"),
        )
        tree = table.trees.setdefault(node.problem_id, {})
        if node.node_id in tree:
            table.skipped["duplicate node_id in the question's tree"] += 1
        else:
            tree[node.node_id] = node
    return table


def path_to(tree: dict[int, Node], node: Node) -> tuple[list[Node], str]:
    """The nodes from the root's child down to ``node``, or ([], why the path cannot be read)."""
    path, seen = [node], {node.node_id}
    while path[-1].parent_id is not None:
        parent = tree.get(path[-1].parent_id)  # type: ignore[arg-type]
        if parent is None:
            return [], "an ancestor is missing from the table"
        if parent.node_id in seen:
            return [], "parent links form a loop"
        seen.add(parent.node_id)
        path.append(parent)
    path.reverse()
    if path[0].is_root:
        path = path[1:]
    if [n.step for n in path[:-1]] != node.prefix_steps:
        return [], "the ancestors' steps differ from the node's prefix_steps"
    return path, ""


def node_row(node: Node, path: list[Node] | None) -> NodeRow:
    """The example of ``node``: its steps, and the values of ``path`` (its own value alone without one)."""
    labels = [n.value for n in path] if path is not None else [node.value]
    return NodeRow(
        problem_id=node.problem_id,
        response_id=f"{node.problem_id}/node{node.node_id}",
        question=node.question,
        source=node.source,
        method=node.method,
        steps=[*node.prefix_steps, node.step],
        labels=labels,
        kind="soft",
        value_kind=node.value_kind,
        node_id=node.node_id,
    )


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _schema_name(folder: Path) -> str | None:
    files = _shards(folder)
    if not files:
        return None
    name = (pq.read_schema(files[0]).metadata or {}).get(b"prmlabel.schema")
    return name.decode() if name else None
