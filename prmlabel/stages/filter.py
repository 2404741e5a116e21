"""`prmlabel filter`: labels -> every row with a decision (keep, reason), final labels and weight.

The filter chain runs over the whole input at once, in ``load``: balancing and PROF decide over
groups and over the whole set, and a seeded hash (not input order) makes each choice, so every
task of a cluster array computes the same decisions and writes only its own shard. Shard i of the
input becomes shard i of the output. Dropped rows are written with ``keep = false``: rows in =
rows out + rows rejected, and the reason is a column DuckDB can group by.

The input is a labels folder (from ``prmlabel label``) or a labeled folder (from an earlier
``prmlabel filter``: its dropped rows pass through unchanged, its kept rows go on through the
chain). ``--with`` names a second labels folder whose rows, matched by response_id, a filter
compares with (consensus: the judge's verdicts).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from prmlabel.contract.schema import LABEL_FIELDS, LABELED, LABELED_FIELDS
from prmlabel.contract.store import StoreError
from prmlabel.filters import Candidate, filter_class, load_filter, params_class, parse_chain
from prmlabel.filters.base import initial_labels
from prmlabel.stages.label import read_input_manifest
from prmlabel.stages.runner import ShardOutput, StageInputs

LABEL_COLUMNS = [f.name for f in LABEL_FIELDS]
DECISION_COLUMNS = [f.name for f in LABELED_FIELDS[len(LABEL_FIELDS) :]]


def _kind(folder: str) -> str:
    """'labels' or 'labeled', from the folder's manifest; anything else is refused with the next step."""
    manifest = read_input_manifest(folder)
    stage = manifest.get("stage")
    if stage == "label":
        return "labels"
    if stage == "filter":
        return "labeled"
    raise StoreError(
        f"{folder} holds the output of `prmlabel {stage}`, not labels; filter the output of "
        f"`prmlabel label` (or of an earlier `prmlabel filter`)"
    )


