"""`prmlabel export`: a labels or labeled folder -> one trainer's file (or a `datasets` folder).

Every input row is accounted for: exported (train or validation) or skipped with a reason (dropped
by a filter, no known label, the placeholder inside the text, ...). A null (undecided) label is
never written as a positive or a negative: formats without nulls keep the decided prefix, cutting
the response before its first undecided step (rows counted as ``cut``, the steps left out as
``steps_cut``), a response whose first step is undecided is skipped, and FoVer writes null (counted
as ``null_steps``). ``--soft`` writes a labeler's values only where they are probabilities (see
:mod:`prmlabel.export.value_kinds`). Rows are written sorted by (problem_id, response_id), so the
same input and options write the same bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prmlabel import __version__
from prmlabel.contract.store import StoreError
from prmlabel.export import format_module, hf  # format_module: built-in and plug-in formats
from prmlabel.export.placeholder import check_placeholder
from prmlabel.export.source import ExportRow, read_rows
from prmlabel.export.split import validation_problems
from prmlabel.export.writer import FILE_SUFFIXES, write_records, write_text

SOFT_NEEDS_THRESHOLD = (
    "{fmt} stores true/false step labels and these labels are soft (values in [0, 1]). "
    "TRL's PRMTrainer turns a label into int(label), which floors every value below 1 to 0, so 0.9 "
    "would train as a wrong step. Pass --threshold T (a step is positive when its value >= T, e.g. "
    "--threshold 0.5), or export the floats with --format openrlhf, jsonl or hf"
)


@dataclass
class ExportSummary:
    input: str
    kind: str
    format: str
    rows_in: int
    skipped: Counter
    cut: int  # rows written with their steps cut before the first unknown label
    steps_cut: int  # steps of written rows left out: undecided, or after an undecided one
    null_steps: int  # undecided steps written as null (FoVer only)
    train_rows: int
    validation_rows: int
    train_problems: int
    validation_problems: int
    positive_steps: int
    negative_steps: int
    float_labels: bool
    outputs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["skipped"] = dict(sorted(self.skipped.items()))
        return out


def output_paths(output: Path, fmt: str, with_validation: bool) -> dict[str, Path]:
    """Where each split goes: files ``OUT`` and ``OUT-stem.validation.suffix``, or hf's folder layout."""
    if fmt == "hf":
        if output.suffix in FILE_SUFFIXES:
            raise ValueError(f"--format hf writes a folder; -o {output} looks like a file (drop {output.suffix})")
        splits = ["train", "validation"] if with_validation else ["train"]
        return {s: output / hf.split_file(s) for s in splits}
    if output.suffix not in FILE_SUFFIXES:
        raise ValueError(
            f"-o {output} must end in .parquet or .jsonl (the file type to write), e.g. -o prm_train.parquet"
        )
    paths = {"train": output}
    if with_validation:
        paths["validation"] = output.with_name(f"{output.stem}.validation{output.suffix}")
    return paths


def _labels_out(row: ExportRow, n: int, float_labels: bool, threshold: float | None) -> list:
    """The first ``n`` labels as the file holds them: floats, or booleans (hard: 1.0; soft: >= threshold)."""
    out: list = []
    for value in row.labels[:n]:
        if value is None:
            out.append(None)
        elif float_labels:
            out.append(value)
        elif row.kind == "soft":
            out.append(value >= threshold)  # type: ignore[operator]  # threshold is checked before
        else:
            out.append(value >= 0.5)
    return out


def positive_steps(labels: list) -> int:
    """Step labels written as positive: True, or a soft value >= 0.5 (the summary's count)."""
    return sum(1 for v in labels if v is True or (not isinstance(v, bool) and v >= 0.5))


def check_options(
    module: Any,
    fmt: str,
    threshold: float | None,
    val_fraction: float,
    seed: int,
    placeholder: str | None,
    tokenizer: str | None,
    tagged: str = "openrlhf or math-shepherd",
) -> str | None:
    """The options every export checks before reading anything; returns the format's step tag, if any.

    --placeholder / --tokenizer: the step tag of openrlhf and math-shepherd (prmlabel.export.placeholder)."""
    tag = getattr(module, "PLACEHOLDER", None)
    if (placeholder is not None or tokenizer is not None) and not tag:
        raise ValueError(f"--placeholder and --tokenizer go with --format {tagged}, not {fmt}")
    if tag:
        tag = placeholder if placeholder is not None else tag
        check_placeholder(tag, tokenizer, fmt)
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise ValueError(f"--threshold {threshold} must be in (0, 1], e.g. --threshold 0.5")
    validation_problems(set(), val_fraction, seed)  # checks the fraction before any reading
    return tag


