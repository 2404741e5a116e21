"""Plain (prefix, value) rows for value regression, one per node of a search tree (``export --nodes``).

Each row is one non-root node: ``prompt`` (the question), ``prefix_steps`` (the steps from the root
to the node's parent), ``step`` (the node's own step) and ``value``, the node's value as its method
defines it (OmegaPRM: ``mc``, a probability; ReST-MCTS*: ``value_target``), with ``value_kind`` saying
which kind it is, and ``problem_id``/``node_id`` leading back to the node table. Steps are written as
the tree holds them (each keeps the delimiter that follows it), so ``"".join(prefix_steps) + step`` is
the exact text of the prefix. A node whose value is null is not written (it is counted).
"""

from __future__ import annotations

import pyarrow as pa

from prmlabel.export.source import ExportRow

NAME = "values"
BOOL_ONLY = False
WRITES_UNKNOWN = False
PLACEHOLDER = None
NODES_ONLY = True  # rows are nodes of a tree: `prmlabel export --nodes --format values`


def schema(float_labels: bool) -> pa.Schema:
    return pa.schema(
        [
            ("prompt", pa.string()),
            ("prefix_steps", pa.list_(pa.string())),
            ("step", pa.string()),
            ("value", pa.float64()),
            ("problem_id", pa.string()),
            ("node_id", pa.int32()),
            ("value_kind", pa.string()),
            ("method", pa.string()),
        ]
    )


def record(row: ExportRow, labels: list) -> dict:
    """``row`` is a node (:class:`prmlabel.export.nodes.NodeRow`); ``labels[-1]`` is its own value."""
    node_id = getattr(row, "node_id", None)
    if node_id is None:
        raise ValueError("--format values writes the nodes of a search tree: add --nodes (and -i a tree's folder)")
    return {
        "prompt": row.question,
        "prefix_steps": list(row.steps[:-1]),
        "step": row.steps[-1],
        "value": labels[-1],
        "problem_id": row.problem_id,
        "node_id": node_id,
        "value_kind": row.value_kind,
        "method": row.method,
    }
