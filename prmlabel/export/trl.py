"""TRL stepwise supervision, read by ``trl.PRMTrainer``: ``prompt``, ``completions``, ``labels``.

PRMTrainer.tokenize_row appends ``step_separator`` ("\\n" by default) to each completion, puts
``int(label)`` on the last token of each, and -100 elsewhere. ``int()`` floors 0.9 to 0, so this
format takes booleans only: soft labels need ``--threshold``.
"""

from __future__ import annotations

import pyarrow as pa

from prmlabel.export.source import ExportRow
from prmlabel.export.steptext import stripped

NAME = "trl"
BOOL_ONLY = True
WRITES_UNKNOWN = False
PLACEHOLDER = None


def schema(float_labels: bool) -> pa.Schema:
    return pa.schema(
        [("prompt", pa.string()), ("completions", pa.list_(pa.string())), ("labels", pa.list_(pa.bool_()))]
    )


def record(row: ExportRow, labels: list) -> dict:
    return {"prompt": row.question, "completions": stripped(row.steps), "labels": labels}
