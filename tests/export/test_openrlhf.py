"""OpenRLHF export, loaded with `datasets` and turned into token labels as ProcessRewardDataset does."""

from __future__ import annotations

import pytest

from prmlabel.stages.export import run_export
from tests.export.folders import labeled_folder, labels_folder
from tests.export.trainers import openrlhf_item, placeholder_tokenizer, token_id

datasets = pytest.importorskip("datasets")


def _load(path):
    return datasets.load_dataset("json", data_files=str(path), split="train")


def test_hard_labels_are_reward_tokens_at_each_placeholder(tmp_path):
    out = tmp_path / "openrlhf.jsonl"
    run_export(labeled_folder(tmp_path), out, "openrlhf")
    ds = _load(out)
    assert ds.column_names == ["input", "value"]
    tok = placeholder_tokenizer(ds["input"])
    for row in ds:
        assert row["input"].count("ки") == len(row["value"])
        assert row["input"].endswith(" ки")  # the last step's label sits on the last token
        _, labels, positions = openrlhf_item(row, tok)
        expected = [token_id(tok, v) for v in row["value"]]
        assert [labels[p] for p in positions] == expected
    values = {r["input"].split("? ", 1)[1]: r["value"] for r in ds}
    assert values["2 + 3 = 6 ки\n6 * 2 = 12 ки"] == ["+", "-"]  # cut after the first error, unknown never "-"


def test_soft_values_are_floats_at_each_placeholder(tmp_path):
    out = tmp_path / "soft.jsonl"
    summary = run_export(labels_folder(tmp_path), out, "openrlhf", soft=True)
    ds = _load(out)
    assert summary.float_labels and ds.features["value"].feature.dtype == "float64"
    tok = placeholder_tokenizer(ds["input"])
    for row in ds:
        _, labels, positions = openrlhf_item(row, tok)
        assert [labels[p] for p in positions] == row["value"]
    values = {r["input"].split("? ", 1)[1]: r["value"] for r in ds}
    assert values["2 + 3 = 6 ки\n6 * 2 = 12 ки"] == [0.75, 0.0]
    assert values["9 - 3 = 6 ки"] == [0.5]


def test_a_step_holding_the_placeholder_is_skipped_and_counted(tmp_path):
    from tests.export.folders import LABEL_ROWS, response, write_folder

    rows = LABEL_ROWS + [response("p9", 0, ["the word ки is Cyrillic", "so 1 = 1"], [True, True], [1.0, 1.0])]
    summary = run_export(write_folder(tmp_path / "labels", rows, "label"), tmp_path / "o.jsonl", "openrlhf")
    assert summary.skipped["text contains the placeholder ки"] == 1
    assert all("p9" not in r["input"] for r in _load(tmp_path / "o.jsonl"))
