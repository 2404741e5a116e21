"""`prmlabel export --nodes`: a search tree's node table -> training examples (TRL, OpenRLHF, values).

Every node except the root becomes one example (:mod:`prmlabel.export.nodes`): the question, the
steps from the root to the node, and labels. ``values`` writes the node's own value (regression);
``trl`` and ``openrlhf`` write one label per step of the path, each the value of the node that step
leads to: TRL as true/false with ``--threshold T`` (value >= T; required, as for ``export --soft``:
TRL floors float labels to 0), OpenRLHF as floats (or +/- with ``--threshold``). Values are read as
their ``value_kind`` allows (:mod:`prmlabel.export.value_kinds`): probabilities as is, verdicts as
0/1, ratios only with ``--threshold``; advantages, scores and kinds prmlabel does not know are
refused for the label formats and written as they are by ``values``.

A null value is never a label: an example whose node has a null value is skipped, and so is (for
TRL and OpenRLHF) one with a null value on the path; cutting the path before the null would write
the example of that ancestor's parent a second time. Nodes in = examples out + nodes skipped (by
reason), and ``<OUT-stem>.export.json`` keeps the options (the threshold among them) and the counts.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prmlabel import __version__
from prmlabel.contract.store import StoreError
from prmlabel.export import format_module
from prmlabel.export.nodes import EMPTY_STEP, ROOT, NodeRow, node_row, path_to, read_nodes
from prmlabel.export.split import validation_problems
from prmlabel.export.value_kinds import PROBABILITY, RATIO, VERDICT
from prmlabel.export.writer import write_records, write_text
from prmlabel.stages.export import check_options, output_paths, positive_steps

NODE_FORMATS = ("trl", "openrlhf", "values")
NULL_AT_NODE = "value unknown (null) at the node"
NULL_ON_PATH = "value unknown (null) at an ancestor"
NEEDS_THRESHOLD = (
    "--format trl holds true/false step labels and node values are soft ({kinds}); TRL's PRMTrainer "
    "turns a label into int(label), which floors every value below 1 to 0. Pass --threshold T (a step is "
    "positive when its value >= T, e.g. --threshold 0.5), or export the floats with --format openrlhf or values"
)


@dataclass
class NodeExportSummary:
    input: str
    kind: str  # labels (FOLDER/nodes), compress or nodes
    format: str
    nodes_in: int
    problems_in: int
    skipped: Counter
    train_rows: int
    validation_rows: int
    train_problems: int
    validation_problems: int
    positive_steps: int
    negative_steps: int
    float_labels: bool
    threshold: float | None
    value_columns: dict[str, str]  # method -> mc | value_target
    outputs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["skipped"] = dict(sorted(self.skipped.items()))
        return out


def label_kind(value_kind: str | None, method: str | None, fmt: str, threshold: float | None) -> str:
    """How a path format writes values of ``value_kind``: "soft" (floats, or >= threshold) or "hard" (0/1)."""
    if value_kind == PROBABILITY:
        return "soft"
    if value_kind == VERDICT:
        return "hard"
    if value_kind == RATIO and threshold is not None:
        return "soft"
    why = (
        "ratios (P_t = MC_t / MC_(t-1), may exceed 1): pass --threshold T (RPE's rule P_t >= T)"
        if value_kind == RATIO
        else f"{value_kind or 'of no declared kind'}, not step probabilities"
    )
    raise StoreError(
        f"--nodes --format {fmt}: the node values of method {method} are {why}. "
        "--format values writes them as they are, with their value_kind, for value regression"
    )


def run_node_export(
    input: str | Path,
    output: str | Path,
    fmt: str,
    threshold: float | None = None,
    val_fraction: float = 0.0,
    seed: int = 0,
    placeholder: str | None = None,
    tokenizer: str | None = None,
) -> NodeExportSummary:
    if fmt not in NODE_FORMATS:
        raise ValueError(f"--nodes writes --format {', '.join(NODE_FORMATS)}, not {fmt}")
    if fmt == "values" and threshold is not None:
        raise ValueError("--format values writes each node's value as is; --threshold goes with trl or openrlhf")
    module = format_module(fmt)
    tag = check_options(module, fmt, threshold, val_fraction, seed, placeholder, tokenizer, tagged="openrlhf")
    output = Path(output)
    paths = output_paths(output, fmt, val_fraction > 0)
    table = read_nodes(input)
    nodes = [n for n in table.nodes() if not n.is_root and n.step]
    kinds: dict[str | None, str] = {}
    if fmt != "values":
        kinds = {n.value_kind: label_kind(n.value_kind, n.method, fmt, threshold) for n in nodes}
    float_labels = fmt == "values" or ("soft" in kinds.values() and threshold is None)
    if float_labels and module.BOOL_ONLY:
        raise StoreError(NEEDS_THRESHOLD.format(kinds=", ".join(sorted(str(k) for k in kinds))))

    skipped = Counter(table.skipped)
    chosen: list[tuple[NodeRow, list]] = []
    for node in table.nodes():
        if node.is_root or not node.step:
            skipped[ROOT if node.is_root else EMPTY_STEP] += 1
            continue
        if node.value is None:
            skipped[NULL_AT_NODE] += 1
            continue
        if fmt == "values":
            row = node_row(node, None)
            chosen.append((row, row.labels))
            continue
        path, why = path_to(table.trees[node.problem_id], node)
        if not path:
            skipped[why] += 1
        elif any(n.value is None for n in path):
            skipped[NULL_ON_PATH] += 1
        elif any(n.value_kind != node.value_kind for n in path):
            skipped["the path mixes value kinds"] += 1
        elif any(_out_of_range(n.value, node.value_kind) for n in path):
            skipped["value outside [0, 1]"] += 1
        elif kinds[node.value_kind] == "hard" and any(n.value not in (0.0, 1.0) for n in path):
            skipped["verdict value not 0/1"] += 1
        elif tag and (tag in node.question or any(tag in n.step for n in path)):
            skipped[f"text contains the placeholder {tag}"] += 1
        else:
            row = node_row(node, path)
            chosen.append((row, _labels_out(row.labels, kinds[node.value_kind], float_labels, threshold)))

    val = validation_problems({r.problem_id for r, _ in chosen}, val_fraction, seed)
    splits: dict[str, list[dict]] = {name: [] for name in paths}
    for row, labels in chosen:
        record = module.record(row, labels, tag) if tag else module.record(row, labels)
        splits["validation" if row.problem_id in val else "train"].append(record)
    for name, path in paths.items():
        write_records(splits[name], module.schema(float_labels), path)

    flat = [v for _, labels in chosen for v in labels] if fmt != "values" else []
    summary = NodeExportSummary(
        input=str(input),
        kind=table.kind,
        format=fmt,
        nodes_in=table.nodes_in,
        problems_in=len(table.trees),
        skipped=skipped,
        train_rows=len(splits["train"]),
        validation_rows=len(splits.get("validation", [])),
        train_problems=len({r.problem_id for r, _ in chosen} - val),
        validation_problems=len(val),
        positive_steps=positive_steps(flat),
        negative_steps=len(flat) - positive_steps(flat),
        float_labels=float_labels,
        threshold=threshold,
        value_columns=table.value_columns,
        outputs=[str(p) for p in paths.values()],
    )
    assert summary.nodes_in == summary.train_rows + summary.validation_rows + sum(skipped.values())
    provenance = {
        "prmlabel_version": __version__,
        "input": str(input),
        "input_fingerprint": table.fingerprint,
        "nodes": True,
        "format": fmt,
        "threshold": threshold,
        "val_fraction": val_fraction,
        "seed": seed,
        "placeholder": tag,
        "summary": summary.as_dict(),
    }
    sidecar = output.with_name(f"{output.stem}.export.json")
    write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n", sidecar)
    summary.outputs.append(str(sidecar))
    return summary


def _out_of_range(value: float | None, value_kind: str | None) -> bool:
    """A label value outside [0, 1]; a ratio above 1 is a step that made success more likely."""
    return value is not None and (value < 0.0 or (value > 1.0 and value_kind != RATIO))


def _labels_out(values: list, kind: str, float_labels: bool, threshold: float | None) -> list:
    """Floats (soft, no threshold), or booleans: value >= threshold (soft), value == 1 (verdicts)."""
    if kind == "hard":
        return [v >= 0.5 for v in values]
    if float_labels:
        return list(values)
    return [v >= threshold for v in values]  # type: ignore[operator]  # a soft kind without floats has one


def summary_lines(summary: NodeExportSummary) -> dict[str, object]:
    """What `prmlabel export --nodes` prints: nodes in, examples out, skipped by reason, labels, threshold."""
    lines: dict[str, object] = {
        "nodes in": f"{summary.nodes_in} ({summary.kind} node table, {summary.problems_in} questions)",
        "exported": f"{summary.train_rows + summary.validation_rows} examples, one per node",
        "  train": f"{summary.train_rows} examples, {summary.train_problems} questions",
    }
    if summary.validation_rows or summary.validation_problems:
        lines["  validation"] = f"{summary.validation_rows} examples, {summary.validation_problems} questions"
    lines["skipped"] = sum(summary.skipped.values())
    for reason, n in sorted(summary.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
        lines[f"  {reason}"] = n
    nulls = summary.skipped.get(NULL_AT_NODE, 0) + summary.skipped.get(NULL_ON_PATH, 0)
    where = "the node's value" if summary.format == "values" else "a value on the path (node or ancestor)"
    lines["null values"] = f"{nulls} examples skipped for {where}; a null is never written as a label"
    lines["value"] = ", ".join(f"{m}: {c}" for m, c in sorted(summary.value_columns.items())) or "-"
    if summary.format == "values":
        lines["labels"] = "the node's own value, as a float, with its value_kind"
    else:
        if summary.threshold is not None:
            lines["threshold"] = f"{summary.threshold} (a step is positive when its value >= {summary.threshold})"
        kind = "floats" if summary.float_labels else "true/false"
        lines["steps"] = f"{summary.positive_steps} positive, {summary.negative_steps} negative ({kind})"
    lines["wrote"] = ", ".join(summary.outputs)
    return lines
