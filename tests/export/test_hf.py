"""The `datasets` folder and its dataset card: load_dataset reads the card's splits, the card's YAML is
what the Hub reads, and its counts, cost and parameters are the data's and the run's own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from prmlabel import __version__
from prmlabel.cli import app
from prmlabel.contract.store import StoreError
from prmlabel.stages.export import run_export
from tests.conftest import run_prmlabel
from tests.export.folders import labels_folder, response, write_folder

datasets = pytest.importorskip("datasets")
huggingface_hub = pytest.importorskip("huggingface_hub")


def _many(root):
    rows = [
        response(f"q{i:02d}", k, ["1 + 1 = 2", f"2 + {k} = {2 + k}"], [True, k != 1], [1.0, 0.5 if k == 1 else 1.0])
        for i in range(20)
        for k in range(3)
    ]
    return write_folder(root / "labels", rows, "label")


def _card(folder: Path) -> tuple[dict, str]:
    """(YAML header, markdown body) of folder/README.md, split as the Hub splits them."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    assert match, "README.md does not start with a --- YAML block ---"
    return yaml.safe_load(match.group(1)), match.group(2)


def _cell(body: str, key: str) -> str:
    """The value of the two-column table row ``| key | value |``."""
    match = re.search(rf"^\| {re.escape(key)} \| (.*) \|$", body, re.M)
    assert match, f"no row {key!r} in the card"
    return match.group(1)


def _records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "_records").glob("*.json"))]


@pytest.fixture(scope="module")
def labeled(tmp_path_factory) -> Path:
    """A real labeled folder: synthetic problems -> generate -> label --method mc -> filter (dedup)."""
    root = tmp_path_factory.mktemp("hf")
    run_prmlabel(
        ["synthetic", "problems", "--count", "8", "--steps", "3-5", "--seed", "0", "-o", str(root / "p.jsonl")]
    )
    common = ["--backend", "synthetic", "--no-progress"]
    run_prmlabel(["generate", "-i", str(root / "p.jsonl"), "-o", str(root / "rollouts"), "--samples", "4"] + common)
    run_prmlabel(["label", "-i", str(root / "rollouts"), "-o", str(root / "labels"), "--method", "mc"] + common)
    run_prmlabel(["filter", "-i", str(root / "labels"), "-o", str(root / "labeled"), "--method", "dedup"])
    return root


