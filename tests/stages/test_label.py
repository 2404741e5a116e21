"""`prmlabel label` end to end on the synthetic backend (a simulator with known truth)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prmlabel.contract.schema import LABELS, ROLLOUTS

LABEL = ["label", "--backend", "synthetic"]  # the simulator: these tests are about the stage, not an engine


def _read(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("part-*.parquet"))}


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory) -> Path:
    from tests.conftest import run_prmlabel

    root = tmp_path_factory.mktemp("label")
    run_prmlabel(
        ["synthetic", "problems", "--count", "30", "--steps", "3-7", "--seed", "1", "-o", str(root / "p.jsonl")]
    )
    run_prmlabel(
        [
            "generate",
            "--backend",
            "synthetic",
            "-i",
            str(root / "p.jsonl"),
            "-o",
            str(root / "rollouts"),
            "--samples",
            "4",
            "--num-shards",
            "3",
            "--no-progress",
            "backend.options.recovery_rate=0.0",
        ]
    )
    return root / "rollouts"


def test_mc_labels_every_step_and_keeps_every_column(prmlabel, rollouts, tmp_path):
    out = tmp_path / "mc"
    proc = prmlabel(
        [
            *LABEL,
            "-i",
            str(rollouts),
            "-o",
            str(out),
            "--method",
            "mc",
            "-k",
            "4",
            "--no-progress",
            "backend.options.recovery_rate=0.0",
        ]
    )
    assert "responses labeled      120" in proc.stdout
    assert pq.read_schema(out / "part-00000.parquet").remove_metadata() == LABELS.remove_metadata()
    rows = _read(out)
    inputs = {r["response_id"]: r for r in _read(rollouts)}
    assert len(rows) == len(inputs) == 120
    for row in rows:
        source = inputs[row["response_id"]]
        assert {k: row[k] for k in ROLLOUTS.names} == source  # every input column travels through
        assert len(row["values"]) == len(row["hard"]) == len(row["steps"])
        assert row["values"][-1] == float(row["is_correct"])
        assert row["label_provenance"]["method"] == "mc" and json.loads(row["label_provenance"]["params"])["k"] == 4
        # without recovery, MC is exactly 0 from the first wrong step on: the truth is recovered
        if not row["is_correct"]:
            assert row["first_error"] == row["gold_first_error"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["num_shards"] == 3  # the input's shard count
    records = [json.loads(p.read_text()) for p in sorted((out / "_records").glob("*.json"))]
    assert sum(r["rows_in"] for r in records) == 120
    assert all(r["cost"]["rounds"] == 1 for r in records)  # MC asks for every step at once
    assert all(r["cost"]["provenance"]["method"] == "mc" for r in records)


def test_label_shards_resume_and_match_array_tasks(prmlabel, rollouts, tmp_path):
    whole, tasks = tmp_path / "whole", tmp_path / "tasks"
    prmlabel([*LABEL, "-i", str(rollouts), "-o", str(whole), "-k", "2", "--no-progress"])
    for i in (2, 0, 1):
        prmlabel(
            [
                *LABEL,
                "-i",
                str(rollouts),
                "-o",
                str(tasks),
                "-k",
                "2",
                "--shard",
                f"{i}/3",
                "--no-progress",
                "--batch-size",
                "5",
            ]
        )
    assert _bytes(whole) == _bytes(tasks)
    again = prmlabel([*LABEL, "-i", str(rollouts), "-o", str(whole), "-k", "2", "--no-progress"])
    assert "0 run, 3 already done" in again.stdout


def test_another_method_or_k_is_refused_in_the_same_folder(prmlabel, rollouts, tmp_path):
    out = tmp_path / "mc"
    prmlabel([*LABEL, "-i", str(rollouts), "-o", str(out), "-k", "2", "--no-progress"])
    proc = prmlabel(
        [*LABEL, "-i", str(rollouts), "-o", str(out), "-k", "3", "--no-progress"],
        check=False,
    )
    assert proc.returncode == 2 and "params.k: 2 -> 3" in proc.stderr


def test_unknown_method_and_parameter_are_clear_errors(prmlabel, rollouts, tmp_path):
    proc = prmlabel(
        [*LABEL, "-i", str(rollouts), "-o", str(tmp_path / "x"), "--method", "nope"],
        check=False,
    )
    assert proc.returncode == 2 and "unknown --method 'nope'" in proc.stderr and "mc" in proc.stderr
    proc = prmlabel([*LABEL, "-i", str(rollouts), "-o", str(tmp_path / "y"), "params.kk=3"], check=False)
    assert proc.returncode == 2 and "no parameter(s) kk" in proc.stderr


def test_input_that_is_not_a_rollouts_folder(prmlabel, tmp_path):
    proc = prmlabel([*LABEL, "-i", str(tmp_path), "-o", str(tmp_path / "out")], check=False)
    assert proc.returncode == 2 and "manifest.json" in proc.stderr


def _records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "_records").glob("*.json"))]


def test_rollout_cache_is_reused_across_runs_without_changing_rows(prmlabel, rollouts, tmp_path):
    first, second, uncached = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    prmlabel([*LABEL, "-i", str(rollouts), "-o", str(first), "-k", "3", "--no-progress"])
    prmlabel([*LABEL, "-i", str(rollouts), "-o", str(second), "-k", "3", "--no-progress"])
    prmlabel(
        [
            *LABEL,
            "--backend",
            "synthetic",
            "-i",
            str(rollouts),
            "-o",
            str(uncached),
            "-k",
            "3",
            "--no-progress",
            "runtime.rollout_cache=none",
        ]
    )
    assert sum(r["cost"]["generated_rollouts"] for r in _records(first)) > 0
    assert sum(r["cost"]["generated_rollouts"] for r in _records(second)) == 0  # every sample from the cache
    assert sum(r["cost"]["generated_rollouts"] for r in _records(uncached)) > 0
    assert _bytes(first) == _bytes(second) == _bytes(uncached)  # costs in rows do not depend on the cache
    assert (tmp_path / "_rollout_cache").is_dir()


def test_relabel_into_another_shard_count_routes_rows_and_names_bad_rows(prmlabel, rollouts, tmp_path):
    """Each shard task reads only its own rows; a stepless row is a reject naming its input file and row."""
    from prmlabel.contract.store import shard_of

    source = tmp_path / "rollouts"
    source.mkdir()
    for path in rollouts.iterdir():
        if path.is_file():
            (source / path.name).write_bytes(path.read_bytes())
    table = pq.read_table(source / "part-00001.parquet")
    rows = table.to_pylist()
    broken = rows[2]
    broken["steps"] = []
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), source / "part-00001.parquet")

    whole, tasks = tmp_path / "whole", tmp_path / "tasks"
    args = ["-i", str(source), "-k", "2", "--num-shards", "4", "--no-progress"]
    proc = prmlabel([*LABEL, *args, "-o", str(whole)])
    for i in (3, 1, 0, 2):
        prmlabel([*LABEL, *args, "-o", str(tasks), "--shard", f"{i}/4"])
    assert _bytes(whole) == _bytes(tasks) and len(_bytes(whole)) == 4
    for i in range(4):
        ids = pq.read_table(whole / f"part-{i:05d}.parquet", columns=["problem_id"]).column(0).to_pylist()
        assert ids and all(shard_of(pid, 4) == i for pid in ids)
    assert len(_read(whole)) == 119
    rejects = _read(whole / "rejects")
    assert [(Path(r["file"]).name, r["row"], r["field"]) for r in rejects] == [("part-00001.parquet", 3, "steps")]
    assert json.loads(rejects[0]["raw"])["response_id"] == broken["response_id"]
    assert "rejected" in proc.stdout
    records = [json.loads(p.read_text()) for p in sorted((whole / "_records").glob("*.json"))]
    assert sum(r["rows_in"] for r in records) == 120 and sum(r["rows_rejected"] for r in records) == 1


def test_label_resumes_with_the_input_named_another_way(prmlabel, rollouts, tmp_path, monkeypatch):
    out = tmp_path / "labels"
    prmlabel([*LABEL, "-i", str(rollouts), "-o", str(out), "-k", "2", "--no-progress"])
    monkeypatch.chdir(rollouts.parent)
    again = prmlabel([*LABEL, "-i", f"./{rollouts.name}/", "-o", str(out), "-k", "2", "--no-progress"])
    assert "0 run, 3 already done" in again.stdout
