"""FoVer (psunlpgroup/FoVer): ``id``, ``problem``, ``solution_steps``, ``error_labels``.

``error_labels[i]`` is true when step i is correct, false when it is wrong, and null when it has no
label (FoVer's own rows put null after the first error). Nulls are FoVer's native "unlabeled", so
unknown labels are written as null here rather than cut; soft labels need ``--threshold``.
"""

from __future__ import annotations

import pyarrow as pa

from prmlabel.export.source import ExportRow
from prmlabel.export.steptext import stripped

NAME = "fover"
BOOL_ONLY = True
WRITES_UNKNOWN = True
PLACEHOLDER = None


def schema(float_labels: bool) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("problem", pa.string()),
            ("solution_steps", pa.list_(pa.string())),
            ("error_labels", pa.list_(pa.bool_())),
            ("base_dataset", pa.string()),
        ]
    )


def record(row: ExportRow, labels: list) -> dict:
    return {
        "id": row.response_id,
        "problem": row.question,
        "solution_steps": stripped(row.steps),
        "error_labels": labels,
        "base_dataset": row.source or "",
    }
