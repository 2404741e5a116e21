"""TRL export, loaded with `datasets` and tokenized as PRMTrainer.tokenize_row does.

Two versions of the tokenization test: ``..._with_trls_own_tokenize_row`` calls TRL's code
(``trl.experimental.prm.PRMTrainer.tokenize_row``, TRL 0.29-1.13) with SmolLM2's transformers
tokenizer and runs in the venv of ``make test-train``; ``..._restated`` runs the restatement in
tests/export/trainers.py with SmolLM2's tokenizer through llama.cpp and runs in the main venv. Where
both TRL and transformers are there, the restatement is also checked against TRL's output.
"""

from __future__ import annotations

import pytest

from prmlabel.contract.store import StoreError
from prmlabel.stages.export import run_export
from tests.export.folders import LABEL_ROWS, labeled_folder, labels_folder
from tests.export.trainers import HFTokenizer, LlamaCppTokenizer, hf_tokenizer, trainer_module, trl_tokenize_row

datasets = pytest.importorskip("datasets")


def _exported(tmp_path):
    out = tmp_path / "prm_train.parquet"
    summary = run_export(labeled_folder(tmp_path), out, "trl")
    ds = datasets.load_dataset("parquet", data_files=str(out), split="train")
    assert ds.column_names == ["prompt", "completions", "labels"]
    assert ds.features["labels"].feature.dtype == "bool"
    assert len(ds) == summary.train_rows == 4  # p2 dropped by the filter, p3 has no known label
    by_prompt = {(r["prompt"], tuple(r["completions"])): r["labels"] for r in ds}
    # p1/r1: hard [True, False, None] cut after the first error -> two steps, the second wrong.
    assert by_prompt[("Question p1: what is the final number?", ("2 + 3 = 6", "6 * 2 = 12"))] == [True, False]
    # p4/r0: [True, None] -> only the known step, never a negative for the unknown one.
    assert by_prompt[("Question p4: what is the final number?", ("9 - 3 = 6",))] == [True]
    return ds


def _check_one_label_per_step(row: dict, tokens: dict, newline: int) -> None:
    labeled = [(i, v) for i, v in enumerate(tokens["labels"]) if v != -100]
    assert [v for _, v in labeled] == [int(b) for b in row["labels"]]
    assert all(tokens["input_ids"][i] == newline for i, _ in labeled)  # the separator closing each step


def test_trl_rows_tokenize_with_one_label_per_step_with_trls_own_tokenize_row(tmp_path):
    prm = trainer_module("trl.experimental.prm")
    ds = _exported(tmp_path)
    tok = hf_tokenizer()
    newline = tok("\n", add_special_tokens=False)["input_ids"][-1]
    for row in ds:
        # TRL's signature: (features, tokenizer, step_separator, max_length, max_completion_length,
        # train_on_last_step_only, is_eval), PRMConfig's defaults but no truncation.
        tokens = prm.PRMTrainer.tokenize_row(row, tok, "\n", None, None, False, False)
        _check_one_label_per_step(row, tokens, newline)
        assert trl_tokenize_row(row, HFTokenizer(tok)) == tokens  # the restatement says what TRL does


def test_trl_rows_tokenize_with_one_label_per_step_restated(tmp_path):
    ds = _exported(tmp_path)
    tokenizer = LlamaCppTokenizer()
    newline = tokenizer.encode("\n")[-1]
    for row in ds:
        _check_one_label_per_step(row, trl_tokenize_row(row, tokenizer), newline)


def test_soft_labels_into_trl_are_refused_without_a_threshold(tmp_path):
    with pytest.raises(StoreError, match="floors every value below 1 to 0"):
        run_export(labels_folder(tmp_path), tmp_path / "soft.parquet", "trl", soft=True)
    assert not (tmp_path / "soft.parquet").exists()


def test_threshold_turns_soft_values_into_booleans(tmp_path):
    out = tmp_path / "soft.jsonl"
    run_export(labels_folder(tmp_path), out, "trl", soft=True, threshold=0.7)
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    got = {tuple(r["completions"]): r["labels"] for r in ds}
    values = {r["steps"][0].strip(): r["values"] for r in LABEL_ROWS}  # first steps differ
    for completions, labels in got.items():
        expected = [v >= 0.7 for v in values[completions[0]][: len(labels)]]
        assert labels == expected
    assert got[("2 + 3 = 6", "6 * 2 = 12")] == [True, False]  # 0.75 >= 0.7, 0.0 < 0.7; the null step is cut


def test_placeholder_options_go_with_tagged_formats_only(tmp_path):
    with pytest.raises(ValueError, match="--placeholder and --tokenizer go with --format openrlhf or math-shepherd"):
        run_export(labeled_folder(tmp_path), tmp_path / "o.jsonl", "trl", placeholder="<step>")
