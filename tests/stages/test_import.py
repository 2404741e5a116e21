"""`prmlabel import` end to end on the public human-labeled files."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def _read(folder) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


@pytest.mark.parametrize(
    ("preset", "path", "rows"),
    [
        ("processbench", "processbench/gsm8k.json", 40),
        ("bigbench_mistake", "bigbench_mistake/word_sorting.jsonl", 40),
        ("prm800k", "prm800k/samples_prm800k.openr.jsonl", None),
        ("math_shepherd", "math_shepherd/samples_math-shepherd.openr.jsonl", 7),
    ],
)
def test_presets_import_with_gold_labels(prmlabel, tmp_path, data_dir, preset, path, rows):
    out = tmp_path / preset
    proc = prmlabel(["import", "-i", str(data_dir / path), "--preset", preset, "-o", str(out), "--num-shards", "2"])
    got = _read(out)
    records = [json.loads(p.read_text()) for p in (out / "_records").glob("*.json")]
    assert sum(r["rows_in"] for r in records) == sum(r["rows_out"] + r["rows_rejected"] for r in records)
    if rows is not None:
        assert len(got) == rows
    assert "import summary" in proc.stdout
    for row in got:
        assert "".join(row["steps"]) == row["response"]
        if row["gold_first_error"] is not None:
            assert -1 <= row["gold_first_error"] < len(row["steps"])


def test_processbench_labels_match_the_file(prmlabel, tmp_path, data_dir):
    src = data_dir / "processbench" / "gsm8k.json"
    out = tmp_path / "pb"
    prmlabel(["import", "-i", str(src), "--preset", "processbench", "-o", str(out)])
    gold = {r["id"]: r["label"] for r in json.loads(src.read_text())}
    got = {r["problem_id"]: r["gold_first_error"] for r in _read(out)}
    assert got == gold
    assert sum(1 for v in got.values() if v == -1) == 19  # the slice's correct samples (tests/data/README.md)


def test_own_file_with_field_mapping(prmlabel, tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [
        {"prompt": "What is 2+3?", "gold": "5", "solution_steps": ["2+3=5", "The answer is 5."], "wrong_at": -1},
        {"prompt": "What is 2*3?", "gold": "6", "solution_steps": ["2*3=5", "The answer is 5."], "wrong_at": 0},
        {"prompt": "", "gold": "1", "solution_steps": ["x"], "wrong_at": 0},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    proc = prmlabel(
        [
            "import",
            "-i",
            str(path),
            "-o",
            str(out),
            "fields.question=prompt",
            "fields.answer=gold",
            "fields.steps=solution_steps",
            "fields.label=wrong_at",
        ]
    )
    assert "responses rejected              1" in proc.stdout
    got = sorted(_read(out), key=lambda r: r["question"])
    assert [r["gold_first_error"] for r in got] == [0, -1]
    rejects = pq.read_table(out / "rejects" / "part-00000.parquet").to_pylist()
    assert rejects[0]["row"] == 3 and "prompt" in rejects[0]["reason"]


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    from tests.hub_cache import offline_hf_home

    return offline_hf_home(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("name", "split", "path", "rows"),
    [
        ("Qwen/ProcessBench", "gsm8k", "processbench/gsm8k.json", 40),
        ("someone/BIG-Bench-Mistake", "word_sorting", "bigbench_mistake/word_sorting.jsonl", 40),
        ("peiyi9979/Math-Shepherd", "train", "math_shepherd/samples_math-shepherd.openr.jsonl", 7),
    ],
)
def test_import_reads_a_hub_dataset_by_name(prmlabel, tmp_path, data_dir, hf_home, name, split, path, rows):
    """The Hub name picks the preset; the rows equal those of the same file read locally."""
    from tests.hub_cache import add_hub_dataset

    add_hub_dataset(hf_home, name, {split: data_dir / path, "other": data_dir / path})
    out = tmp_path / "hub"
    prmlabel(["import", "-i", f"hf://{name}", "--split", split, "-o", str(out), "--no-progress"])
    config = (out / "config.yaml").read_text()
    preset = next(line.split(": ")[1] for line in config.splitlines() if line.startswith("preset:"))
    local = tmp_path / "local"
    prmlabel(["import", "-i", str(data_dir / path), "--preset", preset, "-o", str(local), "--no-progress"])
    hub_rows, local_rows = _read(out), _read(local)
    assert len(hub_rows) == rows and any(r["gold_first_error"] is not None for r in hub_rows)
    keys = ("problem_id", "question", "steps", "gold_first_error", "is_correct", "final_answer")
    assert [[r[k] for k in keys] for r in hub_rows] == [[r[k] for k in keys] for r in local_rows]
