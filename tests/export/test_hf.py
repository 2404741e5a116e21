"""The `datasets` folder: load_dataset reads its card's splits; the split is by problem."""

from __future__ import annotations

import pytest

from prmlabel.contract.store import StoreError
from prmlabel.stages.export import run_export
from tests.export.folders import response, write_folder

datasets = pytest.importorskip("datasets")


def _many(root):
    rows = [
        response(f"q{i:02d}", k, ["1 + 1 = 2", f"2 + {k} = {2 + k}"], [True, k != 1], [1.0, 0.5 if k == 1 else 1.0])
        for i in range(20)
        for k in range(3)
    ]
    return write_folder(root / "labels", rows, "label")


def test_load_dataset_reads_train_and_validation_with_no_problem_in_both(tmp_path):
    out = tmp_path / "prm_dataset"
    summary = run_export(_many(tmp_path), out, "hf", val_fraction=0.25, seed=3)
    ds = datasets.load_dataset(str(out))
    assert set(ds) == {"train", "validation"}
    assert (len(ds["train"]), len(ds["validation"])) == (45, 15)  # 5 of 20 problems, 3 responses each
    assert summary.validation_problems == 5
    assert not set(ds["train"]["problem_id"]) & set(ds["validation"]["problem_id"])
    assert ds["train"].features["labels"].feature.dtype == "bool"
    assert "configs:" in (out / "README.md").read_text()


def test_split_depends_on_seed_not_on_rerun(tmp_path):
    first = run_export(_many(tmp_path), tmp_path / "a", "hf", val_fraction=0.25, seed=3)
    again = run_export(tmp_path / "labels", tmp_path / "b", "hf", val_fraction=0.25, seed=3)
    other = run_export(tmp_path / "labels", tmp_path / "c", "hf", val_fraction=0.25, seed=4)
    val = "data/validation-00000-of-00001.parquet"
    assert (tmp_path / "a" / val).read_bytes() == (tmp_path / "b" / val).read_bytes()
    assert (tmp_path / "a" / val).read_bytes() != (tmp_path / "c" / val).read_bytes()
    assert first.validation_rows == again.validation_rows == other.validation_rows == 15


def test_refuses_to_write_into_a_folder_that_is_not_an_export(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not a prmlabel export folder"):
        run_export(_many(tmp_path), tmp_path / "mine", "hf")
