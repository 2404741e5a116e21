"""Read predicted first errors: our labels or labeled folders, or a file in ProcessBench's format.

A labels folder gives every row's ``first_error`` and ``hard``; a labeled folder its kept rows'
``first_error`` and ``labels_final`` (>= 0.5 = good). A file is a JSON array or JSON lines with
``id`` and the predicted first error in ``prediction`` (ProcessBench's result files), ``first_error``
or ``label``; -1 = no error, null = could not tell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from prmlabel.evaluate.gold import read_json_records
from prmlabel.evaluate.items import PredItem
from prmlabel.export.source import folder_kind, shard_files
from prmlabel.runtime.errors import UserError

PREDICTION_FIELDS = ("prediction", "first_error", "label")


def read_predictions(path: str | Path) -> list[PredItem]:
    path = Path(path)
    if path.is_dir():
        return _from_folder(path)
    if path.is_file():
        return _from_file(path)
    raise UserError(f"--pred {path} does not exist; pass a labels folder (runs/pb/labels) or a predictions file")


def _from_folder(folder: Path) -> list[PredItem]:
    kind = folder_kind(folder)
    if kind not in ("labels", "labeled"):
        raise UserError(f"--pred {folder} holds {kind}, not labels; label it first with `prmlabel label`")
    columns = ["problem_id", "response_id", "question", "steps", "first_error", "hard", "meta"]
    if kind == "labeled":
        columns += ["keep", "labels_final"]
    items = []
    for path in shard_files(folder):
        for row in pq.read_table(path, columns=columns).to_pylist():
            if kind == "labeled" and not row["keep"]:
                continue
            hard = row["hard"]
            if kind == "labeled":
                hard = [None if v is None else v >= 0.5 for v in row["labels_final"] or []]
            ids = (row["problem_id"], row["response_id"])
            items.append(PredItem(ids, row["question"], row["steps"], row["first_error"], hard))
    return items


def _from_file(path: Path) -> list[PredItem]:
    items = []
    for n, data in enumerate(read_json_records(path), start=1):
        field = next((f for f in PREDICTION_FIELDS if f in data), None)
        if field is None or "id" not in data:
            raise UserError(
                f"{path}: row {n} needs an id and a predicted first error in one of {', '.join(PREDICTION_FIELDS)}"
            )
        value: Any = data[field]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UserError(f"{path}: row {n}, field {field}: {value!r} is not a step index (-1 = no error)")
        steps = data.get("steps")
        question = data.get("problem", data.get("question"))
        items.append(PredItem((str(data["id"]),), question, steps, value))
    return items
