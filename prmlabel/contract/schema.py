"""Arrow schemas of each stage's rows, with a schema version.

The schema is explicit so that every shard of a folder has identical column types (an inferred
schema changes with the data: an all-null column becomes ``null`` in one shard and ``string`` in
another, and DuckDB then refuses to read the folder as one table).
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1"

SAMPLING = pa.struct(
    [
        ("temperature", pa.float64()),
        ("top_p", pa.float64()),
        ("max_tokens", pa.int32()),
        ("stop", pa.list_(pa.string())),
    ]
)

PROVENANCE = pa.struct(
    [
        ("backend", pa.string()),
        ("model", pa.string()),
        ("model_hash", pa.string()),
        ("backend_version", pa.string()),
        ("prmlabel_version", pa.string()),
        ("config_fingerprint", pa.string()),
    ]
)

# A problem with a reference answer. ``meta`` is a JSON object (as text) of the source row's other
# fields, so nothing from the input is lost.
PROBLEM_FIELDS: list[pa.Field] = [
    pa.field("problem_id", pa.string(), nullable=False),
    pa.field("question", pa.string(), nullable=False),
    pa.field("reference_answer", pa.string()),
    pa.field("domain", pa.string()),
    pa.field("source", pa.string()),
    pa.field("meta", pa.string()),
]
PROBLEMS = pa.schema(
    PROBLEM_FIELDS, metadata={"prmlabel.schema": "problems", "prmlabel.schema_version": SCHEMA_VERSION}
)

# One response to a problem, split into steps. ``"".join(steps) == response`` always: each step
# keeps the separator that follows it, so a prefix of steps is exactly the text the model wrote.
ROLLOUT_FIELDS: list[pa.Field] = PROBLEM_FIELDS + [
    pa.field("response_id", pa.string(), nullable=False),
    pa.field("sample_index", pa.int32()),
    pa.field("policy", pa.string()),
    pa.field("steps", pa.list_(pa.string())),
    pa.field("step_split", pa.string()),
    pa.field("response", pa.string()),
    pa.field("final_answer", pa.string()),
    pa.field("is_correct", pa.bool_()),
    pa.field("finish_reason", pa.string()),
    pa.field("sampling", SAMPLING),
    pa.field("seed", pa.int64()),
    pa.field("prompt_tokens", pa.int64()),
    pa.field("completion_tokens", pa.int64()),
    pa.field("gold_first_error", pa.int32()),
    pa.field("provenance", PROVENANCE),
]
ROLLOUTS = pa.schema(
    ROLLOUT_FIELDS, metadata={"prmlabel.schema": "rollouts", "prmlabel.schema_version": SCHEMA_VERSION}
)

LABEL_COST = pa.struct(
    [
        ("requests", pa.int64()),
        ("rollouts", pa.int64()),
        ("cache_hits", pa.int64()),
        ("generated_tokens", pa.int64()),
        ("prompt_tokens", pa.int64()),
        ("rounds", pa.int64()),
        # continuations left out of every estimate: a backend failure or an answer the checker could not judge
        ("undecided_rollouts", pa.int64()),
    ]
)

LABEL_PROVENANCE = pa.struct(
    [
        ("method", pa.string()),
        ("paper", pa.string()),
        ("params", pa.string()),  # JSON of the labeler's parameters, paper defaults included
        ("backend", pa.string()),
        ("model", pa.string()),
        ("model_hash", pa.string()),
        ("backend_version", pa.string()),
        ("sampling", SAMPLING),
        ("seed", pa.int64()),
        ("prmlabel_version", pa.string()),
        ("config_fingerprint", pa.string()),
    ]
)

# A rollout with one method's step labels. Every input column travels through.
LABEL_FIELDS: list[pa.Field] = ROLLOUT_FIELDS + [
    pa.field("method", pa.string()),
    pa.field("values", pa.list_(pa.float64())),
    # What ``values`` are (the labeler's ``value_kind``): probability | verdict | ratio | advantage | score.
    # Folders written before this column have none: readers look the method up (prmlabel.export.value_kinds).
    pa.field("value_kind", pa.string()),
    pa.field("hard", pa.list_(pa.bool_())),
    pa.field("first_error", pa.int32()),
    pa.field("label_extra", pa.string()),  # JSON: what a method knows beyond values (e.g. self-confidence)
    pa.field("label_cost", LABEL_COST),
    pa.field("label_provenance", LABEL_PROVENANCE),
]
LABELS = pa.schema(LABEL_FIELDS, metadata={"prmlabel.schema": "labels", "prmlabel.schema_version": SCHEMA_VERSION})

# A labeled response after `prmlabel filter`: every input row stays (keep=false rows say why).
# ``labels_final`` covers the steps a trainer should see: steps[:len(labels_final)] (steps after a
# first error may be truncated); a null entry is an unknown label that no export turns negative.
LABELED_FIELDS: list[pa.Field] = LABEL_FIELDS + [
    pa.field("keep", pa.bool_()),
    pa.field("reason", pa.string()),  # the rule that kept or dropped the row, e.g. "consensus:agree"
    pa.field("labels_final", pa.list_(pa.float64())),  # 0/1 for hard labels, in [0, 1] for soft ones
    pa.field("label_kind", pa.string()),  # "hard" (0/1) or "soft" (probabilities in [0, 1], never another value_kind)
    pa.field("weight", pa.float64()),
    pa.field("filter_chain", pa.list_(pa.string())),  # the filters applied, in order
    pa.field("filter_extra", pa.string()),  # JSON: what each filter computed (scores, the other signal)
]
LABELED = pa.schema(LABELED_FIELDS, metadata={"prmlabel.schema": "labeled", "prmlabel.schema_version": SCHEMA_VERSION})

# One node of a question's search tree (``nodes/`` beside a tree method's labels). Walk a tree with a
# recursive CTE on (problem_id, parent_id) -> (problem_id, node_id): docs/output.md.
NODE_COST = pa.struct(
    [
        ("rollouts", pa.int64()),  # continuations drawn for this node's estimate
        ("generated_tokens", pa.int64()),  # tokens generated for the node (its step and its estimate)
    ]
)
NODE_FIELDS: list[pa.Field] = [
    pa.field("problem_id", pa.string(), nullable=False),
    pa.field("node_id", pa.int32(), nullable=False),  # per question, creation order; the root is 0
    pa.field("parent_id", pa.int32()),  # null for the root
    pa.field("depth", pa.int32()),  # steps from the root
    pa.field("question", pa.string()),
    pa.field("reference_answer", pa.string()),
    pa.field("prefix_steps", pa.list_(pa.string())),  # the steps from the root to the parent
    pa.field("step", pa.string()),  # the text this node adds ("" for the root)
    pa.field("visits", pa.int64()),  # times the search selected the node
    pa.field("rollouts", pa.int64()),  # decided continuations behind ``mc``
    pa.field("successes", pa.int64()),  # of them, those that reach the reference answer
    pa.field("mc", pa.float64()),  # successes / rollouts; null when none was decided
    pa.field("q", pa.float64()),  # the search's own value of the node, where the method keeps one
    pa.field("value_target", pa.float64()),  # the method's training target (ReST-MCTS*), else null
    pa.field("value_kind", pa.string()),  # what ``mc``/``value_target`` are for the export
    pa.field("terminal", pa.bool_()),  # the node's step ends the solution
    pa.field("correct", pa.bool_()),  # a terminal node's answer is right; null: not checked or undecidable
    pa.field("source", pa.string()),  # root | response | rollout | expansion | merge
    pa.field("response_id", pa.string()),  # the input response the node lies on, if any
    pa.field("method", pa.string()),
    pa.field("node_extra", pa.string()),  # JSON: what the method knows beyond the columns
    pa.field("node_cost", NODE_COST),
    pa.field("node_provenance", LABEL_PROVENANCE),
]
NODES = pa.schema(NODE_FIELDS, metadata={"prmlabel.schema": "nodes", "prmlabel.schema_version": SCHEMA_VERSION})

# A row that a stage could not process: where it came from and why, plus the raw row as JSON text.
REJECT_FIELDS: list[pa.Field] = [
    pa.field("file", pa.string()),
    pa.field("row", pa.int64()),
    pa.field("field", pa.string()),
    pa.field("reason", pa.string()),
    pa.field("problem_id", pa.string()),
    pa.field("raw", pa.string()),
]
REJECTS = pa.schema(REJECT_FIELDS, metadata={"prmlabel.schema": "rejects", "prmlabel.schema_version": SCHEMA_VERSION})

SCHEMAS: dict[str, pa.Schema] = {
    "problems": PROBLEMS,
    "rollouts": ROLLOUTS,
    "labels": LABELS,
    "labeled": LABELED,
    "nodes": NODES,
    "rejects": REJECTS,
}


def table_from_rows(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Build a table with exactly ``schema``; a missing column is all null, an extra key an error."""
    names = set(schema.names)
    for i, row in enumerate(rows):
        extra = set(row) - names
        if extra:
            raise ValueError(
                f"row {i} has fields not in the {schema.metadata[b'prmlabel.schema'].decode()} schema: {sorted(extra)}"
            )
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)
