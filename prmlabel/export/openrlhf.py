"""OpenRLHF process reward data, read by ``openrlhf.cli.train_prm`` with
``--input_key input --label_key value --placeholder_token ки --reward_tokens + -``.

``input`` is the question and steps with the placeholder ``ки`` after each step; OpenRLHF's
ProcessRewardDataset puts ``value[i]`` on the i-th placeholder token. ``value`` is a list of reward
tokens ("+"/"-", hard labels) or of floats (soft labels, trained as regression targets).
"""

from __future__ import annotations

import pyarrow as pa

from prmlabel.export.source import ExportRow
from prmlabel.export.steptext import PLACEHOLDER, tagged_text

NAME = "openrlhf"
BOOL_ONLY = False
WRITES_UNKNOWN = False


def schema(float_labels: bool) -> pa.Schema:
    value = pa.list_(pa.float64()) if float_labels else pa.list_(pa.string())
    return pa.schema([("input", pa.string()), ("value", value)])


def record(row: ExportRow, labels: list) -> dict:
    value = [("+" if v else "-") if isinstance(v, bool) else v for v in labels]
    return {"input": tagged_text(row.question, row.steps, [PLACEHOLDER] * len(labels)), "value": value}