def test_cli_export_loads_back_and_the_card_states_what_the_data_holds(labeled: Path, tmp_path: Path):
    out = tmp_path / "prm_dataset"
    run_prmlabel(["export", "-i", str(labeled / "labeled"), "-o", str(out), "--format", "hf", "--val-fraction", "0.25"])
    ds = datasets.load_dataset(str(out))
    meta, body = _card(out)

    # The YAML the Hub reads: the splits, the tags, the task, the size.
    files = {f"data/{p.name}" for p in (out / "data").glob("*.parquet")}
    [config] = meta["configs"]
    assert config["config_name"] == "default" and len(files) == 2
    assert {f["split"] for f in config["data_files"]} == {"train", "validation"}
    assert {f["path"] for f in config["data_files"]} == files
    assert {"prm", "process-reward-model", "mc", "math"} <= set(meta["tags"])
    assert meta["task_categories"] == ["token-classification"]
    assert meta["size_categories"] == ["n<1K"]
    assert "license" not in meta  # a local problems file: no license is known, none is claimed

    # Counts: the card's numbers are the loaded data's.
    keep = [
        k for p in sorted((labeled / "labeled").glob("part-*.parquet")) for k in pq.read_table(p)["keep"].to_pylist()
    ]
    kept = [k for k in keep if k]
    rows = list(ds["train"]) + list(ds["validation"])
    assert len(rows) == len(kept) > 0
    labels = [v for r in rows for v in r["labels"]]
    assert _cell(body, "rows exported") == str(len(rows))
    assert _cell(body, "train split").startswith(f"{len(ds['train'])} rows")
    assert _cell(body, "validation split").startswith(f"{len(ds['validation'])} rows")
    assert _cell(body, "steps exported") == str(len(labels))
    assert _cell(body, "positive steps") == str(labels.count(True))
    assert _cell(body, "negative steps") == str(labels.count(False)) != "0"
    assert _cell(body, "rows read") == "32 (labeled folder)"  # 8 problems x 4 samples
    assert _cell(body, "rows skipped") == str(32 - len(kept))

    # Origin: the labeler's paper and parameters, the policy model, version and fingerprint.
    label_manifest = json.loads((labeled / "labels" / "manifest.json").read_text())
    provenance = _records(labeled / "labels")[0]["cost"]["provenance"]
    assert "Math-Shepherd" in _cell(body, "labeling method") and "2312.08935" in body
    assert _cell(body, "policy model (wrote the responses)") == provenance["model"]
    assert _cell(body, "recipe").startswith("none")
    assert _cell(body, "prmlabel version") == __version__
    fingerprint = json.loads((labeled / "labeled" / "manifest.json").read_text())["fingerprint"]
    assert _cell(body, "config fingerprint").startswith(fingerprint)
    assert "k: 8" in body  # the labeler's resolved parameter, absent from the stage config's params: {}
    assert f"fingerprint {label_manifest['fingerprint']}" in body  # every stage's resolved config

    # Cost: the label stage's rollouts and tokens, summed over its shard records.
    label_row = next(line for line in body.splitlines() if line.startswith("| label | `labels` |"))
    rollouts = sum(r["cost"]["rollouts"] for r in _records(labeled / "labels"))
    tokens = sum(r["cost"]["generated_tokens"] for r in _records(labeled / "labels"))
    assert f"| {rollouts} |" in label_row and f"| {tokens} |" in label_row
    assert "| generate | `rollouts` |" in body and "| filter | `labeled` |" in body


def test_card_counts_undecided_steps_and_how_they_were_exported(tmp_path: Path):
    """Handmade labels with undecided steps: cut rows, left-out steps and skipped rows are counted."""
    out = tmp_path / "ds"
    summary = run_export(labels_folder(tmp_path), out, "hf")
    _, body = _card(out)
    # p1/r1 [T, F, None] and p4/r0 [T, None] are cut; p3/r0 has no decided step.
    assert (summary.cut, summary.steps_cut) == (2, 2)
    assert _cell(body, "undecided steps read") == "2"
    assert _cell(body, "steps left out") == "2 (undecided, or after one) from 2 rows cut"
    assert _cell(body, "skipped: every label unknown") == "1"
    assert "2 rows were cut, leaving out 2 steps" in body
    # No records carry a paper here: the labeler's own class names it; no rollouts folder: unknown.
    assert "Math-Shepherd" in _cell(body, "labeling method")
    assert _cell(body, "policy model (wrote the responses)") == "unknown"
    ds = datasets.load_dataset(str(out))
    assert None not in [v for labels in ds["train"]["labels"] for v in labels]


def test_run_folder_card_names_the_recipe_and_its_paper(tmp_path: Path, labeled: Path):
    run = tmp_path / "run"
    problems = str(labeled / "p.jsonl")
    run_prmlabel(["run", "math_shepherd", "-i", problems, "-o", str(run), "backend=synthetic", "--no-progress"])
    out = tmp_path / "ds"
    run_export(run / "mc", out, "hf")
    meta, body = _card(out)
    plan = yaml.safe_load((run / "run.yaml").read_text())
    assert _cell(body, "recipe").startswith(f"`math_shepherd`: {plan['paper']}")
    assert plan["code_fingerprint"] in _cell(body, "prmlabel version")
    assert "math_shepherd" in meta["tags"]
    assert "| generate | `generate` |" in body  # the run's generate stage, found beside mc


