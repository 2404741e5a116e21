"""`prmlabel stats`: the numbers equal what the shards and records hold, counted another way."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq

from prmlabel.inspect.render import render_stats
from prmlabel.inspect.stats import run_stats
from tests.conftest import run_prmlabel


def _rows(folder):
    return [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def _records(folder):
    return [json.loads(p.read_text()) for p in sorted((folder / "_records").glob("*.json"))]


def test_stats_json_matches_shards_and_records(run_folder):
    stats = json.loads(run_prmlabel(["stats", str(run_folder), "--json"]).stdout)
    by_name = {s["name"]: s for s in stats["stages"]}
    assert list(by_name) == ["rollouts", "mc", "omegaprm", "final"]  # pipeline order
    for name, s in by_name.items():
        records = _records(run_folder / name)
        assert s["rows_in"] == sum(r["rows_in"] for r in records)
        assert s["rows_in"] == s["rows_out"] + s["rows_rejected"]
    mc = _rows(run_folder / "mc")
    hard = [h for r in mc for h in r["hard"]]
    assert by_name["mc"]["balance"] == {"good": hard.count(True), "bad": hard.count(False), "unknown": hard.count(None)}
    assert dict((str(k), v) for k, v in by_name["mc"]["first_error"]) == {
        str(k): v for k, v in Counter(r["first_error"] for r in mc).items()
    }
    assert by_name["mc"]["cost"]["rollouts"] == sum(r["label_cost"]["rollouts"] for r in mc)
    omega = {r["response_id"]: r for r in _rows(run_folder / "omegaprm")}
    same = sum(r["first_error"] == omega[r["response_id"]]["first_error"] for r in mc) / len(mc)
    (agreement,) = stats["agreement"]
    assert (agreement["a"], agreement["b"], agreement["responses"]) == ("mc", "omegaprm", len(mc))
    assert abs(agreement["same_first_error"] - same) < 1e-9


def test_stats_text_has_every_section(run_folder):
    out = render_stats(run_stats(run_folder))
    for heading in ("Stages", "Label balance", "First-error position", "Agreement between label folders", "Cost"):
        assert heading in out
