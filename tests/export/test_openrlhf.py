"""OpenRLHF export, loaded with `datasets` and turned into token labels as ProcessRewardDataset does.

The first tests run the restatement (tests/export/trainers.py) with a small BPE that has ``ки`` as a
token, in every venv; the ``openrlhfs_own`` tests run OpenRLHF's ProcessRewardDataset and PRMLoss with
SmolLM2's tokenizer, in the venv of ``make test-train`` (elsewhere they skip).
"""

from __future__ import annotations

import pytest

from prmlabel.stages.export import run_export
from tests.export.folders import labeled_folder, labels_folder
from tests.export.trainers import openrlhf_item, openrlhf_prm_loss, placeholder_tokenizer, token_id, trainer_module

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


# OpenRLHF's own reader and loss (openrlhf 0.9.5, the last release with PRM; `make test-train` installs it)
# with SmolLM2's tokenizer, where `ки` is two tokens: the export's --placeholder is one token there.


def _openrlhf_dataset(path, tok, placeholder: str, reward_tokens: list[str] | None):
    from argparse import Namespace
    from types import SimpleNamespace

    reader = trainer_module("openrlhf.datasets")
    args = Namespace(input_key="input", label_key="value", placeholder_token=placeholder, reward_tokens=reward_tokens)
    return reader.ProcessRewardDataset(_load(path), tok, 256, SimpleNamespace(args=args))


def _smollm2_export(tmp_path, soft: bool):
    from tests.export.trainers import MODEL_DIR, hf_tokenizer

    tok = hf_tokenizer()
    folder = labels_folder(tmp_path) if soft else labeled_folder(tmp_path)
    out = tmp_path / ("soft.jsonl" if soft else "hard.jsonl")
    summary = run_export(folder, out, "openrlhf", soft=soft, placeholder=TAG, tokenizer=str(MODEL_DIR))
    assert summary.float_labels == soft
    return tok, out


TAG = "<empty_output>"  # what `--tokenizer` names for SmolLM2 (tests/export/test_placeholder.py)


def test_openrlhfs_own_reader_puts_each_hard_label_on_its_placeholder(tmp_path):
    tok, out = _smollm2_export(tmp_path, soft=False)
    dataset = _openrlhf_dataset(out, tok, TAG, ["+", "-"])
    tag_id = token_id(tok, TAG)
    for i, row in enumerate(_load(out)):
        input_ids, _, labels = dataset[i]
        ours_ids, ours_labels, positions = openrlhf_item(row, tok, placeholder=TAG)
        assert input_ids[0].tolist() == ours_ids and labels[0].tolist() == ours_labels  # the restatement agrees
        assert [input_ids[0, p].item() for p in positions] == [tag_id] * len(row["value"])
        assert labels[0, positions].tolist() == [token_id(tok, v) for v in row["value"]]


def test_openrlhfs_own_reader_fails_on_soft_values(tmp_path):
    """OpenRLHF's own bug, not the export's: since its PR #652 (January 2025) ProcessRewardDataset writes
    float labels into a tensor of token ids (``torch.full_like(input_ids, -100)``), which torch refuses;
    0.9.5, the last release with PRM, still does. If this test fails, OpenRLHF reads soft values again:
    update docs/export/openrlhf.md."""
    tok, out = _smollm2_export(tmp_path, soft=True)
    dataset = _openrlhf_dataset(out, tok, TAG, ["+", "-"])
    with pytest.raises(RuntimeError, match="dtypes match"):
        dataset[0]


def _batch(out, tok, soft: bool):
    """Inputs and labels of every row, OpenRLHF's reader for hard labels, the restatement for soft ones."""
    torch = trainer_module("torch")
    if not soft:
        dataset = _openrlhf_dataset(out, tok, TAG, ["+", "-"])
        inputs, _, labels = dataset.collate_fn([dataset[i] for i in range(len(dataset))])
        return inputs, labels
    items = [openrlhf_item(row, tok, placeholder=TAG) for row in _load(out)]
    width = max(len(ids) for ids, _, _ in items)
    pad = tok.pad_token_id
    inputs = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _, _ in items])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab, _ in items], dtype=torch.float)
    return inputs, labels


@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_openrlhfs_own_prm_loss_reads_the_labels_at_the_placeholders(tmp_path, soft):
    torch = trainer_module("torch")
    tok, out = _smollm2_export(tmp_path, soft)
    inputs, labels = _batch(out, tok, soft)
    plus, minus = token_id(tok, "+"), token_id(tok, "-")
    prm_loss = openrlhf_prm_loss()(token_id(tok, TAG), [plus, minus])
    at_tags = inputs == token_id(tok, TAG)
    assert at_tags.sum() == sum(len(v) for v in _load(out)["value"])
    # Logits that say "+" with confidence where the label is right, "-" where it is wrong; then the reverse.
    right = (labels >= 0.5) if soft else (labels == plus)
    agree = torch.zeros(*inputs.shape, len(tok))
    agree[..., plus] = torch.where(right, 4.0, -4.0)
    agree[..., minus] = -agree[..., plus]
    good = prm_loss(inputs, agree, labels)
    bad = prm_loss(inputs, -agree, labels)
    assert torch.isfinite(good) and torch.isfinite(bad) and good < bad
    if not soft:
        assert good < 0.01
    else:  # soft labels without --reward_tokens: PRMLoss needs exactly two reward tokens (len(None) fails)
        with pytest.raises((AssertionError, TypeError)):
            openrlhf_prm_loss()(token_id(tok, TAG), None)(inputs, agree, labels)


def test_openrlhfs_own_reader_refuses_the_default_tag_in_smollm2(tmp_path):
    tok = _smollm2_export(tmp_path, soft=False)[0]
    run_export(labeled_folder(tmp_path), tmp_path / "default.jsonl", "openrlhf")  # ки, unchecked
    with pytest.raises(AssertionError):  # convert_token_to_id: `assert len(token) == 1`
        _openrlhf_dataset(tmp_path / "default.jsonl", tok, "ки", ["+", "-"])