class _FakeHfApi:
    """Stands in for huggingface_hub.HfApi: records the calls, uploads nothing."""

    calls: list[tuple[str, dict]] = []
    fail_upload = False

    def create_repo(self, repo_id: str, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/datasets/{repo_id}"

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        if self.fail_upload:
            raise ConnectionError("no network")


@pytest.fixture
def fake_hub(monkeypatch):
    _FakeHfApi.calls = []
    _FakeHfApi.fail_upload = False
    monkeypatch.setattr(huggingface_hub, "HfApi", _FakeHfApi)
    return _FakeHfApi


def test_push_to_hub_calls_huggingface_hub_with_the_repo_folder_and_private_flag(fake_hub, tmp_path: Path):
    """Checks prmlabel's call to huggingface_hub (repo id, dataset type, private flag, folder), not the Hub:
    HfApi is replaced in-process, since these tests have no network."""
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        app, ["export", "-i", str(_many(tmp_path)), "-o", str(out), "-f", "hf", "--push-to-hub", "me/prm", "--private"]
    )
    assert result.exit_code == 0, result.output
    (create, create_args), (upload, upload_args) = fake_hub.calls
    assert (create, create_args["repo_id"], create_args["repo_type"], create_args["private"]) == (
        "create_repo",
        "me/prm",
        "dataset",
        True,
    )
    assert (upload, upload_args["repo_id"], upload_args["repo_type"]) == ("upload_folder", "me/prm", "dataset")
    assert Path(upload_args["folder_path"]) == out
    assert "token" not in create_args and "token" not in upload_args  # huggingface_hub finds its own
    assert 'load_dataset("me/prm")' in (out / "README.md").read_text()
    assert "pushed to https://huggingface.co/datasets/me/prm (private dataset)" in result.output


def test_failed_push_leaves_the_folder_and_says_how_to_retry(fake_hub, tmp_path: Path):
    """Checks prmlabel's handling of an upload error raised by (a stand-in for) huggingface_hub."""
    fake_hub.fail_upload = True
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        app, ["export", "-i", str(_many(tmp_path)), "-o", str(out), "-f", "hf", "--push-to-hub", "me/prm"]
    )
    assert result.exit_code == 1
    assert "failed (ConnectionError: no network)" in result.output
    assert f"hf upload me/prm {out} --repo-type dataset" in result.output
    assert len(datasets.load_dataset(str(out))["train"]) == 60


@pytest.mark.parametrize(
    "flags, message",
    [
        (["-f", "trl", "--push-to-hub", "me/prm"], "uploads a --format hf folder"),
        (["-f", "hf", "--private"], "--private goes with --push-to-hub"),
        (["-f", "hf", "--push-to-hub", "just-a-name"], "must be USER/NAME"),
    ],
)
def test_push_flags_are_checked_before_anything_is_written(fake_hub, tmp_path: Path, flags, message):
    out = tmp_path / "ds"
    result = CliRunner().invoke(app, ["export", "-i", str(_many(tmp_path)), "-o", str(out), *flags])
    assert result.exit_code == 2 and message in result.output
    assert not out.exists() and fake_hub.calls == []


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
    val = {d: next((tmp_path / d / "data").glob("validation-*.parquet")) for d in "abc"}
    assert val["a"].name == val["b"].name and val["a"].read_bytes() == val["b"].read_bytes()
    assert val["a"].name != val["c"].name and val["a"].read_bytes() != val["c"].read_bytes()
    assert first.validation_rows == again.validation_rows == other.validation_rows == 15


def test_reexport_into_the_same_folder_loads_the_new_rows_not_the_cached_ones(tmp_path):
    """datasets caches a folder with card configs by its name and patterns; the file names carry the content."""
    out = tmp_path / "prm_dataset"
    run_export(_many(tmp_path), out, "hf")
    assert len(datasets.load_dataset(str(out))["train"]) == 60
    run_export(labels_folder(tmp_path / "other"), out, "hf")
    assert len(datasets.load_dataset(str(out))["train"]) == 5  # 6 rows, one with no decided step
    assert len(list((out / "data").glob("*.parquet"))) == 1  # the earlier export's file is gone


def test_refuses_to_write_into_a_folder_that_is_not_an_export(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not a prmlabel export folder"):
        run_export(_many(tmp_path), tmp_path / "mine", "hf")
