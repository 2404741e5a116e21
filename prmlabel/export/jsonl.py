"""prmlabel's own flat rows: TRL's three columns plus where each row came from.

``labels`` are booleans for hard labels (or soft ones cut at ``--threshold``), floats for soft ones,
so the file loads into TRL as is when hard; ``problem_id``/``response_id`` lead back to the run.
"""

from __future__ import annotations

import pyarrow as pa

from prmlabel.export.source import ExportRow
from prmlabel.export.steptext import stripped

NAME = "jsonl"
BOOL_ONLY = False
WRITES_UNKNOWN = False
PLACEHOLDER = None


def schema(float_labels: bool) -> pa.Schema:
    return pa.schema(
        [
            ("problem_id", pa.string()),
            ("response_id", pa.string()),
            ("prompt", pa.string()),
            ("completions", pa.list_(pa.string())),
            ("labels", pa.list_(pa.float64() if float_labels else pa.bool_())),
            ("label_kind", pa.string()),
            ("weight", pa.float64()),
            ("method", pa.string()),
            ("source", pa.string()),
        ]
    )


def record(row: ExportRow, labels: list) -> dict:
    return {
        "problem_id": row.problem_id,
        "response_id": row.response_id,
        "prompt": row.question,
        "completions": stripped(row.steps),
        "labels": labels,
        "label_kind": "soft" if labels and not isinstance(labels[0], bool) else "hard",
        "weight": row.weight,
        "method": row.method,
        "source": row.source,
    }
