"""Datasets by their Hugging Face Hub name: ``-i hf://owner/name[/config]``, read through ``datasets``.

``hf://openai/gsm8k`` is ``datasets.load_dataset("openai/gsm8k", "main", split=...)``: the Hub's own
loader, so its cache, ``HF_HUB_OFFLINE=1`` (read only the local cache), ``HF_TOKEN`` / ``hf auth login``
(gated datasets) and ``HF_HOME`` / ``HF_DATASETS_CACHE`` behave as users of ``datasets`` expect. A third
path segment names the config (``hf://openai/gsm8k/socratic``); without one, the config in
:data:`KNOWN` or the dataset's default is used. ``split`` (``--split``) picks the split; it may be left
out only when the dataset has one.

Records come out as :class:`~prmlabel.inputs.records.RawRecord` like a file's rows: ``file`` is the name with
config and split (``hf://openai/gsm8k (config main, split test)``), ``row`` the 1-based record number.

The input's identity for resume (:func:`revision_digest`) is the dataset revision that ``datasets``
resolved (the Hub commit, which also names the cached copy), so a resumed run refuses a dataset that
changed on the Hub, as it refuses a changed file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from prmlabel.inputs.raw import BATCH_ROWS, InputError, RawRecord, jsonable

HUB_PREFIX = "hf://"
# `-i` typed as a Path collapses "hf://" to "hf:/"; both spell the same name.
_HUB_RE = re.compile(r"^hf:/{1,2}(?P<name>.*)$")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class KnownDataset:
    """A dataset's Hub name, the config to load by default, and the presets that read its layout."""

    repo: str
    config: str | None
    problems_preset: str | None  # `prmlabel generate --preset`
    responses_preset: str | None  # `prmlabel import --preset`


# The Hub names PRM work uses (docs/inputs.md says why each was chosen).
KNOWN: dict[str, KnownDataset] = {
    k.repo.lower(): k
    for k in (
        KnownDataset("openai/gsm8k", "main", "gsm8k", None),
        KnownDataset("HuggingFaceH4/MATH-500", None, "math500", None),
        KnownDataset("Qwen/ProcessBench", None, "processbench", "processbench"),
        KnownDataset("tasksource/PRM800K", None, None, "prm800k"),
        KnownDataset("peiyi9979/Math-Shepherd", None, None, "math_shepherd"),
        KnownDataset("yale-nlp/FOLIO", None, "folio", None),
        KnownDataset("tasksource/folio", None, "folio", None),
    )
}
# Another copy is recognised by its name without the owner (letters and digits only, lower case):
# `someone/BIG-Bench-Mistake` picks bigbench_mistake, `me/gsm8k` picks gsm8k.
BY_NAME: dict[str, tuple[str | None, str | None]] = {
    "gsm8k": ("gsm8k", None),
    "math500": ("math500", None),
    "processbench": ("processbench", "processbench"),
    "prm800k": (None, "prm800k"),
    "mathshepherd": (None, "math_shepherd"),
    "bigbenchmistake": (None, "bigbench_mistake"),
    "folio": ("folio", None),
}


@dataclass(frozen=True)
class HubRef:
    """A parsed ``hf://`` input: the repository id and the config (None = the default)."""

    repo: str
    config: str | None

    def label(self, split: str | None) -> str:
        """The name rejects and errors give as the input's "file"."""
        parts = [f"config {self.config}"] if self.config else []
        parts += [f"split {split}"] if split else []
        return f"{HUB_PREFIX}{self.repo}" + (f" ({', '.join(parts)})" if parts else "")


def is_hub(path: str | Path | None) -> bool:
    return path is not None and _HUB_RE.match(str(path)) is not None


def parse(path: str | Path) -> HubRef:
    """``hf://owner/name`` or ``hf://owner/name/config`` -> :class:`HubRef`; InputError if malformed."""
    m = _HUB_RE.match(str(path))
    name = m.group("name").strip("/") if m else ""
    segments = name.split("/") if name else []
    if not 1 <= len(segments) <= 3 or not all(_SEGMENT_RE.match(s) for s in segments):
        raise InputError(
            f"{path}: not a Hub dataset name; write hf://OWNER/NAME (e.g. hf://openai/gsm8k), "
            "or hf://OWNER/NAME/CONFIG for a config other than the default"
        )
    if len(segments) == 3:
        return HubRef("/".join(segments[:2]), segments[2])
    repo = "/".join(segments)
    known = KNOWN.get(repo.lower())
    return HubRef(known.repo if known else repo, known.config if known else None)


def presets_for(path: str | Path) -> tuple[str | None, str | None]:
    """(problems preset, responses preset) that read this dataset's layout, by its Hub name."""
    repo = parse(path).repo
    known = KNOWN.get(repo.lower())
    if known:
        return known.problems_preset, known.responses_preset
    key = re.sub(r"[^a-z0-9]", "", repo.split("/")[-1].lower())
    return BY_NAME.get(key, (None, None))


