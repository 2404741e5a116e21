"""A Hugging Face ``datasets`` folder: Parquet splits plus a dataset card whose YAML names them.

``datasets.load_dataset("<folder>")`` reads it as a DatasetDict (train, and validation when split),
and ``--push-to-hub`` (or ``hf upload``) publishes it as is. The rows are the ``jsonl`` format's; the
card (:mod:`prmlabel.export.card`) states their origin, counts, undecided steps, cost and parameters.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pyarrow as pa

from prmlabel.export import card, jsonl
from prmlabel.export.source import ExportRow

NAME = "hf"
BOOL_ONLY = False
WRITES_UNKNOWN = False
PLACEHOLDER = None
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def schema(float_labels: bool) -> pa.Schema:
    return jsonl.schema(float_labels)


def record(row: ExportRow, labels: list) -> dict:
    return jsonl.record(row, labels)


def split_file(split: str) -> str:
    return f"data/{split}-00000-of-00001.parquet"


def name_by_content(path: Path) -> Path:
    """Rename a written split to ``<split>-00000-of-00001-<digest>.parquet`` (the Hub's shard naming).

    ``datasets.load_dataset(folder)`` caches a folder whose card lists ``configs`` under a hash of the
    folder's name and the card's ``data_files`` patterns, not of the files (datasets 5.2): with a fixed
    file name, loading a re-export (or another export folder of the same name) returns the earlier rows
    from the cache. A name that changes with the content makes the cache key change with it."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    named = path.with_name(f"{path.stem}-{digest}{path.suffix}")
    os.replace(path, named)
    return named


def dataset_card(splits: dict[str, int], float_labels: bool, provenance: dict, files: dict[str, str]) -> str:
    """README.md: the YAML header the Hub and ``load_dataset`` read, then origin, counts, cost, parameters.

    ``files`` maps each split to its Parquet file, relative to the folder."""
    facts = card.gather(provenance["input"])
    meta = card.metadata(facts, files, sum(splits.values()))
    return card.render(facts, meta, provenance, _columns(float_labels), provenance.get("hub_repo"))


def _columns(float_labels: bool) -> str:
    labels = (
        "floats in [0, 1] (soft labels; threshold them before TRL, which floors floats to 0)"
        if float_labels
        else "booleans, one per completion (TRL's stepwise supervision: load and pass to PRMTrainer)"
    )
    return f"""| column | meaning |
|---|---|
| `prompt` | the problem |
| `completions` | the response's steps, stripped; a trainer joins them with its own separator |
| `labels` | {labels}; `labels[i]` belongs to `completions[i]`; cut before the first undecided step |
| `label_kind` | `hard` or `soft` |
| `weight` | the row's training weight (1.0 unless a filter set one) |
| `method` | the labeling method |
| `problem_id`, `response_id`, `source` | where the row came from in the run |"""


def check_repo_id(repo_id: str) -> None:
    """``--push-to-hub`` takes ``user/name`` (or ``org/name``), checked before anything is written."""
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(_REPO_PART.match(p) for p in parts):
        raise ValueError(f"--push-to-hub {repo_id!r} must be USER/NAME or ORG/NAME, e.g. --push-to-hub me/prm-labels")


def push_to_hub(folder: Path, repo_id: str, private: bool) -> str:
    """Upload ``folder`` as a dataset repository with huggingface_hub; return the repository's URL.

    The token is huggingface_hub's own (``HF_TOKEN``, or ``hf auth login`` / ``huggingface-cli login``).
    The folder is only read: on a failure it stays complete and :class:`PushError` says how to retry."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="dataset",
            commit_message="prmlabel export --format hf",
            ignore_patterns=[".*"],  # a temporary file of an interrupted write
        )
    except Exception as exc:  # huggingface_hub raises HTTP, token and connection errors alike
        private_flag = " --private" if private else ""
        raise PushError(
            f"the push to {repo_id} failed ({type(exc).__name__}: {exc}). {folder} is complete and unchanged. "
            "Check the network and the login (`hf auth login`, or HF_TOKEN set to a token with write access "
            "to the repository), then upload it: "
            f"hf upload {repo_id} {folder} --repo-type dataset{private_flag}"
        ) from exc
    return str(url)


class PushError(RuntimeError):
    """The export folder is written, the upload failed."""
