"""The dataset card of a ``--format hf`` export: where the labels came from, what they cost, what they hold.

The facts are read, never typed in: the input folder's manifest (its resolved config and fingerprint),
the folders it was made from (a labeled folder's ``input`` leads to the labels folder, whose ``input``
leads to the rollouts), their shard records (cost, the labeler's paper and parameters, the model), and
``RUN/run.yaml`` when the folders are stages of a ``prmlabel run`` folder (the recipe and its paper).
A fact that cannot be found is written as unknown, never guessed. The counts come from the export's
own summary, so the card says exactly what the Parquet files hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from prmlabel.inputs import hub

# Licenses of source datasets, as their own Hub cards state them; a source not listed gets no license.
SOURCE_LICENSES = {"openai/gsm8k": "mit"}
# Numbers of a shard record's cost summed over shards: (column, cost keys tried in order).
COST_COLUMNS = [
    ("rollouts", ("rollouts",)),
    ("generated rollouts", ("generated_rollouts",)),
    ("prompt tokens", ("prompt_tokens",)),
    ("generated tokens", ("generated_tokens", "completion_tokens")),
]
MAX_DEPTH = 8  # stage folders followed up from the export's input


@dataclass
class StageFolder:
    """One stage folder: its manifest and shard records (``_records/*.json``)."""

    path: Path
    manifest: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return str(self.manifest.get("stage"))

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest.get("config") or {}

    def provenance(self) -> dict[str, Any]:
        """The first shard record's provenance (every shard of a stage runs the same config)."""
        for record in self.records:
            if isinstance((record.get("cost") or {}).get("provenance"), dict):
                return record["cost"]["provenance"]
        return {}

    def cost(self) -> dict[str, float]:
        out = {"shards": float(len(self.records)), "seconds": sum(float(r.get("seconds") or 0) for r in self.records)}
        for column, keys in COST_COLUMNS:
            for key in keys:
                values = [r["cost"][key] for r in self.records if isinstance((r.get("cost") or {}).get(key), int)]
                if values:
                    out[column] = float(sum(values))
                    break
        return out


def _stage_folder(path: Path) -> StageFolder | None:
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((path / "_records").glob("part-*.json"))]
    return StageFolder(path, manifest, records)


def _parents(folder: StageFolder) -> list[StageFolder]:
    """The folders a stage read (``input``, and a filter's ``with``): each a sibling (how `prmlabel run`
    names inputs), the path as written, or its name beside this folder (a run folder that was moved)."""
    found = []
    for key in ("input", "with"):
        given = folder.config.get(key)
        if not given or hub.is_hub(given):
            continue
        given = Path(str(given))
        for candidate in (folder.path.parent / given, given, folder.path.parent / given.name):
            if candidate.resolve() != folder.path.resolve() and (parent := _stage_folder(candidate)):
                found.append(parent)
                break
    return found


def lineage(input: str | Path) -> list[StageFolder]:
    """The input folder, then each folder it was made from, up to the rollouts (as far as they are found).

    Input first, then breadth first: the first label folder is the one the input's rows came through."""
    chain: list[StageFolder] = []
    queue = [f for f in [_stage_folder(Path(input))] if f is not None]
    seen: set[Path] = set()
    while queue and len(chain) < MAX_DEPTH:
        current = queue.pop(0)
        if current.path.resolve() in seen:
            continue
        seen.add(current.path.resolve())
        chain.append(current)
        if current.stage in ("filter", "label"):
            queue.extend(_parents(current))
    return chain


def read_run_plan(input: str | Path) -> dict[str, Any] | None:
    """``RUN/run.yaml`` when the input folder is a stage of a `prmlabel run` folder."""
    plan = Path(input).resolve().parent / "run.yaml"
    if not plan.is_file():
        return None
    data = yaml.safe_load(plan.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) and "recipe" in data else None


@dataclass
class Facts:
    """What the card states about the data's origin, each None when it could not be found."""

    recipe: str | None
    paper: str | None
    method: str | None
    method_paper: str | None
    method_params: dict[str, Any] | None
    policy_model: str | None
    label_model: str | None
    source: str | None
    domain: str | None
    license: str | None
    chain: list[StageFolder]
    plan: dict[str, Any] | None


def gather(input: str | Path) -> Facts:
    chain = lineage(input)
    plan = read_run_plan(input)
    label = next((f for f in chain if f.stage == "label"), None)
    rollouts = next((f for f in chain if f.stage in ("generate", "import")), None)
    label_prov = label.provenance() if label else {}
    params = label_prov.get("params")
    if isinstance(params, str):
        params = json.loads(params)
    policy = None
    if rollouts is not None:
        policy = rollouts.provenance().get("model") or (rollouts.config.get("backend") or {}).get("model")
        if rollouts.stage == "import":
            policy = policy or "the imported responses' own policy (see their `policy` field)"
    source = rollouts.config.get("input") if rollouts else None
    domain = None
    if rollouts is not None:
        domain = rollouts.config.get("domain") or (rollouts.config.get("fields") or {}).get("domain")
    license = None
    if source and hub.is_hub(source):
        license = SOURCE_LICENSES.get(hub.parse(source).repo.lower())
    method = (label.config.get("method") if label else None) or _rows_method(Path(input))
    return Facts(
        recipe=(plan or {}).get("recipe"),
        paper=(plan or {}).get("paper"),
        method=method,
        method_paper=label_prov.get("paper") or _labeler_paper(method),
        method_params=params if isinstance(params, dict) else None,
        policy_model=policy,
        label_model=label_prov.get("model") or ((label.config.get("backend") or {}).get("model") if label else None),
        source=str(source) if source else None,
        domain=domain,
        license=license,
        chain=chain,
        plan=plan,
    )


def _labeler_paper(method: str | None) -> str | None:
    """The labeler's paper from its class, for a labels folder whose records carry none."""
    if not method:
        return None
    from prmlabel.labelers import load_labeler

    try:
        return getattr(load_labeler(method), "paper", None)
    except Exception:  # a plug-in that is not installed here, or options it needs: the paper stays unknown
        return None


def _rows_method(folder: Path) -> str | None:
    """The ``method`` the input's rows name, when they all name the same one."""
    methods: set[str] = set()
    for path in sorted(folder.glob("part-*.parquet")):
        if "method" in pq.read_schema(path).names:
            methods.update(m for m in pq.read_table(path, columns=["method"])["method"].to_pylist() if m)
    return methods.pop() if len(methods) == 1 else None


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M" if n < 10_000_000 else "n>10M"


def metadata(facts: Facts, data_files: dict[str, str], rows: int) -> dict[str, Any]:
    """The card's YAML header: what the Hub reads (configs, license, tags, task, size)."""
    tags = ["prm", "process-reward-model", "step-level-labels", "prmlabel"]
    tags += [t for t in (facts.recipe, facts.method, facts.domain) if t and t not in tags]
    meta: dict[str, Any] = {}
    if facts.license:
        meta["license"] = facts.license
    meta["pretty_name"] = f"Step labels ({facts.recipe or facts.method or 'prmlabel'})"
    meta["task_categories"] = ["token-classification"]  # a PRM scores each step's separator token
    meta["tags"] = tags
    meta["size_categories"] = [size_category(rows)]
    meta["configs"] = [
        {"config_name": "default", "data_files": [{"split": s, "path": p} for s, p in data_files.items()]}
    ]
    return meta


def _unknown(value: Any) -> str:
    return "unknown" if value in (None, "") else f"`{value}`" if not isinstance(value, str) or "\n" in value else value


def _origin(facts: Facts, provenance: dict[str, Any]) -> str:
    recipe = (
        f"`{facts.recipe}`: {facts.paper or 'paper unknown'} (from the run folder's run.yaml)"
        if facts.recipe
        else "none: the stages were run one by one (the labeling method's paper is below)"
    )
    method = f"`{facts.method}`: {facts.method_paper or 'paper unknown'}" if facts.method else "unknown"
    for other in [f for f in facts.chain if f.stage == "label"][1:]:  # e.g. the judge a consensus filter read
        paper = other.provenance().get("paper") or "paper unknown"
        method += f"; compared with `{other.config.get('method')}` ({other.path.name}): {paper}"
    code = (
        f", code fingerprint {facts.plan['code_fingerprint']}"
        if facts.plan and facts.plan.get("code_fingerprint")
        else ""
    )
    rows = [
        ("recipe", recipe),
        ("labeling method", method),
        ("policy model (wrote the responses)", _unknown(facts.policy_model)),
        ("labeling model (rollouts or judge)", _unknown(facts.label_model)),
        ("problems", _unknown(facts.source)),
        ("domain", _unknown(facts.domain)),
        ("license", f"{facts.license} (the source problems' card)" if facts.license else "not stated: unknown source"),
        ("prmlabel version", f"{provenance.get('prmlabel_version')}{code}"),
        ("config fingerprint", f"{provenance.get('input_fingerprint')} (of `{provenance.get('input')}`)"),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _counts(summary: dict[str, Any], provenance: dict[str, Any]) -> str:
    positive, negative = summary["positive_steps"], summary["negative_steps"]
    steps = positive + negative
    share = f" ({positive / steps:.1%} positive)" if steps else ""
    kind = "floats: a step counts as positive when its value >= 0.5" if summary["float_labels"] else "true/false"
    rows = [
        ("rows read", f"{summary['rows_in']} ({summary['kind']} folder)"),
        ("rows exported", summary["train_rows"] + summary["validation_rows"]),
        ("train split", f"{summary['train_rows']} rows, {summary['train_problems']} problems"),
        ("validation split", f"{summary['validation_rows']} rows, {summary['validation_problems']} problems"),
        ("steps exported", steps),
        ("positive steps", positive),
        ("negative steps", negative),
        ("label balance", f"{positive} positive / {negative} negative{share}; labels are {kind}"),
        ("undecided steps read", provenance.get("undecided_steps", "unknown")),
        ("steps left out", f"{summary['steps_cut']} (undecided, or after one) from {summary['cut']} rows cut"),
        ("rows skipped", sum(summary["skipped"].values())),
    ]
    rows += [(f"skipped: {reason}", n) for reason, n in sorted(summary["skipped"].items())]
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _cost(chain: list[StageFolder]) -> str:
    if not chain:
        return "Unknown: the input folder has no stage records."
    columns = ["stage", "folder", "shards", "rows written"] + [c for c, _ in COST_COLUMNS] + ["seconds"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for folder in reversed(chain):
        cost = folder.cost()
        written = sum(int(r.get("rows_written") or 0) for r in folder.records)
        cells = [folder.stage, f"`{folder.path.name}`", int(cost["shards"]), written]
        cells += [int(cost[c]) if c in cost else "-" for c, _ in COST_COLUMNS]
        cells += [f"{cost['seconds']:.1f}"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def _parameters(facts: Facts, provenance: dict[str, Any]) -> str:
    parts = []
    if facts.method_params is not None:
        params = yaml.safe_dump(facts.method_params, sort_keys=True).strip()
        parts.append(f"The labeler's parameters, defaults filled in:\n\n```yaml\n{params}\n```")
    export = {k: provenance.get(k) for k in ("format", "soft", "threshold", "val_fraction", "seed")}
    parts.append(f"The export's options:\n\n```yaml\n{yaml.safe_dump(export, sort_keys=False).strip()}\n```")
    if facts.plan and facts.plan.get("overrides"):
        overrides = yaml.safe_dump(facts.plan["overrides"]).strip()
        parts.append(f"The run's overrides (run.yaml):\n\n```yaml\n{overrides}\n```")
    for folder in facts.chain:
        config = yaml.safe_dump(folder.config, sort_keys=False, allow_unicode=True).strip()
        parts.append(
            f"<details><summary>{folder.stage} stage, <code>{folder.path.name}</code>: resolved config "
            f"(fingerprint {folder.manifest.get('fingerprint')})</summary>\n\n```yaml\n{config}\n```\n</details>"
        )
    return "\n\n".join(parts)


def render(facts: Facts, meta: dict[str, Any], provenance: dict[str, Any], columns: str, repo: str | None) -> str:
    """The whole README.md: YAML header, then origin, counts, undecided steps, cost, parameters, columns."""
    summary = provenance["summary"]
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    where = repo or "path/to/this/folder"
    first = summary["skipped"].get("first step's label unknown", 0)
    none = summary["skipped"].get("every label unknown", 0)
    undecided = (
        "A step whose label was not decided (rollouts or a checker that could not decide) is never written as "
        "positive or negative. This format has no null label, so each response is cut before its first "
        f"undecided step: {summary['cut']} rows were cut, leaving out {summary['steps_cut']} steps; a response "
        f"whose first step is undecided is skipped ({first} rows), and so is one with no decided step ({none} rows)."
    )
    return f"""---
{header}---

# Step-level labels for process reward models

Written by `prmlabel export --format hf` (prmlabel {provenance.get("prmlabel_version")}) from
`{provenance.get("input")}`. Train and validation are split by problem: no problem has responses in both.

## Origin

{_origin(facts, provenance)}

## Rows, steps and label balance

{_counts(summary, provenance)}

## Undecided steps

{undecided}

## Cost

From the stage folders' shard records; seconds are summed over shards (compute time, not wall-clock time
when shards ran in parallel).

{_cost(facts.chain)}

## Parameters

{_parameters(facts, provenance)}

## Columns

{columns}

```python
from datasets import load_dataset
ds = load_dataset("{where}")
```
"""
