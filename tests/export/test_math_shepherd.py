"""Math-Shepherd export: the layout of peiyi9979/Math-Shepherd rows, read back tag by tag."""

from __future__ import annotations

import json

import pytest

from prmlabel.contract.store import StoreError
from prmlabel.stages.export import run_export
from tests.conftest import TEST_DATA
from tests.export.folders import labeled_folder, labels_folder

datasets = pytest.importorskip("datasets")


def test_label_is_input_with_each_tag_replaced_by_plus_or_minus(tmp_path):
    out = tmp_path / "ms.jsonl"
    run_export(labeled_folder(tmp_path), out, "math-shepherd")
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    assert sorted(ds.column_names) == ["input", "label", "task"]
    for row in ds:
        pieces = row["input"].split(" ки")
        assert pieces[-1] == ""  # a tag closes the last step
        tags = [piece for piece in row["label"].split("\n")]
        signs = [t[-1] for t in tags]
        assert len(signs) == len(pieces) - 1 and set(signs) <= {"+", "-"}
        assert row["label"] == "".join(p + f" {s}" for p, s in zip(pieces[:-1], signs, strict=True))
    labels = {r["input"]: r["label"] for r in ds}
    assert labels["Question p1: what is the final number? 2 + 3 = 6 ки\n6 * 2 = 12 ки"].endswith("= 6 +\n6 * 2 = 12 -")


def test_columns_and_tag_layout_match_the_public_math_shepherd_rows(tmp_path):
    public = json.loads((TEST_DATA / "math_shepherd" / "samples_math-shepherd.openr.jsonl").read_text().splitlines()[0])
    out = tmp_path / "ms.jsonl"
    run_export(labeled_folder(tmp_path), out, "math-shepherd")
    ours = json.loads(out.read_text().splitlines()[0])
    assert set(ours) == set(public)
    # The public rows put " ки" at the end of each step line and nothing else after it.
    for text in (public["input"], ours["input"]):
        assert all(line.endswith(" ки") for line in text.split("\n"))


def test_soft_values_need_a_threshold(tmp_path):
    with pytest.raises(StoreError, match="--threshold"):
        run_export(labels_folder(tmp_path), tmp_path / "ms.jsonl", "math-shepherd", soft=True)
