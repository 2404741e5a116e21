"""`prmlabel compress` end to end on a labels folder whose nodes/ table is built here by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prmlabel.contract.schema import LABELS, NODES, table_from_rows
from prmlabel.contract.store import ShardStore, shard_of
from tests.conftest import run_prmlabel
from tests.filters.test_hrm_compress import tree

QUESTIONS = 12
SHARDS = 2


def _labels_folder(folder: Path, with_nodes: bool = True, bad_row: bool = True) -> Path:
    """A finished `label` folder: no label rows, one search tree per question in nodes/."""
    nodes = [r for q in range(QUESTIONS) for r in tree(f"q{q:02d}")]
    if bad_row:
        nodes.append(dict(nodes[3]))  # a duplicate node id: rejected, not written twice
    store = ShardStore(str(folder))
    with store.open("label", {"stage": "label", "method": "omegaprm"}, "f" * 16, SHARDS):
        for index in range(SHARDS):
            mine = [r for r in nodes if shard_of(r["problem_id"], SHARDS) == index]
            side = {"nodes": table_from_rows(mine, NODES)} if with_nodes else {}
            store.write_shard(index, table_from_rows([], LABELS), [], 0, 0, 0.0, {}, side=side)
    return folder


def _read(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


def _bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("part-*.parquet"))}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("compress")
    _labels_folder(root / "labels")
    proc = run_prmlabel(["compress", "-i", str(root / "labels"), "-o", str(root / "hrm"), "--no-progress"])
    (root / "summary.txt").write_text(proc.stdout)
    return root


def test_every_input_node_is_written_as_it_was_plus_merged_nodes(run: Path):
    inputs = [r for q in range(QUESTIONS) for r in tree(f"q{q:02d}")]
    out = _read(run / "hrm")
    assert pq.read_schema(next((run / "hrm").glob("part-*.parquet"))).equals(NODES, check_metadata=False)
    kept = [r for r in out if r["source"] != "merge"]
    key = lambda r: (r["problem_id"], r["node_id"])  # noqa: E731
    assert sorted(kept, key=key) == sorted(table_from_rows(inputs, NODES).to_pylist(), key=key)
    merged = [r for r in out if r["source"] == "merge"]
    assert merged, "with p = 0.5 and two four-child nodes per question, some question merges"
    by_key = {key(r): r for r in out}
    assert len(by_key) == len(out)  # node ids stay unique within a question
    for m in merged:
        parent_id, child_id = json.loads(m["node_extra"])["merged_from"]
        child, parent = by_key[(m["problem_id"], child_id)], by_key[(m["problem_id"], parent_id)]
        assert m["parent_id"] == parent["parent_id"] and (m["problem_id"], m["parent_id"]) in by_key
        assert m["step"] == parent["step"] + child["step"] and m["prefix_steps"] == parent["prefix_steps"]
        assert m["mc"] == child["mc"] and m["node_id"] > 13


def test_rows_are_accounted_and_the_summary_says_why(run: Path):
    records = [json.loads(p.read_text()) for p in sorted((run / "hrm" / "_records").glob("*.json"))]
    total = {k: sum(r[k] for r in records) for k in ("rows_in", "rows_out", "rows_rejected", "rows_written")}
    merged = sum(r["cost"]["merged"] for r in records)
    nodes = QUESTIONS * 14
    assert total["rows_in"] == nodes + 1 == total["rows_out"] + total["rows_rejected"]
    assert total["rows_rejected"] == 1
    assert total["rows_written"] == nodes + merged
    rejects = pa.concat_tables([pq.read_table(p) for p in (run / "hrm" / "rejects").glob("*.parquet")]).to_pylist()
    assert [r["field"] for r in rejects] == ["node_id"] and "duplicate" in rejects[0]["reason"]
    summary = (run / "summary.txt").read_text()
    assert re.search(rf"merged nodes added +{merged}\n", summary)
    assert "not a merge parent: every coin lost" in summary and "not a merge parent: too few children" in summary
    few = sum(r["cost"].get("parents/few_children", 0) for r in records)
    assert few == QUESTIONS  # node 2 of each tree has three children


def test_resume_after_a_lost_record_and_a_fresh_run_write_identical_bytes(run: Path):
    before = _bytes(run / "hrm")
    (run / "hrm" / "_records" / "part-00001.json").unlink()
    proc = run_prmlabel(["compress", "-i", str(run / "labels"), "-o", str(run / "hrm"), "--no-progress"])
    assert "1 run, 1 already done" in proc.stdout
    assert _bytes(run / "hrm") == before
    run_prmlabel(["compress", "-i", str(run / "labels"), "-o", str(run / "again"), "--no-progress"])
    assert _bytes(run / "again") == before
    run_prmlabel(["compress", "-i", str(run / "labels"), "-o", str(run / "seed1"), "--seed", "1", "--no-progress"])
    pairs = lambda folder: [json.loads(r["node_extra"])["merged_from"] for r in _read(folder) if r["source"] == "merge"]  # noqa: E731
    assert pairs(run / "seed1") != pairs(run / "hrm")  # other coins, not only another seed in node_extra


def test_a_labels_folder_without_nodes_is_refused_with_the_next_step(tmp_path: Path):
    _labels_folder(tmp_path / "flat", with_nodes=False)
    proc = run_prmlabel(["compress", "-i", str(tmp_path / "flat"), "-o", str(tmp_path / "out")], check=False)
    assert proc.returncode != 0 and "no nodes/ table" in proc.stderr and "params.mode=search" in proc.stderr


def test_help_teaches_the_rule():
    text = run_prmlabel(["compress", "--help"]).stdout
    for words in ("grandparent", "min_children", "merged_from", "--method hrm", "why", "params.every_node=true"):
        assert words in " ".join(text.split()), words
