"""Read human first-error labels: ProcessBench (``label``), BIG-Bench-Mistake (``mistake_index``) and
MR-GSM8K (``model_output_solution_first_error_step``), from JSON arrays or JSON lines.

The format is recognised by its label field. Every label becomes a 0-based first-error index or -1:
ProcessBench's ``label`` already is one; BIG-Bench-Mistake's ``mistake_index`` is 0-based with null
for no mistake; MR-GSM8K counts steps from 1 ("N/A" when the solution is correct).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prmlabel.evaluate.items import GoldItem
from prmlabel.runtime.errors import UserError

MR_GSM8K_STEP = "model_output_solution_first_error_step"


def read_json_records(path: Path) -> list[dict[str, Any]]:
    """A JSON array of objects, or one object per line."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        data = json.loads(text)
    else:
        data = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    data.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}: line {n} is not JSON ({exc.msg}); fix or remove that line") from None
    if not all(isinstance(d, dict) for d in data):
        raise UserError(f"{path}: expected JSON objects (one per line, or an array of them)")
    return data


def _int_label(path: Path, row: int, field: str, value: Any, n_steps: int, offset: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{path}: row {row}, field {field}: {value!r} is not a step index; fix the row or drop it")
    index = value - offset
    if not (0 if offset else -1) <= index < n_steps:
        raise UserError(
            f"{path}: row {row}, field {field}: step {value} is outside the {n_steps} steps; fix the row or drop it"
        )
    return index


def _mr_gsm8k_label(path: Path, row: int, data: dict[str, Any], n_steps: int) -> int:
    value = data.get(MR_GSM8K_STEP)
    if value is None or (isinstance(value, str) and value.strip().upper() in ("N/A", "NA", "")):
        return -1
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(?:step\s*)?(\d+)\s*", value, flags=re.IGNORECASE)
        if not match:
            raise UserError(f"{path}: row {row}, field {MR_GSM8K_STEP}: {value!r} is neither a step number nor N/A")
        value = int(match.group(1))
    return _int_label(path, row, MR_GSM8K_STEP, value, n_steps, offset=1)


def read_gold(path: str | Path) -> list[GoldItem]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--gold {path} is not a file; e.g. --gold ../shared/data/processbench/gsm8k.json")
    items: list[GoldItem] = []
    for row, data in enumerate(read_json_records(path), start=1):
        if MR_GSM8K_STEP in data:
            steps = [str(s) for s in data.get("model_output_steps") or []]
            label = _mr_gsm8k_label(path, row, data, len(steps))
            items.append(GoldItem(_id(data, "uuid"), str(data.get("question", "")), steps, label, row))
        elif "mistake_index" in data:
            steps = [str(s) for s in data.get("steps") or []]
            value = data["mistake_index"]
            label = -1 if value is None else _int_label(path, row, "mistake_index", value, len(steps))
            items.append(GoldItem(_id(data, "id"), str(data.get("input", "")), steps, label, row))
        elif "label" in data and "steps" in data:
            steps = [str(s) for s in data["steps"]]
            label = _int_label(path, row, "label", data["label"], len(steps))
            items.append(GoldItem(_id(data, "id"), str(data.get("problem", "")), steps, label, row))
        else:
            raise UserError(
                f"{path}: row {row} has none of the gold label fields: label (ProcessBench), mistake_index "
                f"(BIG-Bench-Mistake) or {MR_GSM8K_STEP} (MR-GSM8K)"
            )
    return items


def _id(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    return None if value is None else str(value)
