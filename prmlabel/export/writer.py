"""Write export records to a file atomically: Parquet (explicit schema) or JSON lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FILE_SUFFIXES = (".parquet", ".jsonl", ".json")


def write_records(records: list[dict], schema: pa.Schema, path: Path) -> None:
    """``.parquet`` with ``schema``; ``.jsonl``/``.json`` one JSON object per line (what
    ``datasets.load_dataset("json", ...)`` reads). Written to a temporary name and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(records, schema=schema), tmp, compression="zstd")
    else:
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
