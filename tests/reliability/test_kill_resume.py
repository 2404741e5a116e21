"""Part 1: stages killed with SIGKILL at seeded random moments resume to byte-identical output.

The quick share for `make test`: generate and `label --method omegaprm` on the synthetic backend,
3 kills each, and `filter --method prof,dedup,balance` on the labels, 2 kills. `make bench`
(tests/bench/reliability.py) runs more kills over more stages.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import yaml

from tests.reliability.harness import cli_ok, differences, snapshot, temp_files
from tests.reliability.kill_scenarios import GENERATE, check, generate_then_label, kill_stage, label_args, prepare


def test_generate_and_omegaprm_label_survive_sigkill(tmp_path: Path) -> None:
    results = generate_then_label(
        tmp_path, kills_per_stage=3, seed=2024, methods=("omegaprm",), filters=("prof,dedup,balance",), filter_kills=2
    )
    assert sum(r.log.kills for r in results) >= 8
    assert [r.missing for r in results] == [0, 0, 0]


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped), as a killed run's would be."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_resume_repairs_what_a_kill_between_two_writes_leaves(tmp_path: Path) -> None:
    """States too narrow for a random kill to hit often, made by hand: a shard's files renamed but not
    its record, half-written files in the output and in the rollout cache, and the manifest without
    config.yaml (which older code could leave). A re-run must finish to the same bytes, restore
    config.yaml, and remove every temporary file except a live writer's."""
    ref, killed = prepare(tmp_path)
    generate = [a for a in GENERATE if not a.startswith("backend.options.delay")]  # no kill here: full speed
    label = [a for a in label_args("omegaprm", "labels") if not a.startswith("backend.options.delay")]
    for cwd in (ref, killed):
        cli_ok(generate, cwd)
        cli_ok(label, cwd)
    pid = dead_pid()
    time.sleep(0.1)
    (killed / "rollouts" / "config.yaml").unlink()
    (killed / "rollouts" / "_records" / "part-00002.json").unlink()
    (killed / "rollouts" / f".part-00002.parquet.tmp-{pid}").write_bytes(b"PAR1 half")
    (killed / "rollouts" / "rejects" / f".part-00002.parquet.tmp-{pid}").write_bytes(b"")
    (killed / "labels" / "_records" / "part-00001.json").unlink()
    [cache] = list((killed / "_rollout_cache").glob("*/n4-part-00001"))
    (cache / f".0123.parquet.tmp-{pid}").write_bytes(b"PAR1 cut")
    (cache / f".4567.parquet.tmp-{os.getpid()}").write_bytes(b"a live writer's file")  # must be kept
    cli_ok(generate, killed)
    cli_ok(label, killed)
    # A folder written before config.yaml came first has only the manifest's (key-sorted) copy to restore.
    config = snapshot(ref / "rollouts").pop("config.yaml")
    assert yaml.safe_load((killed / "rollouts" / "config.yaml").read_bytes()) == yaml.safe_load(config)
    assert differences(snapshot(ref / "rollouts"), snapshot(killed / "rollouts")) == ["differs config.yaml"]
    assert differences(snapshot(ref / "labels"), snapshot(killed / "labels")) == []
    assert temp_files(killed / "rollouts", killed / "labels") == []
    assert [p.name for p in temp_files(killed / "_rollout_cache")] == [f".4567.parquet.tmp-{os.getpid()}"]


def test_a_tree_method_killed_resumes_to_the_same_labels_and_nodes(tmp_path: Path) -> None:
    """OmegaPRM's per-question search writes nodes/ beside its labels: after SIGKILLs, both are the bytes
    of an uninterrupted run (a shard's record is written after all its tables, so a kill redoes it)."""
    ref, killed = prepare(tmp_path)
    generate = [a for a in GENERATE if not a.startswith("backend.options.delay")]  # no kill here: full speed
    for cwd in (ref, killed):
        cli_ok(generate, cwd)
    search = ["params.mode=search", "params.split=double_newline", "params.search_limit=10"]
    result = kill_stage("label --method omegaprm (search)", [*label_args("omegaprm", "trees"), *search], "trees",
                        ref, killed, kills=3, seed=2025)  # fmt: skip
    check(result)
    nodes = [name for name in snapshot(ref / "trees") if name.startswith("nodes/")]
    assert len(nodes) == 4  # one nodes shard per labels shard, compared byte for byte above