def with_preset(config: dict[str, Any], stage: str, shipped_fields: Any) -> dict[str, Any]:
    """``config`` with the preset its ``hf://`` input's name picks, where the user chose none.

    An explicit preset wins, and so does a field mapping the user changed from ``shipped_fields``.
    ``stage`` is ``generate`` (problems presets) or ``import`` (responses presets).
    """
    if config.get("preset") or not is_hub(config.get("input")) or config.get("fields") != shipped_fields:
        return config
    problems, responses = presets_for(config["input"])
    preset = problems if stage == "generate" else responses
    return {**config, "preset": preset} if preset else config


# ------------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------------


def _what_to_do(ref: HubRef) -> str:
    import datasets.config

    page = f"https://huggingface.co/datasets/{ref.repo}"
    if datasets.config.HF_HUB_OFFLINE:
        return (
            f"HF_HUB_OFFLINE=1 reads only the local cache ({datasets.config.HF_DATASETS_CACHE}), which has no "
            f"copy of it: run once with HF_HUB_OFFLINE=0 to download it, point HF_HOME or HF_DATASETS_CACHE "
            f"at the cache that has it, or check the name ({page})"
        )
    return (
        f"check the name at {page}; for a gated dataset accept its conditions there and log in "
        "(`hf auth login`, or set HF_TOKEN); without a network, download it first on a machine that "
        "has one and copy its cache (HF_HOME), then set HF_HUB_OFFLINE=1"
    )


def _load_error(ref: HubRef, exc: Exception, split: str | None = None) -> InputError:
    text = " ".join(str(exc).split())
    where = ref.label(split)
    if "config name is missing" in text.lower():
        return InputError(f"{where}: {text}. Name the config as hf://{ref.repo}/CONFIG")
    if "unknown split" in text.lower():
        return InputError(f"{where}: {text} Pass one with --split NAME (split=NAME)")
    return InputError(f"{where}: cannot load it with datasets ({type(exc).__name__}: {text}); {_what_to_do(ref)}")


@lru_cache(maxsize=8)
def _builder(ref: HubRef) -> Any:
    """The ``datasets`` builder of the dataset (metadata only: the Hub revision or the cached copy)."""
    import datasets

    try:
        return datasets.load_dataset_builder(ref.repo, ref.config)
    except Exception as e:  # datasets raises ConnectionError, DatasetNotFoundError, ValueError, ...
        raise _load_error(ref, e) from e


def revision_digest(path: str | Path) -> str:
    """The dataset's identity: repository, config and the revision ``datasets`` resolved.

    The revision is the Hub commit (online) or the commit of the cached copy (``HF_HUB_OFFLINE=1``),
    so the same data gives the same digest either way, and a new commit gives another one. The split
    is not part of it: it is a config key of its own, in the run's fingerprint already.
    """
    ref = parse(path)
    builder = _builder(ref)
    revision = builder.hash if isinstance(builder.hash, str) and builder.hash else None
    identity: dict[str, Any] = {"repo": ref.repo, "config": builder.config_id, "revision": revision}
    if revision is None:  # no revision known: fall back on what the builder says the data is
        info = builder.info
        identity["splits"] = {k: v.num_examples for k, v in (info.splits or {}).items()}
        identity["checksums"] = info.download_checksums
    canon = json.dumps(identity, sort_keys=True, default=str)
    return "hf:" + hashlib.sha256(canon.encode()).hexdigest()[:32]


def _dataset(ref: HubRef, split: str | None) -> tuple[Any, str]:
    """The split's ``datasets.Dataset`` and the split's name (the only one when ``split`` is None)."""
    import datasets

    builder = _builder(ref)
    revision = builder.hash if isinstance(builder.hash, str) and builder.hash else None
    try:
        if split is not None:
            return datasets.load_dataset(ref.repo, ref.config, split=split, revision=revision), split
        loaded = datasets.load_dataset(ref.repo, ref.config, revision=revision)
    except Exception as e:
        raise _load_error(ref, e, split) from e
    splits = list(loaded)
    if len(splits) != 1:
        example = f"--split {splits[0]}" if splits else "--split NAME"
        raise InputError(f"{ref.label(None)}: the dataset has splits {splits}; choose one with {example} (split=NAME)")
    return loaded[splits[0]], splits[0]


def read_hub_records(path: str | Path, split: str | None = None) -> Iterator[RawRecord]:
    """The rows of a Hub dataset's split as records; loading errors raise InputError up front."""
    ref = parse(path)
    dataset, chosen = _dataset(ref, split)
    if len(dataset) == 0:
        raise InputError(f"{ref.label(chosen)}: holds no records; check the split")
    return _rows(ref.label(chosen), dataset)


def _rows(file: str, dataset: Any) -> Iterator[RawRecord]:
    """Rows as ``datasets`` gives them to Python: its features decoded (a ``Json`` column, which
    ``datasets`` makes of nested JSON whose shape varies from row to row, becomes the objects again)."""
    row = 0
    for batch in dataset.iter(batch_size=BATCH_ROWS):
        names = list(batch)
        for values in zip(*(batch[name] for name in names), strict=True):
            row += 1
            yield RawRecord(file, row, jsonable(dict(zip(names, values, strict=True))))
