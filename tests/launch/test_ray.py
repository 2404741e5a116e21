"""A recipe on a real local Ray head (started by the fixture): one task per shard, output byte-identical
to the local run."""

from __future__ import annotations

from tests.conftest import run_prmlabel
from tests.launch.conftest import SMALL, parts


def test_recipe_on_a_ray_head_writes_the_local_output(ray_head, problems, local_run, tmp_path):
    run = tmp_path / "run"
    ray = ["pipeline=ray", f"pipeline.address={ray_head}", "pipeline.poll_seconds=0.2"]
    proc = run_prmlabel(["run", "math_shepherd", "-i", str(problems), "-o", str(run), *SMALL, *ray, "--no-progress"])
    assert f"submitted generate: 2 Ray task(s) to {ray_head}" in proc.stdout
    assert f"submitted mc: 2 Ray task(s) to {ray_head}" in proc.stdout
    assert parts(run) == parts(local_run) and len(parts(run)) == 4
    # a second run of the same folder has nothing left to do and submits nothing
    again = run_prmlabel(["run", "--resume", "-o", str(run), "--no-progress"])
    assert "submitted" not in again.stdout and parts(run) == parts(local_run)
