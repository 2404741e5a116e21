"""`prmlabel run` on this machine: the frozen plan, workers, resume, and what it refuses."""

from __future__ import annotations

import json

import yaml

from prmlabel.launch.plan import code_fingerprint, code_hashes
from tests.conftest import run_prmlabel
from tests.launch.conftest import SMALL, parts, rows


def test_run_freezes_every_stage_config_and_accounts_for_every_row(local_run, problems):
    plan = yaml.safe_load((local_run / "run.yaml").read_text())
    assert list(plan["stages"]) == ["generate", "mc"] and plan["input"] == str(problems)
    for stage in ("generate", "mc"):
        manifest = json.loads((local_run / stage / "manifest.json").read_text())
        assert manifest["fingerprint"] == plan["stages"][stage]["fingerprint"]  # written by the frozen config
        assert manifest["config"]["num_shards"] == 2
    assert plan["stages"]["mc"]["config"]["input_fingerprint"] == plan["stages"]["generate"]["fingerprint"]
    assert plan["stages"]["mc"]["config"]["params"]["k"] == 8  # Math-Shepherd's N
    labels = rows(local_run / "mc")
    assert len(labels) == 12 and all(r["label_cost"]["rollouts"] > 0 for r in labels)
    for stage in ("generate", "mc"):
        for record in (local_run / stage / "_records").glob("*.json"):
            r = json.loads(record.read_text())
            assert r["rows_in"] == r["rows_out"] + r["rows_rejected"]


def test_workers_write_the_same_bytes_as_one_process(problems, local_run, tmp_path):
    run = tmp_path / "run"
    run_prmlabel(["run", "math_shepherd", "-i", str(problems), "-o", str(run), *SMALL, "pipeline.workers=2"])
    assert sorted(p.name for p in (run / "_launch" / "local").iterdir()) == [
        "generate-worker0.log",
        "generate-worker1.log",
        "mc-worker0.log",
        "mc-worker1.log",
    ]
    assert parts(run) == parts(local_run)


def test_resume_redoes_only_the_lost_shard_and_refuses_a_changed_config(problems, local_run, tmp_path):
    run = tmp_path / "run"
    run_prmlabel(["run", "math_shepherd", "-i", str(problems), "-o", str(run), *SMALL, "--no-progress"])
    (run / "mc" / "_records" / "part-00001.json").unlink()  # as if killed before shard 1 committed
    (run / "mc" / "part-00001.parquet").unlink()
    again = run_prmlabel(["run", "math_shepherd", "-i", str(problems), "-o", str(run), *SMALL], check=False)
    assert again.returncode == 2 and "already holds a run; continue it with --resume" in again.stderr
    resumed = run_prmlabel(["run", "--resume", "-o", str(run), "--no-progress"])
    assert "[2/2] mc: prmlabel label (1 of 2 shards to run)" in resumed.stdout
    assert parts(run) == parts(local_run)
    changed = run_prmlabel(["run", "--resume", "-o", str(run), "samples=3"], check=False)
    assert changed.returncode == 2
    assert "generate: samples: 2 -> 3" in changed.stderr and "Resume with the original settings" in changed.stderr


def test_a_task_refuses_to_run_after_the_code_changed(local_run, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.yaml").write_text((local_run / "run.yaml").read_text())
    code = json.loads((local_run / "_launch" / "code.json").read_text())
    code["stages/label.py"] = "0" * 16  # the run was frozen with another label.py
    (run / "_launch").mkdir()
    (run / "_launch" / "code.json").write_text(json.dumps(code))
    plan = yaml.safe_load((run / "run.yaml").read_text())
    plan["code_fingerprint"] = "frozen-elsewhere"
    (run / "run.yaml").write_text(yaml.safe_dump(plan))
    proc = run_prmlabel(["task", str(run), "generate", "--shards", "0"], check=False)
    assert proc.returncode == 2 and "code changed" in proc.stderr and "stages/label.py" in proc.stderr
    assert not (run / "generate").exists()


def test_a_task_refuses_when_its_input_shard_is_not_done(local_run, tmp_path):
    run = tmp_path / "run"
    (run / "_launch").mkdir(parents=True)
    plan = yaml.safe_load((local_run / "run.yaml").read_text())
    hashes = code_hashes()  # frozen with today's code: this test is about the input, not the code
    plan["code_fingerprint"] = code_fingerprint(hashes)
    (run / "run.yaml").write_text(yaml.safe_dump(plan))
    (run / "_launch" / "code.json").write_text(json.dumps(hashes))
    proc = run_prmlabel(["task", str(run), "mc", "--shards", "1"], check=False)
    assert proc.returncode == 2 and "needs shards [1] of generate, which are not finished" in proc.stderr