class FilterStage:
    name = "filter"
    schema = LABELED

    @staticmethod
    def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
        """Fill what the input folders decide: shard count and their fingerprints; name the chain's
        parameters in full (paper defaults included) so the fingerprint covers them."""
        config = dict(config)
        manifest = read_input_manifest(config["input"])
        if config.get("num_shards") is None:
            config["num_shards"] = manifest["num_shards"]
        config["input_fingerprint"] = manifest["fingerprint"]
        chain = parse_chain(config["method"])
        needs_other = [n for n in chain if getattr(filter_class(n), "needs_other", False)]
        if needs_other and not config.get("with"):
            raise StoreError(
                f"--method {needs_other[0]} compares two signals: pass --with <labels folder> "
                f"(e.g. the output of `prmlabel label --method judge`)"
            )
        if config.get("with"):
            _kind(config["with"])
            config["with_fingerprint"] = read_input_manifest(config["with"])["fingerprint"]
        params = dict(config.get("params") or {})
        unknown = sorted(set(params) - set(chain))
        if unknown:
            raise ValueError(
                f"params.{unknown[0]}.* names a filter that is not in --method {config['method']}; "
                f"filter parameters are params.<filter>.<key>"
            )
        for name in chain:
            options = dict(params.get(name) or {})
            if "seed" in {f.name for f in fields(params_class(name))}:
                options.setdefault("seed", int(config.get("seed") or 0))
            params[name] = load_filter(name, options, **({"other": {}} if name in needs_other else {})).params()
        config["params"] = params
        return config

    def __init__(self, config: dict[str, Any], fingerprint: str):
        self.config = config
        self.fingerprint = fingerprint
        self.chain = parse_chain(config["method"])
        self.input_kind = _kind(config["input"])

    def load(self) -> StageInputs:
        candidates, rejects, rows_in = self._read_input()
        other = self._read_other() if self.config.get("with") else {}
        self.unmatched_other = len(set(other) - {c.response_id for c in candidates})
        for name in self.chain:
            context = {"other": other} if getattr(filter_class(name), "needs_other", False) else {}
            active = [c for c in candidates if c.keep]
            load_filter(name, self.config["params"][name], **context).apply(active)
            for c in active:
                c.chain.append(name)
        return StageInputs(
            items=[(c.problem_id, c) for c in candidates],
            rejects=[(r["problem_id"] or "", r) for r in rejects],
            rows_in=rows_in,
        )

    def _read_input(self) -> tuple[list[Candidate], list[dict[str, Any]], int]:
        candidates: list[Candidate] = []
        rejects: list[dict[str, Any]] = []
        rows_in = 0
        seen: dict[str, str] = {}
        for path in sorted(Path(self.config["input"]).glob("part-*.parquet")):
            table = pq.read_table(path)
            for row_number, row in enumerate(table.to_pylist(), start=1):
                rows_in += 1
                problem = _check_row(row)
                if problem is None and row["response_id"] in seen:
                    problem = ("response_id", f"duplicate response_id (also in {seen[row['response_id']]})")
                if problem is not None:
                    rejects.append(_reject(str(path), row_number, row, *problem))
                    continue
                seen[row["response_id"]] = f"{path.name} row {row_number}"
                candidates.append(self._candidate(row))
        return candidates, rejects, rows_in

    def _candidate(self, row: dict[str, Any]) -> Candidate:
        if self.input_kind == "labels":
            return Candidate(row={k: row.get(k) for k in LABEL_COLUMNS}, labels_final=initial_labels(row))
        return Candidate(
            row={k: row.get(k) for k in LABEL_COLUMNS},
            labels_final=list(row["labels_final"] or []),
            label_kind=row["label_kind"] or "hard",
            keep=bool(row["keep"]),
            reason=row["reason"] or "kept",
            weight=float(row["weight"] if row["weight"] is not None else 1.0),
            chain=list(row["filter_chain"] or []),
            extra=json.loads(row["filter_extra"] or "{}"),
        )

    def _read_other(self) -> dict[str, dict[str, Any]]:
        other: dict[str, dict[str, Any]] = {}
        for path in sorted(Path(self.config["with"]).glob("part-*.parquet")):
            columns = ["problem_id", "response_id", "method", "first_error", "hard", "label_extra"]
            for row_number, row in enumerate(pq.read_table(path, columns=columns).to_pylist(), start=1):
                if row["response_id"] in other:
                    raise StoreError(
                        f"{path} row {row_number}: response_id {row['response_id']!r} appears twice in --with "
                        f"{self.config['with']}; pass a folder labeled by one method"
                    )
                other[row["response_id"]] = row
        return other

    def sort_key(self, row: dict[str, Any]) -> Any:
        return (row["problem_id"], row["response_id"])

    def process(self, items: list[Candidate], progress: tqdm, shard: int = 0) -> ShardOutput:
        rows = []
        for c in items:
            rows.append(
                {
                    **c.row,
                    "keep": c.keep,
                    "reason": c.reason,
                    "labels_final": c.labels_final,
                    "label_kind": c.label_kind,
                    "weight": c.weight,
                    "filter_chain": c.chain,
                    "filter_extra": json.dumps(c.extra, sort_keys=True),
                }
            )
            progress.update(1)
        reasons = Counter(("kept" if c.keep else "dropped") + f"/{c.reason}" for c in items)
        cost: dict[str, Any] = {"kept": sum(c.keep for c in items), "dropped": sum(not c.keep for c in items)}
        cost.update({f"rule/{k}": v for k, v in sorted(reasons.items())})
        return ShardOutput(rows=rows, rejects=[], rows_out=len(rows), cost=cost)

    def close(self) -> None:
        pass


def _check_row(row: dict[str, Any]) -> tuple[str, str] | None:
    """(field, reason) if a labels row cannot be filtered."""
    if not row.get("response_id"):
        return "response_id", "missing response_id"
    steps = row.get("steps")
    if not steps:
        return "steps", "the response has no steps"
    for name in ("values", "hard"):
        if row.get(name) is not None and len(row[name]) != len(steps):
            return name, f"{len(row[name])} {name} for {len(steps)} steps"
    fe = row.get("first_error")
    if fe is not None and not -1 <= fe < len(steps):
        return "first_error", f"first_error {fe} is outside -1..{len(steps) - 1}"
    return None


def _reject(path: str, row_number: int, row: dict[str, Any], field: str, reason: str) -> dict[str, Any]:
    return {
        "file": path,
        "row": row_number,
        "field": field,
        "reason": reason,
        "problem_id": row.get("problem_id"),
        "raw": json.dumps({"response_id": row.get("response_id")}),
    }


def summary_rows(totals: dict[str, Any]) -> dict[str, Any]:
    cost = totals["cost"]
    out: dict[str, Any] = {
        "responses in": totals["rows_in"],
        "responses written": totals["rows_out"],
        "kept": int(cost.get("kept", 0)),
        "dropped (keep=false)": int(cost.get("dropped", 0)),
        "rejected": totals["rows_rejected"],
    }
    for key in sorted(k for k in cost if k.startswith("rule/")):
        out[f"  {key[5:]}"] = int(cost[key])
    return out
