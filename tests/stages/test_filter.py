"""`prmlabel filter` end to end: labels from the synthetic simulator, every rule, nothing lost."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prmlabel.contract.schema import LABELED
from tests.conftest import run_prmlabel


def _read(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


def _records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "_records").glob("*.json"))]


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("part-*.parquet"))}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("filter")
    run_prmlabel(
        ["synthetic", "problems", "--count", "24", "--steps", "3-6", "--seed", "2", "-o", str(root / "p.jsonl")]
    )
    common = ["--backend", "synthetic", "--no-progress"]
    run_prmlabel(
        ["generate", "-i", str(root / "p.jsonl"), "-o", str(root / "rollouts"), "--samples", "6", "--num-shards", "3"]
        + common
    )
    for method in ("mc", "omegaprm", "scan"):
        run_prmlabel(["label", "-i", str(root / "rollouts"), "-o", str(root / method), "--method", method] + common)
    return root


def test_consensus_keeps_agreeing_rows_and_writes_every_row(run: Path):
    proc = run_prmlabel(
        ["filter", "-i", str(run / "mc"), "--with", str(run / "omegaprm"), "-o", str(run / "cons"), "--no-progress"]
    )
    assert "kept/consensus:agree" in proc.stdout
    mc, omega = {r["response_id"]: r for r in _read(run / "mc")}, {r["response_id"]: r for r in _read(run / "omegaprm")}
    out = _read(run / "cons")
    assert pq.read_schema(next((run / "cons").glob("part-*.parquet"))).equals(LABELED, check_metadata=False)
    assert sorted(r["response_id"] for r in out) == sorted(mc)  # every input row, kept or not
    for r in out:
        agree = mc[r["response_id"]]["first_error"] == omega[r["response_id"]]["first_error"]
        assert r["keep"] == agree
        assert r["reason"] == ("consensus:agree" if agree else "consensus:disagree")
        if agree:
            fe = r["first_error"]
            assert r["labels_final"] == ([1.0] * len(r["steps"]) if fe == -1 else [1.0] * fe + [0.0])
    records = _records(run / "cons")
    assert sum(rec["rows_in"] for rec in records) == len(mc)
    assert sum(rec["rows_out"] + rec["rows_rejected"] for rec in records) == len(mc)
    assert sum(rec["cost"]["kept"] for rec in records) == sum(r["keep"] for r in out)


def test_scan_filter_soft_labels_and_balance(run: Path):
    run_prmlabel(
        [
            "filter",
            "-i",
            str(run / "scan"),
            "-o",
            str(run / "scanf"),
            "--method",
            "scan",
            "--min-confidence",
            "0.5",
            "--no-progress",
        ]
    )
    out = _read(run / "scanf")
    kept = [r for r in out if r["keep"]]
    assert kept, "some questions pass SC >= 0.5 at the default noise"
    pos = [r for r in kept if r["is_correct"]]
    assert len(pos) == len(kept) - len(pos)  # 1:1
    for r in kept:
        assert r["label_kind"] == "soft"
        if not r["is_correct"]:
            assert len(r["labels_final"]) == r["first_error"] + 1 and r["labels_final"][-1] == 0.0
    low = [r for r in out if r["reason"] == "scan:low_confidence"]
    assert all(json.loads(r["filter_extra"])["scan"]["self_confidence"] < 0.5 for r in low)


def test_chaining_a_labeled_folder_keeps_earlier_drops(run: Path):
    run_prmlabel(
        ["filter", "-i", str(run / "mc"), "--with", str(run / "omegaprm"), "-o", str(run / "c1"), "--no-progress"]
    )
    run_prmlabel(["filter", "-i", str(run / "c1"), "-o", str(run / "c2"), "--method", "dedup,balance", "--no-progress"])
    first = {r["response_id"]: r for r in _read(run / "c1")}
    second = _read(run / "c2")
    assert len(second) == len(first)
    for r in second:
        before = first[r["response_id"]]
        if not before["keep"]:
            assert not r["keep"] and r["reason"] == before["reason"]
        elif r["keep"]:
            assert r["filter_chain"] == ["consensus", "dedup", "balance"]
            assert r["reason"].startswith("consensus:agree+dedup:unique")
    reasons = Counter(r["reason"].split("+")[-1] for r in second)
    assert reasons["balance:kept"] > 0


def test_one_shard_task_writes_what_the_whole_run_writes(run: Path):
    """Balancing decides over the whole input, so a cluster task's shard equals the local run's."""
    args = ["-i", str(run / "mc"), "--method", "prof,balance", "--no-progress"]
    run_prmlabel(["filter", *args, "-o", str(run / "whole")])
    for i in range(3):
        run_prmlabel(["filter", *args, "-o", str(run / "tasks"), "--shard", f"{i}/3"])
    assert _bytes(run / "whole") == _bytes(run / "tasks")


def test_rerun_resumes_byte_identical_and_a_changed_config_is_refused(run: Path):
    args = ["filter", "-i", str(run / "mc"), "-o", str(run / "resume"), "--method", "prof", "--no-progress"]
    run_prmlabel(args)
    before = _bytes(run / "resume")
    (run / "resume" / "part-00001.parquet").unlink()
    (run / "resume" / "_records" / "part-00001.json").unlink()
    proc = run_prmlabel(args)
    assert "1 run, 2 already done" in proc.stdout
    assert _bytes(run / "resume") == before
    refused = run_prmlabel(args + ["params.prof.k=3"], check=False)
    assert refused.returncode == 2 and "params.prof.k" in refused.stderr


def test_user_errors_say_what_to_do(run: Path):
    no_with = run_prmlabel(["filter", "-i", str(run / "mc"), "-o", str(run / "x"), "--no-progress"], check=False)
    assert no_with.returncode == 2 and "--with" in no_with.stderr
    wrong = run_prmlabel(
        ["filter", "-i", str(run / "rollouts"), "-o", str(run / "x"), "--method", "dedup"], check=False
    )
    assert wrong.returncode == 2 and "prmlabel generate" in wrong.stderr
    unknown = run_prmlabel(["filter", "-i", str(run / "mc"), "-o", str(run / "x"), "--method", "nope"], check=False)
    assert unknown.returncode == 2 and "choose from" in unknown.stderr
    bad_param = run_prmlabel(
        ["filter", "-i", str(run / "mc"), "-o", str(run / "x"), "--method", "prof", "params.prof.kk=1"], check=False
    )
    assert bad_param.returncode == 2 and "kk" in bad_param.stderr


def test_bad_label_rows_go_to_rejects(run: Path, tmp_path: Path):
    """A hand-edited labels folder with a row whose values do not match its steps."""
    import shutil

    folder = tmp_path / "mc"
    shutil.copytree(run / "mc", folder)
    part = folder / "part-00000.parquet"
    rows = pq.read_table(part).to_pylist()
    rows[0]["values"] = rows[0]["values"][:-1]
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(part)), part)
    run_prmlabel(["filter", "-i", str(folder), "-o", str(tmp_path / "out"), "--method", "dedup", "--no-progress"])
    rejects = pa.concat_tables([pq.read_table(p) for p in (tmp_path / "out" / "rejects").glob("*.parquet")]).to_pylist()
    assert len(rejects) == 1 and rejects[0]["field"] == "values" and rejects[0]["row"] == 1
    assert rejects[0]["file"].endswith("part-00000.parquet")
    assert len(_read(tmp_path / "out")) == len(rows) - 1 + sum(
        pq.read_table(p).num_rows for p in sorted(folder.glob("part-*.parquet")) if p != part
    )
