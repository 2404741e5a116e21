"""Math-Shepherd (peiyi9979/Math-Shepherd): ``input`` with `` ки`` after each step, ``label`` the same
text with `` +``/`` -`` in place of each tag, and ``task``. The tag is ``--placeholder`` (default ``ки``).

Trainers of this set (OpenRLHF's examples, RLHFlow, the Math-Shepherd authors) find the tag token in
``input`` and read the +/- at the same place in ``label``; the format has no soft labels, so soft
labels need ``--threshold``.
"""

from __future__ import annotations

import pyarrow as pa

from prmlabel.export.source import ExportRow
from prmlabel.export.steptext import PLACEHOLDER, tagged_text

NAME = "math-shepherd"
BOOL_ONLY = True
WRITES_UNKNOWN = False


def schema(float_labels: bool) -> pa.Schema:
    return pa.schema([("input", pa.string()), ("label", pa.string()), ("task", pa.string())])


def record(row: ExportRow, labels: list, placeholder: str = PLACEHOLDER) -> dict:
    return {
        "input": tagged_text(row.question, row.steps, [placeholder] * len(labels)),
        "label": tagged_text(row.question, row.steps, ["+" if v else "-" for v in labels]),
        "task": row.source or "",
    }
