"""A Hugging Face datasets cache in a temporary folder, holding small copies of Hub datasets.

With ``HF_HUB_OFFLINE=1``, ``datasets.load_dataset("owner/name", config, split=...)`` reads the copy
that an earlier online load prepared under ``HF_DATASETS_CACHE``:
``<owner>___<name>/<config>/0.0.0/<revision>/`` with ``dataset_info.json`` and ``<name>-<split>.arrow``.
:func:`add_hub_dataset` writes exactly that, with ``datasets``' own JSON builder (the one a Hub
dataset of JSON files is loaded with), so the tests run the real loader with no network.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

REVISION = "0" * 39 + "1"


def add_hub_dataset(
    hf_home: Path,
    repo: str,
    splits: dict[str, Path | list[dict[str, Any]]],
    config: str | None = None,
    revision: str = REVISION,
) -> Path:
    """Put ``repo`` (``owner/name``) with ``splits`` (a JSON/JSONL file or rows each) into the cache.

    A later call with another ``revision`` adds a newer copy, as a download of a new Hub commit does.
    """
    from datasets.naming import camelcase_to_snakecase
    from datasets.packaged_modules.json.json import Json

    owner, name = repo.split("/")
    snake = camelcase_to_snakecase(name)
    work = hf_home / "_build" / f"{snake}-{revision}"
    work.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for split, source in splits.items():
        if isinstance(source, Path):
            files[split] = str(source)
        else:
            path = work / f"{split}.jsonl"
            path.write_text("".join(json.dumps(row) + "\n" for row in source), encoding="utf-8")
            files[split] = str(path)
    builder = Json(
        cache_dir=str(work / "cache"),
        dataset_name=snake,
        config_name=config or "default",
        hash=revision,
        data_files=files,
    )
    builder.download_and_prepare()
    dest = hf_home / "datasets" / f"{owner}___{snake}" / (config or "default") / "0.0.0" / revision
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(builder.cache_dir, dest)
    os.utime(dest)  # the newest copy is the one an offline load picks
    shutil.rmtree(work)
    return dest


def offline_hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, offline Hugging Face cache under ``tmp_path``, for the `prmlabel` subprocesses (the
    environment) and for ``datasets`` already imported in this process (its config module read the
    environment once, at import). A test module's ``hf_home`` fixture returns it; monkeypatch undoes it.
    """
    import datasets.config

    from prmlabel.inputs import hub

    home = tmp_path / "hf"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(home / "datasets"))
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    hub._builder.cache_clear()  # builders of an earlier test's cache
    return home
