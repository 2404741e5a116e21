"""A recipe on a real single-node SLURM cluster (started by the fixture): job arrays chained shard by shard
(aftercorr), one task cancelled and one requeued while running, and --resume finishing the run with
shards byte-identical to the local run."""

from __future__ import annotations

import json
import time

from tests.conftest import run_prmlabel
from tests.launch.conftest import SMALL, parts

SLURM = ["pipeline=slurm", "pipeline.mem_gb=1", "pipeline.time_min=5", "pipeline.poll_seconds=0.5"]
ACTIVE = ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED")


def _jobs(run):
    return json.loads((run / "_launch" / "slurm.json").read_text())


def _states(slurm, job_id):
    out = slurm.run("squeue", "-h", "-r", "-t", "all", "-j", job_id, "-o", "%i|%T").stdout.split()
    return dict(line.split("|") for line in out)


def _wait(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _row(status: str, stage: str) -> list[str]:
    return next(line.split() for line in status.split("\n") if line.strip().startswith(f"{stage} "))


def test_job_arrays_with_a_cancelled_and_a_requeued_task_resume_to_the_local_output(
    slurm, problems, local_run, tmp_path, monkeypatch
):
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    run = tmp_path / "run"
    # Each task sleeps 2 s before its shards (a pipeline `setup` line), so a running task can be hit mid-way.
    slow = ["pipeline.wait=false", "pipeline.setup=[sleep 2]"]
    proc = run_prmlabel(["run", "math_shepherd", "-i", str(problems), "-o", str(run), *SMALL, *SLURM, *slow])
    stages = _jobs(run)[0]["stages"]
    generate, mc = stages["generate"], stages["mc"]
    assert generate["array"] and len(generate["task_ids"]) == 2 and generate["groups"] == [[0], [1]]
    assert mc["dependency"] == f"aftercorr:{generate['job_id']}"  # shard i is labeled as soon as it is generated
    assert f"submitted mc: job {mc['job_id']}, 2 task(s), after aftercorr:{generate['job_id']}" in proc.stdout

    mc_id = mc["job_id"]
    _wait(lambda: _states(slurm, mc_id).get(f"{mc_id}_0") == "RUNNING", "mc task 0 to run")
    slurm.run("scancel", f"{mc_id}_0")  # killed mid-way: shard 0 is never written
    _wait(lambda: _states(slurm, mc_id).get(f"{mc_id}_1") == "RUNNING", "mc task 1 to run")
    slurm.run("scontrol", "requeue", f"{mc_id}_1")  # requeued mid-way: SLURM runs it again and it finishes
    _wait(lambda: not [s for s in _states(slurm, mc_id).values() if s in ACTIVE], "the arrays to finish")

    status = run_prmlabel(["status", str(run)]).stdout
    assert _row(status, "generate")[2:7] == ["2/2", "0", "0", "0", "6"], status
    assert _row(status, "mc")[3:7] == ["1/2", "0", "1", "0"], status  # done, running, failed, pending
    assert f"mc: job {mc_id}" in status and "0=CANCELLED" in status and "1=COMPLETED" in status
    assert not (run / "mc" / "_records" / "part-00000.json").exists()

    proc = run_prmlabel(["run", "--resume", "-o", str(run), "pipeline.wait=true", "pipeline.setup=[]", "--no-progress"])
    assert "submitted mc:" in proc.stdout and "submitted generate" not in proc.stdout  # only what is left
    assert _jobs(run)[1]["stages"]["mc"]["groups"] == [[0]]
    assert parts(run) == parts(local_run) and len(parts(run)) == 4
