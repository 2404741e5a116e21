"""--placeholder and --tokenizer of the OpenRLHF and Math-Shepherd exports (prmlabel.export.placeholder).

The tokenizer is a small byte-level BPE trained here and saved as a tokenizer.json (as SmolLM2's, Qwen's
and Llama 3's are byte-level BPE): ``ки`` is several tokens in it, and ``<step>`` one added token.
"""

from __future__ import annotations

import json

import pytest

from prmlabel.stages.export import run_export
from tests.conftest import run_prmlabel
from tests.export.folders import LABEL_ROWS, labeled_folder, response, write_folder

datasets = pytest.importorskip("datasets")
TEXTS = [r["question"] + " " + " ".join(r["steps"]) for r in LABEL_ROWS] * 20


def _tokenizer_json(tmp_path, added: list[str]) -> str:
    """A byte-level BPE trained on the fixture texts, with ``added`` as added tokens, saved as tokenizer.json."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(
        TEXTS, trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    )
    tok.add_tokens(added)
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    return str(path)


@pytest.mark.parametrize("fmt", ["openrlhf", "math-shepherd"])
def test_the_placeholder_option_sets_the_tag_after_each_step(tmp_path, fmt):
    out = tmp_path / "o.jsonl"
    summary = run_export(labeled_folder(tmp_path), out, fmt, placeholder="<step>")
    rows = datasets.load_dataset("json", data_files=str(out), split="train")
    assert len(rows) == summary.train_rows == 4
    for row in rows:
        assert "ки" not in row["input"] and all(line.endswith(" <step>") for line in row["input"].split("\n"))
    assert json.loads((tmp_path / "o.export.json").read_text())["placeholder"] == "<step>"


def test_rows_holding_the_chosen_placeholder_are_skipped_and_counted(tmp_path):
    rows = LABEL_ROWS + [response("p9", 0, ["write <step> here", "so 1 = 1"], [True, True], [1.0, 1.0])]
    folder = write_folder(tmp_path / "labels", rows, "label")
    summary = run_export(folder, tmp_path / "o.jsonl", "openrlhf", placeholder="<step>")
    assert summary.skipped["text contains the placeholder <step>"] == 1


def test_a_tag_of_several_tokens_is_refused_naming_a_single_token_one(tmp_path):
    tokenizer = _tokenizer_json(tmp_path, ["<step>"])
    with pytest.raises(ValueError, match=r"'ки' is \d+ tokens .*One token there: --placeholder '<step>'"):
        run_export(labeled_folder(tmp_path), tmp_path / "o.jsonl", "openrlhf", tokenizer=tokenizer)
    assert not (tmp_path / "o.jsonl").exists()
    summary = run_export(
        labeled_folder(tmp_path), tmp_path / "o.jsonl", "openrlhf", placeholder="<step>", tokenizer=tokenizer
    )
    assert summary.train_rows == 4


def test_a_tag_that_is_one_token_alone_but_merges_with_the_space_before_it_is_refused(tmp_path):
    # "=" is one token alone; after a space, byte-level BPE has learned "Ġ=" from the texts: another token,
    # so OpenRLHF's lookup of "=" would find no tag in the text.
    tokenizer = _tokenizer_json(tmp_path, [])
    with pytest.raises(ValueError, match="not where the export writes it"):
        run_export(labeled_folder(tmp_path), tmp_path / "o.jsonl", "openrlhf", placeholder="=", tokenizer=tokenizer)


def test_no_alternative_is_claimed_when_none_is_one_token(tmp_path):
    tokenizer = _tokenizer_json(tmp_path, [])
    # No candidate of the short list is one token, and the tokenizer has no added token to offer.
    with pytest.raises(ValueError, match="No single-token tag was found"):
        run_export(labeled_folder(tmp_path), tmp_path / "o.jsonl", "math-shepherd", tokenizer=tokenizer)


def test_the_command_line_reports_the_check(tmp_path):
    tokenizer = _tokenizer_json(tmp_path, ["<step>"])
    folder = labeled_folder(tmp_path)
    proc = run_prmlabel(
        ["export", "-i", str(folder), "-o", str(tmp_path / "o.jsonl"), "-f", "openrlhf", "--tokenizer", tokenizer],
        check=False,
    )
    assert proc.returncode != 0 and "--placeholder '<step>'" in proc.stdout + proc.stderr
    proc = run_prmlabel(
        ["export", "-i", str(folder), "-o", str(tmp_path / "t.jsonl"), "--placeholder", "<step>"], check=False
    )
    assert proc.returncode != 0 and "go with --format openrlhf or math-shepherd" in proc.stdout + proc.stderr
