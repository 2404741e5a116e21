"""Read a labels or labeled folder into the rows an export writes, counting every row left out.

A labels folder (``prmlabel label``) gives hard labels by default (``hard``: true/false/null) or,
with ``soft``, the per-step ``values`` as their ``value_kind`` allows (:mod:`prmlabel.export.value_kinds`:
probabilities as is, verdicts as 0/1, ratios only with a threshold, advantages and scores refused).
A labeled folder (``prmlabel filter``) gives ``labels_final`` of its kept rows (``keep = true``);
dropped rows are counted by their filter reason, and soft ``labels_final`` must come from
probabilities. A label that is null stays ``None`` here: each format decides whether to cut the row
before it or write a null, and no format turns it into a negative.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from prmlabel.contract.store import StoreError
from prmlabel.export.value_kinds import RATIO, check_soft_labels_final, row_value_kind, soft_kind

# The stage that writes each kind of folder (manifest ``stage``) and the schema name in the shards.
STAGE_KINDS = {"generate": "rollouts", "import": "rollouts", "label": "labels", "filter": "labeled"}

LABELS_COLUMNS = ["problem_id", "response_id", "question", "source", "steps", "method", "values", "value_kind", "hard"]
LABELED_COLUMNS = LABELS_COLUMNS + ["keep", "reason", "labels_final", "label_kind", "weight"]


@dataclass
class ExportRow:
    """One response with the labels a trainer should see: ``labels[i]`` is the label of ``steps[i]``."""

    problem_id: str
    response_id: str
    question: str
    source: str | None
    method: str | None
    steps: list[str]
    labels: list[float | None]  # 0/1 when kind is "hard", in [0, 1] when "soft" (a ratio: >= 0); None = unknown
    kind: str  # "hard" or "soft"
    weight: float = 1.0
    value_kind: str | None = None  # what the labeler's values are (probability, verdict, ratio, ...)

    def known_prefix(self) -> int:
        """How many leading steps have a known label (the part a format without nulls can write)."""
        for i, value in enumerate(self.labels):
            if value is None:
                return i
        return len(self.labels)


@dataclass
class SourceRows:
    kind: str  # the folder's kind: "labels" or "labeled"
    rows_in: int
    rows: list[ExportRow]
    skipped: Counter = field(default_factory=Counter)  # reason -> rows left out
    fingerprint: str | None = None


def shard_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def folder_kind(folder: Path) -> str:
    """'rollouts', 'labels', 'labeled' (or another schema name) from the manifest, else the shards' metadata."""
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        stage = json.loads(manifest_path.read_text(encoding="utf-8")).get("stage")
        if stage in STAGE_KINDS:
            return STAGE_KINDS[stage]
    files = shard_files(folder)
    if files:
        metadata = pq.read_schema(files[0]).metadata or {}
        name = metadata.get(b"prmlabel.schema")
        if name:
            return name.decode()
    raise StoreError(
        f"{folder} is not a prmlabel folder (no manifest.json and no part-*.parquet with prmlabel metadata); "
        "point -i at the output of `prmlabel label` or `prmlabel filter`"
    )


def read_rows(folder: str | Path, soft: bool = False, threshold: float | None = None) -> SourceRows:
    """Every row of a labels/labeled folder as an :class:`ExportRow`, or counted in ``skipped``.

    Raises :class:`StoreError` when ``soft`` meets values that are not probabilities (and no
    threshold turns them into labels), or a filtered row's soft labels were made from such values."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StoreError(f"{folder} is not a folder; -i takes the output folder of `prmlabel label` or `filter`")
    kind = folder_kind(folder)
    if kind not in ("labels", "labeled"):
        raise StoreError(
            f"{folder} holds {kind}, not labels; label it first (`prmlabel label -i {folder} -o ...`) "
            "and export the labels folder, or its `prmlabel filter` output"
        )
    if kind == "labeled" and soft:
        raise StoreError(
            f"--soft picks a labels folder's values; {folder} is filtered and its labels_final already are "
            "hard or soft (label_kind): drop --soft"
        )
    files = shard_files(folder)
    if not files:
        raise StoreError(f"{folder} has no part-*.parquet shards; did its stage finish? (`prmlabel stats` shows it)")
    columns = LABELED_COLUMNS if kind == "labeled" else LABELS_COLUMNS
    manifest_path = folder / "manifest.json"
    fingerprint = json.loads(manifest_path.read_text()).get("fingerprint") if manifest_path.exists() else None
    out = SourceRows(kind=kind, rows_in=0, rows=[], fingerprint=fingerprint)
    for path in files:
        present = set(pq.read_schema(path).names)  # a folder from before value_kind has no such column
        for data in pq.read_table(path, columns=[c for c in columns if c in present]).to_pylist():
            out.rows_in += 1
            row, reason = _export_row(data, kind, soft, threshold)
            if row is None:
                out.skipped[reason] += 1
            else:
                out.rows.append(row)
    out.rows.sort(key=lambda r: (r.problem_id, r.response_id))
    return out


def _export_row(data: dict[str, Any], kind: str, soft: bool, threshold: float | None) -> tuple[ExportRow | None, str]:
    steps = data["steps"] or []
    value_kind = row_value_kind(data.get("value_kind"), data.get("method"))
    if kind == "labeled":
        if not data["keep"]:
            return None, f"dropped by filter ({data['reason']})"
        labels = data["labels_final"]
        label_kind = data["label_kind"] or "hard"
        if label_kind == "soft":
            check_soft_labels_final(value_kind, data.get("method"))
    elif soft:
        labels, label_kind = data["values"], soft_kind(value_kind, data.get("method"), threshold)
    else:
        hard = data["hard"]
        labels = None if hard is None else [None if h is None else float(h) for h in hard]
        label_kind = "hard"
    if not steps:
        return None, "no steps"
    labels = [None if v is None or math.isnan(v) else float(v) for v in labels or []]
    if not labels:
        return None, "no labels"
    if len(labels) > len(steps):
        return None, f"more labels ({len(labels)}) than steps ({len(steps)})"
    if label_kind == "hard" and any(v not in (None, 0.0, 1.0) for v in labels):
        return None, "hard label not 0/1"
    ratio = soft and value_kind == RATIO  # cut at --threshold; a ratio above 1 is a step that helped
    if any(v is not None and (v < 0.0 or (v > 1.0 and not ratio)) for v in labels):
        return None, "label outside [0, 1] (export hard labels, or filter first)"
    if all(v is None for v in labels):
        return None, "every label unknown"
    row = ExportRow(
        problem_id=data["problem_id"],
        response_id=data["response_id"],
        question=data["question"],
        source=data.get("source"),
        method=data.get("method"),
        steps=list(steps[: len(labels)]),
        labels=labels,
        kind=label_kind,
        weight=float(data.get("weight") or 1.0) if kind == "labeled" else 1.0,
        value_kind=value_kind,
    )
    return row, ""