def run_export(
    input: str | Path,
    output: str | Path,
    fmt: str,
    soft: bool = False,
    threshold: float | None = None,
    val_fraction: float = 0.0,
    seed: int = 0,
    hub_repo: str | None = None,
    placeholder: str | None = None,
    tokenizer: str | None = None,
) -> ExportSummary:
    """``hub_repo`` (hf only) is the repository the folder will be pushed to, named in its card."""
    module = format_module(fmt)
    tag = check_options(module, fmt, threshold, val_fraction, seed, placeholder, tokenizer)
    output = Path(output)
    paths = output_paths(output, fmt, val_fraction > 0)
    source = read_rows(input, soft=soft, threshold=threshold)
    any_soft = any(r.kind == "soft" for r in source.rows)
    float_labels = any_soft and threshold is None
    if float_labels and module.BOOL_ONLY:
        raise StoreError(SOFT_NEEDS_THRESHOLD.format(fmt=f"--format {fmt}"))

    skipped = Counter(source.skipped)
    cut = steps_cut = 0
    chosen: list[tuple[ExportRow, list]] = []
    for row in source.rows:
        if tag and (tag in row.question or any(tag in s for s in row.steps)):
            skipped[f"text contains the placeholder {tag}"] += 1
            continue
        n = len(row.labels) if module.WRITES_UNKNOWN else row.known_prefix()
        if n == 0:
            skipped["first step's label unknown"] += 1
            continue
        cut += n < len(row.labels)
        steps_cut += len(row.labels) - n
        labels = _labels_out(row, n, float_labels, threshold)
        assert module.WRITES_UNKNOWN or None not in labels  # a format without null never sees one
        trimmed = ExportRow(**{**row.__dict__, "steps": row.steps[:n], "labels": row.labels[:n]})
        chosen.append((trimmed, labels))

    val = validation_problems({r.problem_id for r, _ in chosen}, val_fraction, seed)
    splits: dict[str, list[dict]] = {name: [] for name in paths}
    for row, labels in chosen:
        record = module.record(row, labels, tag) if tag else module.record(row, labels)
        splits["validation" if row.problem_id in val else "train"].append(record)
    schema = module.schema(float_labels)
    if fmt == "hf":
        _check_hf_folder(output)
    for name, path in paths.items():
        write_records(splits[name], schema, path)
    if fmt == "hf":  # each split's name carries its content digest (hf.name_by_content says why)
        paths = {name: hf.name_by_content(path) for name, path in paths.items()}

    flat = [v for _, labels in chosen for v in labels if v is not None]
    summary = ExportSummary(
        input=str(input),
        kind=source.kind,
        format=fmt,
        rows_in=source.rows_in,
        skipped=skipped,
        cut=cut,
        steps_cut=steps_cut,
        null_steps=sum(1 for _, labels in chosen for v in labels if v is None),
        train_rows=len(splits["train"]),
        validation_rows=len(splits.get("validation", [])),
        train_problems=len({r.problem_id for r, _ in chosen} - val),
        validation_problems=len(val),
        positive_steps=positive_steps(flat),
        negative_steps=len(flat) - positive_steps(flat),
        float_labels=float_labels,
        outputs=[str(p) for p in paths.values()],
    )
    assert summary.rows_in == summary.train_rows + summary.validation_rows + sum(skipped.values())
    provenance = {
        "prmlabel_version": __version__,
        "input": str(input),
        "input_fingerprint": source.fingerprint,
        "format": fmt,
        "soft": soft,
        "threshold": threshold,
        "val_fraction": val_fraction,
        "seed": seed,
        "summary": summary.as_dict(),
        "undecided_steps": sum(1 for r in source.rows for v in r.labels if v is None),
        "hub_repo": hub_repo,
        "placeholder": tag,
    }
    sidecar = output / "prmlabel_export.json" if fmt == "hf" else output.with_name(f"{output.stem}.export.json")
    write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n", sidecar)
    if fmt == "hf":
        sizes = {name: len(rows) for name, rows in splits.items()}
        files = {name: path.relative_to(output).as_posix() for name, path in paths.items()}
        write_text(hf.dataset_card(sizes, float_labels, provenance, files), output / "README.md")
    summary.outputs.append(str(sidecar))
    return summary


def _check_hf_folder(output: Path) -> None:
    """Refuse to write into a folder that holds something other than an earlier export."""
    if output.exists() and any(output.iterdir()) and not (output / "prmlabel_export.json").exists():
        raise StoreError(f"{output} exists and is not a prmlabel export folder; pick a new -o folder")
    for stale in (output / "data").glob("*.parquet"):  # an earlier export's splits
        stale.unlink()
