"""`prmlabel generate` end to end on the synthetic backend (a simulator with known truth)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prmlabel.contract.schema import ROLLOUTS
from prmlabel.text.answers import is_equivalent
from tests.conftest import REPO


def _problems(prmlabel, tmp_path: Path, count: int = 60, steps: str = "3-8") -> Path:
    path = tmp_path / "problems.jsonl"
    prmlabel(["synthetic", "problems", "--count", str(count), "--steps", steps, "--seed", "0", "-o", str(path)])
    return path


def _gen(prmlabel, problems: Path, out: Path, *extra: str, check: bool = True):
    args = ["generate", "-i", str(problems), "-o", str(out), "--backend", "synthetic", "--no-progress"]
    return prmlabel([*args, *extra], check=check)


def _read(folder: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))])


def _shard_bytes(folder: Path) -> dict[str, bytes]:
    files = sorted(folder.glob("part-*.parquet")) + sorted((folder / "rejects").glob("part-*.parquet"))
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def test_rollouts_have_the_schema_and_the_truth(prmlabel, tmp_path):
    problems = _problems(prmlabel, tmp_path)
    out = tmp_path / "rollouts"
    proc = _gen(prmlabel, problems, out, "--samples", "4", "--num-shards", "3")
    assert "problems in        60" in proc.stdout and "responses          240" in proc.stdout
    table = _read(out)
    assert table.num_rows == 240
    assert pq.read_schema(out / "part-00000.parquet").remove_metadata() == ROLLOUTS.remove_metadata()
    rows = table.to_pylist()
    assert {r["sample_index"] for r in rows} == {0, 1, 2, 3}
    assert len({r["response_id"] for r in rows}) == 240
    for row in rows:
        assert "".join(row["steps"]) == row["response"]
        assert row["gold_first_error"] is not None and -1 <= row["gold_first_error"] < len(row["steps"])
        expected = is_equivalent(row["final_answer"], row["reference_answer"]) and row["finish_reason"] == "stop"
        assert row["is_correct"] == expected
        assert row["provenance"]["backend"] == "synthetic"
        assert row["sampling"]["max_tokens"] == 1024
    # a response whose every step is right ends on the right answer (no recovery needed)
    assert all(r["is_correct"] for r in rows if r["gold_first_error"] == -1 and r["finish_reason"] == "stop")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["num_shards"] == 3 and manifest["seed"] == 0 and manifest["prmlabel_version"]
    records = [json.loads(p.read_text()) for p in sorted((out / "_records").glob("*.json"))]
    assert sum(r["rows_in"] for r in records) == 60
    assert sum(r["cost"]["rollouts"] for r in records) == 240
    assert all(r["rows_in"] == r["rows_out"] + r["rows_rejected"] for r in records)
    assert all(r["cost"]["provenance"]["backend"] == "synthetic" for r in records)


def test_rerun_skips_and_other_config_is_refused(prmlabel, tmp_path):
    problems = _problems(prmlabel, tmp_path, count=20)
    out = tmp_path / "rollouts"
    _gen(prmlabel, problems, out, "--samples", "2", "--num-shards", "2")
    before = _shard_bytes(out)
    again = _gen(prmlabel, problems, out, "--samples", "2", "--num-shards", "2", "--batch-size", "3")
    assert "0 run, 2 already done" in again.stdout
    assert _shard_bytes(out) == before
    refused = _gen(prmlabel, problems, out, "--samples", "2", "--num-shards", "2", "--seed", "1", check=False)
    assert refused.returncode == 2
    assert "seed: 0 -> 1" in refused.stderr and "--overwrite" in refused.stderr
    replaced = _gen(prmlabel, problems, out, "--samples", "2", "--num-shards", "2", "--seed", "1", "--overwrite")
    assert "2 run" in replaced.stdout
    assert _shard_bytes(out) != before


def test_resume_follows_the_input_content_not_its_path(prmlabel, tmp_path):
    """An absolute path, or the same file copied elsewhere, resumes; changed content is refused."""
    problems = _problems(prmlabel, tmp_path, count=10)
    out = tmp_path / "rollouts"
    _gen(prmlabel, problems, out, "--samples", "2")
    before = _shard_bytes(out)
    copy = tmp_path / "elsewhere" / "copy.jsonl"
    copy.parent.mkdir()
    copy.write_bytes(Path(problems).read_bytes())
    for spelling in (str(Path(problems).resolve()), str(copy)):
        again = _gen(prmlabel, spelling, out, "--samples", "2")
        assert "0 run, 1 already done" in again.stdout
    assert _shard_bytes(out) == before
    with copy.open("a") as handle:
        handle.write('{"question": "What is 2+2?", "answer": "4"}\n')
    refused = _gen(prmlabel, copy, out, "--samples", "2", check=False)
    assert refused.returncode == 2
    assert "copy.jsonl" in refused.stderr and "input_fingerprint" in refused.stderr


def test_output_does_not_depend_on_batch_size_or_array_tasks(prmlabel, tmp_path):
    problems = _problems(prmlabel, tmp_path, count=30)
    whole, tasks = tmp_path / "whole", tmp_path / "tasks"
    _gen(prmlabel, problems, whole, "--samples", "3", "--num-shards", "2", "--batch-size", "64")
    _gen(prmlabel, problems, tasks, "--samples", "3", "--shard", "1/2", "--batch-size", "5")
    assert not (tasks / "part-00000.parquet").exists()
    _gen(prmlabel, problems, tasks, "--samples", "3", "--shard", "0/2", "--batch-size", "7")
    assert _shard_bytes(whole) == _shard_bytes(tasks)


def test_killed_run_resumes_to_identical_bytes(prmlabel, tmp_path):
    problems = _problems(prmlabel, tmp_path, count=800, steps="6-12")
    reference = tmp_path / "reference"
    args = ["--samples", "8", "--num-shards", "8", "--batch-size", "16"]
    _gen(prmlabel, problems, reference, *args)
    expected = _shard_bytes(reference)
    cmd = [sys.executable, "-m", "prmlabel", "generate", "-i", str(problems), "--backend", "synthetic", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    kills = 0
    for attempt, delay in enumerate((0.4, 0.8, 1.2, 1.6)):
        out = tmp_path / f"killed{attempt}"
        proc = subprocess.Popen(
            [*cmd, "-o", str(out), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        done_before = len(list((out / "_records").glob("*.json"))) if (out / "_records").exists() else 0
        resumed = _gen(prmlabel, problems, out, *args)
        assert f"{done_before} already done" in resumed.stdout
        assert _shard_bytes(out) == expected
        assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
        rows = duckdb.sql(f"SELECT count(*), count(DISTINCT response_id) FROM '{out}/part-*.parquet'").fetchall()
        assert rows == [(6400, 6400)]
    assert kills >= 1, "the run finished before any kill; make it longer"


def test_rejects_are_counted_and_kept(prmlabel, tmp_path):
    path = tmp_path / "mixed.jsonl"
    good = [
        {
            "question": f"Start with {i}. Add 2, then multiply by 3. What is the final number?",
            "answer": str((i + 2) * 3),
            "id": f"q{i}",
        }
        for i in range(5)
    ]
    lines = [json.dumps(r).encode() for r in good]
    lines.append(json.dumps({"question": "no answer here", "id": "q9"}).encode())
    lines.append(json.dumps(good[0]).encode())  # duplicate id
    lines.append(b'{"question": "truncated')
    lines.append(b'{"question": "bad \xff utf8", "answer": "1", "id": "u"}')
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "rollouts"
    proc = _gen(prmlabel, path, out, "--samples", "2", "--num-shards", "2", "fields.id=id")
    assert "problems rejected  4" in proc.stdout and "rejects" in proc.stdout
    rejects = _read(out / "rejects").to_pylist()
    assert sorted(r["row"] for r in rejects) == [6, 7, 8, 9]
    reasons = " | ".join(r["reason"] for r in rejects)
    assert "duplicate problem_id q0" in reasons and "UTF-8" in reasons and "JSON" in reasons
    assert all(r["file"].endswith("mixed.jsonl") for r in rejects)
    assert _read(out).num_rows == 10
    records = [json.loads(p.read_text()) for p in (out / "_records").glob("*.json")]
    assert sum(r["rows_in"] for r in records) == 9
    assert sum(r["rows_rejected"] for r in records) == 4


def test_generate_on_a_preset_reads_real_problems(prmlabel, tmp_path, data_dir):
    # The simulator cannot solve GSM8K; its completions end as errors, never as correct answers.
    src = data_dir / "gsm8k" / "test.jsonl"
    small = tmp_path / "gsm8k.jsonl"
    small.write_text("".join(src.read_text().splitlines(keepends=True)[:10]))
    out = tmp_path / "gsm"
    _gen(prmlabel, small, out, "--preset", "gsm8k", "--samples", "1")
    rows = _read(out).to_pylist()
    assert len(rows) == 10 and "18" in {r["reference_answer"] for r in rows}  # Janet's ducks
    assert all(r["finish_reason"] == "error" and not r["is_correct"] for r in rows)


@pytest.mark.parametrize("missing", ["--input", "--output"])
def test_missing_required_option_is_a_clear_error(prmlabel, tmp_path, missing):
    args = {"--input": str(tmp_path / "p.jsonl"), "--output": str(tmp_path / "o")}
    args.pop(missing)
    proc = prmlabel(["generate", *[x for kv in args.items() for x in kv]], check=False)
    assert proc.returncode == 2 and f"{missing} is required" in proc.stderr


def test_folio_formal_preset_asks_for_formal_steps(prmlabel, tmp_path, data_dir):
    out = tmp_path / "logic"
    prmlabel(
        [
            "generate",
            "--backend",
            "synthetic",
            "-i",
            str(data_dir / "folio" / "folio-validation.jsonl"),
            "--preset",
            "folio_formal",
            "--domain",
            "logic",
            "-o",
            str(out),
            "--samples",
            "1",
            "--no-progress",
        ]
    )
    rows = _read(out).to_pylist()
    assert len(rows) == 40 and all(r["domain"] == "logic" for r in rows)
    assert all("fact1:" in r["question"] and "-> int1" in r["question"] for r in rows)
    assert {r["reference_answer"] for r in rows} == {"True", "False", "Unknown"}
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["steps"]["split"] == "newline" and config["prompt"]["template"] == "{question}"


def _records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "_records").glob("*.json"))]


def _rejects(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted((folder / "rejects").glob("*.parquet"))]).to_pylist()


def test_require_answer_sends_responses_with_no_answer_to_rejects(prmlabel, tmp_path):
    # abandon_rate: the simulated policy sometimes stops before stating an answer; max_tokens cuts others.
    problems = _problems(prmlabel, tmp_path, count=30)
    out, plain = tmp_path / "rollouts", tmp_path / "plain"
    common = ("--samples", "4", "--num-shards", "2", "backend.options.abandon_rate=0.3", "sampling.max_tokens=60")
    _gen(prmlabel, problems, plain, *common)
    proc = _gen(prmlabel, problems, out, *common, "require_answer=true")
    everything = _read(plain).to_pylist()
    kept = _read(out).to_pylist()
    markers = ("boxed", "he answer is", "final answer is")
    silent = [r for r in everything if not any(m in r["response"] for m in markers)]
    assert silent and len(kept) == len(everything) - len(silent)
    ids = {r["response_id"] for r in everything} - {r["response_id"] for r in silent}
    assert {r["response_id"] for r in kept} == ids
    rejects = _rejects(out)
    assert sorted(json.loads(r["raw"])["response_id"] for r in rejects) == sorted(r["response_id"] for r in silent)
    assert all(r["field"] == "response" and r["reason"].startswith("require_answer:") for r in rejects)
    records = _records(out)
    # rows in = rows out + rejected: 30 problems + the responses left out = 30 + the rejects
    assert sum(r["rows_in"] for r in records) == 30 + len(silent)
    assert all(r["rows_in"] == r["rows_out"] + r["rows_rejected"] for r in records)
    assert re.search(r"problems in +30\n", proc.stdout)
    assert re.search(rf"responses left out +{len(silent)}\n", proc.stdout)


def test_select_paths_keeps_genprm_balanced_paths(prmlabel, tmp_path):
    problems = _problems(prmlabel, tmp_path, count=40)
    out, plain = tmp_path / "rollouts", tmp_path / "plain"
    common = ("--samples", "12", "backend.options.slip_rate=0.3")
    _gen(prmlabel, problems, plain, *common)
    _gen(prmlabel, problems, out, *common, "select_paths=4")
    drawn: dict[str, list[dict]] = {}
    for row in _read(plain).to_pylist():
        drawn.setdefault(row["problem_id"], []).append(row)
    kept: dict[str, list[dict]] = {}
    for row in _read(out).to_pylist():
        kept.setdefault(row["problem_id"], []).append(row)
    reasons = {json.loads(r["raw"])["response_id"]: r["reason"] for r in _rejects(out)}
    for pid, rows in drawn.items():
        valid = lambda r: r["finish_reason"] == "stop" and len(r["steps"]) > 1  # noqa: E731
        right = [r for r in rows if r["is_correct"] and valid(r)]
        wrong = [r for r in rows if r["is_correct"] is False or not valid(r)]
        chosen = kept.get(pid, [])
        if not right or not wrong:  # GenPRM's "hard" / "easy" questions are not labeled
            assert not chosen
            assert {reasons[r["response_id"]] for r in rows} == {"select:hard" if not right else "select:easy"}
            continue
        good = sum(r["is_correct"] for r in chosen)
        # 2 correct + 2 valid incorrect where there are enough; short of one, filled from the other
        assert good == min(len(right), 2) or (len(chosen) == 4 and good > 2 and len(right) >= len(wrong))
        assert len(chosen) == min(4, len(right) + len([r for r in wrong if valid(r)]))
        assert all(valid(r) for r in chosen)
        chosen_ids = {r["response_id"] for r in chosen}
        assert all(r["response_id"] in reasons for r in rows if r["response_id"] not in chosen_ids)
    assert any(kept.values()) and {"select:not_chosen"} <= set(reasons.values())
    assert all(r["rows_in"] == r["rows_out"] + r["rows_rejected"] for r in _records(out))


def test_prefill_starts_every_response_and_stays_in_it(prmlabel, tmp_path):
    # GenPRM's step forcing: the answer is forced to start with "Step 1: ", which is part of the response.
    problems = _problems(prmlabel, tmp_path, count=5)
    out = tmp_path / "rollouts"
    _gen(prmlabel, problems, out, "--samples", "2", "prompt.prefill='Step 1: '", "steps.split='regex:\\n(?=Step )'")
    rows = _read(out).to_pylist()
    assert len(rows) == 10
    for row in rows:
        assert row["response"].startswith("Step 1: ") and "".join(row["steps"]) == row["response"]
        assert row["steps"][0].startswith("Step 1: ") and all(s.startswith("Step ") for s in row["steps"])


# ------------------------------------------------------------------------------------------------------
# Problems by their Hub name (hf://), from a datasets cache in tmp_path with HF_HUB_OFFLINE=1
# ------------------------------------------------------------------------------------------------------


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    from tests.hub_cache import offline_hf_home

    return offline_hf_home(tmp_path, monkeypatch)


def _gsm8k_rows(data_dir: Path, n: int) -> list[dict]:
    return [json.loads(line) for line in (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[:n]]


def test_generate_reads_a_hub_dataset_by_name(prmlabel, tmp_path, data_dir, hf_home):
    from tests.hub_cache import add_hub_dataset

    rows = _gsm8k_rows(data_dir, 8)
    rows[3] = {**rows[3], "answer": "no final answer line"}  # rejected, with the Hub name as its file
    add_hub_dataset(hf_home, "openai/gsm8k", {"test": rows, "train": rows[:2]}, config="main")
    out = tmp_path / "gsm"
    proc = _gen(prmlabel, "hf://openai/gsm8k", out, "--split", "test", "--samples", "1")
    assert "problems in        8" in proc.stdout and "problems rejected  1" in proc.stdout
    got = _read(out).to_pylist()
    assert len(got) == 7 and {r["source"] for r in got} == {"gsm8k"}  # the name picked the gsm8k preset
    assert got[0]["reference_answer"] == "18" or "18" in {r["reference_answer"] for r in got}  # Janet's ducks
    (reject,) = pq.read_table(out / "rejects").to_pylist()
    assert reject["file"] == "hf://openai/gsm8k (config main, split test)" and reject["row"] == 4
    assert reject["field"] == "answer" and "####" in reject["reason"]
    config = (out / "config.yaml").read_text()
    assert "preset: gsm8k" in config and "split: test" in config and "input_fingerprint: hf:" in config


def test_resume_refuses_a_changed_hub_dataset(prmlabel, tmp_path, data_dir, hf_home):
    from tests.hub_cache import add_hub_dataset

    rows = _gsm8k_rows(data_dir, 5)
    add_hub_dataset(hf_home, "openai/gsm8k", {"test": rows}, config="main", revision="a" * 40)
    out = tmp_path / "gsm"
    _gen(prmlabel, "hf://openai/gsm8k", out, "--samples", "1")  # one split: no --split needed
    before = _shard_bytes(out)
    again = _gen(prmlabel, "hf://openai/gsm8k", out, "--samples", "1")
    assert "0 run, 1 already done" in again.stdout and _shard_bytes(out) == before
    add_hub_dataset(hf_home, "openai/gsm8k", {"test": rows[:4]}, config="main", revision="b" * 40)
    refused = _gen(prmlabel, "hf://openai/gsm8k", out, "--samples", "1", check=False)
    assert refused.returncode == 2
    assert "input_fingerprint" in refused.stderr and "hf://openai/gsm8k" in refused.stderr
    assert _shard_bytes(out) == before


def test_a_hub_dataset_missing_from_the_cache_is_a_clear_error(prmlabel, tmp_path, hf_home):
    proc = _gen(prmlabel, "hf://HuggingFaceH4/MATH-500", tmp_path / "o", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: hf://HuggingFaceH4/MATH-500" in proc.stderr and "HF_HUB_OFFLINE=0" in proc.stderr
    assert not (tmp_path / "o" / "part-00000.parquet").exists()
