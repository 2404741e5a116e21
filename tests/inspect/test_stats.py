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


def test_decided_and_undecided_per_method_match_the_shards(run_folder):
    stats = run_stats(run_folder)
    by_name = {s["name"]: s for s in stats["stages"]}
    for name in ("mc", "omegaprm"):
        rows = _rows(run_folder / name)
        assert {r["value_kind"] for r in rows} == {"probability"}  # the label stage writes the labeler's kind
        hard = [h for r in rows for h in r["hard"]]
        fe = [r["first_error"] for r in rows]
        (entry,) = by_name[name]["decided"]
        assert entry == {
            "method": name,
            "value_kind": "probability",
            "responses": len(rows),
            "responses_decided": sum(f is not None for f in fe),
            "responses_undecided": fe.count(None),
            "steps_decided": sum(h is not None for h in hard),
            "steps_undecided": hard.count(None),
        }
    kept = [r for r in _rows(run_folder / "final") if r["keep"]]
    (entry,) = by_name["final"]["decided"]
    assert entry["responses"] == len(kept)
    assert entry["steps_decided"] == sum(v is not None for r in kept for v in r["labels_final"])


def test_undecided_steps_and_responses_are_counted_and_shown(tmp_path):
    from tests.export.folders import response, write_folder

    rows = [
        response("pa", 0, ["a", "b", "c"], [True, None, False], [1.0, None, 0.0], first_error=2),
        response("pb", 0, ["a", "b"], [True, None], [1.0, None], first_error=None),
        response("pc", 0, ["a", "b"], [None, None], [None, None], first_error=None),
        response("pd", 0, ["a", "b"], [True, True], [1.0, 1.0], first_error=-1, method="sympy", value_kind="verdict"),
    ]
    write_folder(tmp_path / "run" / "labels", rows, "label")
    stats = run_stats(tmp_path / "run")
    (stage,) = stats["stages"]
    assert stage["decided"] == [
        {
            "method": "mc",  # value_kind null in these rows: looked up from the method
            "value_kind": "probability",
            "responses": 3,
            "responses_decided": 1,
            "responses_undecided": 2,
            "steps_decided": 3,
            "steps_undecided": 4,
        },
        {
            "method": "sympy",
            "value_kind": "verdict",
            "responses": 1,
            "responses_decided": 1,
            "responses_undecided": 0,
            "steps_decided": 2,
            "steps_undecided": 0,
        },
    ]
    out = render_stats(stats)
    assert "Decided / undecided per method" in out
    assert any(
        line.split()[:3] == ["labels", "mc", "probability"] and line.split()[3:] == ["3", "1", "2", "3", "4"]
        for line in out.splitlines()
    )


def test_a_labels_folder_from_before_value_kind_gets_its_methods_kind(tmp_path):
    from tests.export.folders import response, write_folder

    rows = [response("pa", 0, ["a", "b"], [True, None], [1.0, None], first_error=None, method="pav")]
    folder = write_folder(tmp_path / "run" / "labels", rows, "label")
    (shard,) = folder.glob("part-*.parquet")
    pq.write_table(pq.read_table(shard).drop_columns(["value_kind"]), shard)
    (stage,) = run_stats(tmp_path / "run")["stages"]
    assert [(m["method"], m["value_kind"], m["steps_undecided"]) for m in stage["decided"]] == [("pav", "advantage", 1)]
