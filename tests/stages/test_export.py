"""`prmlabel export` from the command line: the summary accounts for every row, errors say what to do."""

from __future__ import annotations

import json
import re

import pytest

from prmlabel.contract.store import StoreError
from prmlabel.stages.export import run_export
from tests.conftest import run_prmlabel
from tests.export.folders import LABEL_ROWS, labeled_folder, labels_folder, write_folder


def test_summary_counts_every_row_and_the_sidecar_keeps_the_options(tmp_path):
    folder = labeled_folder(tmp_path)
    out = tmp_path / "prm_train.parquet"
    proc = run_prmlabel(["export", "-i", str(folder), "-o", str(out), "--format", "trl", "--val-fraction", "0.3"])
    assert re.search(r"rows in\s+6 \(labeled folder\)", proc.stdout)
    assert re.search(r"dropped by filter \(consensus:disagree\)\s+1\n", proc.stdout)
    assert "every label unknown" in proc.stdout
    sidecar = json.loads((tmp_path / "prm_train.export.json").read_text())
    s = sidecar["summary"]
    assert s["rows_in"] == s["train_rows"] + s["validation_rows"] + sum(s["skipped"].values())
    assert s["validation_problems"] == 1 and (tmp_path / "prm_train.validation.parquet").exists()
    assert sidecar["format"] == "trl" and sidecar["val_fraction"] == 0.3


def test_rerun_writes_the_same_bytes(tmp_path):
    folder = labels_folder(tmp_path)
    for name in ("a.parquet", "b.parquet"):
        run_export(folder, tmp_path / name, "openrlhf")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_soft_into_trl_says_why_and_what_to_do(tmp_path):
    proc = run_prmlabel(
        ["export", "-i", str(labels_folder(tmp_path)), "-o", str(tmp_path / "x.parquet"), "--soft"], check=False
    )
    assert proc.returncode == 2
    assert "int(label)" in proc.stderr and "--threshold" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_rollouts_folder_is_refused_with_the_next_step(tmp_path):
    rollouts = [
        {k: v for k, v in r.items() if k not in ("method", "hard", "values", "first_error")} for r in LABEL_ROWS
    ]
    folder = write_folder(tmp_path / "rollouts", rollouts, "generate")
    with pytest.raises(StoreError, match="label it first"):
        run_export(folder, tmp_path / "x.jsonl", "trl")


def test_output_without_a_file_type_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must end in .parquet or .jsonl"):
        run_export(labels_folder(tmp_path), tmp_path / "out", "trl")
