"""FoVer export: FoVer's columns, with its null for unlabeled steps (never false)."""

from __future__ import annotations

import json

import pytest

from prmlabel.stages.export import run_export
from tests.conftest import TEST_DATA
from tests.export.folders import labels_folder

datasets = pytest.importorskip("datasets")


def test_error_labels_keep_unknown_steps_as_null(tmp_path):
    out = tmp_path / "fover.jsonl"
    summary = run_export(labels_folder(tmp_path), out, "fover")
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    rows = {r["id"]: r for r in ds}
    assert summary.skipped == {"every label unknown": 1}  # p3: nothing known at all
    assert rows["p1/r1"]["error_labels"] == [True, False, None]
    assert rows["p4/r0"]["error_labels"] == [True, None]
    for row in ds:
        assert len(row["solution_steps"]) == len(row["error_labels"])
        assert all(step == step.strip() for step in row["solution_steps"])


def test_columns_are_fovers_own(tmp_path):
    public = json.loads((TEST_DATA / "fover" / "quickstart_test.jsonl").read_text().splitlines()[0])
    out = tmp_path / "fover.jsonl"
    run_export(labels_folder(tmp_path), out, "fover")
    ours = json.loads(out.read_text().splitlines()[0])
    assert set(ours) <= set(public)
    for key in ours:
        assert type(ours[key]) is type(public[key]), key
