"""A Hugging Face ``datasets`` folder: Parquet splits plus a dataset card whose YAML names them.

``datasets.load_dataset("<folder>")`` reads it as a DatasetDict (train, and validation when split),
and ``huggingface-cli upload`` publishes it as is. The rows are the ``jsonl`` format's.
"""

from __future__ import annotations

import pyarrow as pa

from prmlabel.export import jsonl
from prmlabel.export.source import ExportRow

NAME = "hf"
BOOL_ONLY = False
WRITES_UNKNOWN = False
PLACEHOLDER = None


def schema(float_labels: bool) -> pa.Schema:
    return jsonl.schema(float_labels)


def record(row: ExportRow, labels: list) -> dict:
    return jsonl.record(row, labels)


def split_file(split: str) -> str:
    return f"data/{split}-00000-of-00001.parquet"


def dataset_card(splits: dict[str, int], float_labels: bool, provenance: dict) -> str:
    """README.md: the YAML header that ``load_dataset`` reads, then what the columns mean."""
    data_files = "\n".join(f"  - split: {name}\n    path: {split_file(name)}" for name in splits)
    sizes = "\n".join(f"| {name} | {n} |" for name, n in splits.items())
    labels = (
        "floats in [0, 1] (soft labels; threshold them before TRL, which floors floats to 0)"
        if float_labels
        else "booleans, one per completion (TRL's stepwise supervision: load and pass to PRMTrainer)"
    )
    return f"""---
configs:
- config_name: default
  data_files:
{data_files}
tags:
- process-reward-model
- prmlabel
---

# Step-level labels for process reward models

Written by `prmlabel export --format hf` (prmlabel {provenance.get("prmlabel_version")}) from
`{provenance.get("input")}` (config fingerprint {provenance.get("input_fingerprint")}).
Train and validation are split by problem: no problem has responses in both.

| split | rows |
|---|---|
{sizes}

| column | meaning |
|---|---|
| `prompt` | the problem |
| `completions` | the response's steps, stripped; a trainer joins them with its own separator |
| `labels` | {labels}; `labels[i]` belongs to `completions[i]`; cut before the first undecided step |
| `label_kind` | `hard` or `soft` |
| `weight` | the row's training weight (1.0 unless a filter set one) |
| `method` | the labeling method |
| `problem_id`, `response_id`, `source` | where the row came from in the run |

```python
from datasets import load_dataset
ds = load_dataset("path/to/this/folder")
```
"""
