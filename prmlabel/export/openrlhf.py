"""OpenRLHF process reward data, read by ``openrlhf.cli.train_prm`` (OpenRLHF 0.9.5 and earlier) with
``--input_key input --label_key value --placeholder_token ки --reward_tokens + -``.

``input`` is the question and steps with the placeholder (``--placeholder``, default ``ки``) after each
step; OpenRLHF's ProcessRewardDataset puts ``value[i]`` on the i-th placeholder token, which must be one
token of the model's tokenizer (``--tokenizer`` checks it). ``value`` is a list of reward tokens
("+"/"-", hard labels) or of floats (soft labels: PRMLoss trains them as the probability of the first
of exactly two ``--reward_tokens``, so soft labels need ``--reward_tokens + -`` too).
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


def record(row: ExportRow, labels: list, placeholder: str = PLACEHOLDER) -> dict:
    value = [("+" if v else "-") if isinstance(v, bool) else v for v in labels]
    return {"input": tagged_text(row.question, row.steps, [placeholder] * len(labels)), "value": value}
