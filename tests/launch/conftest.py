"""Fixtures for running recipes: synthetic problems, a local reference run, a real SLURM cluster, a real Ray head.

SLURM and Ray are the real things, started here (Debian's slurmctld/slurmd/munge; `ray start --head`).
Where they are not installed or do not start (SLURM needs root and `make cluster-deps`), these tests SKIP
with a one-line reason, as on a user's machine under `make test`; CI lists them in PRMLABEL_REQUIRE_BACKENDS
(`slurm`, `ray`) so a broken install FAILS instead of passing as skips.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO, run_prmlabel, skip_or_fail
from tests.launch.slurm_cluster import SlurmCluster, missing_binaries

# A recipe small enough for tests: 6 problems, 2 responses each, 2 shards, on the simulator.
SMALL = ["backend=synthetic", "samples=2", "pipeline.num_shards=2"]


def parts(folder: Path) -> dict[str, bytes]:
    """stage/part-*.parquet -> bytes, for every stage of a run folder."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.glob("*/part-*.parquet"))
        if not p.parent.name.startswith("_")
    }


def rows(folder: Path) -> list[dict]:
    out: list[dict] = []
    for path in sorted(folder.glob("part-*.parquet")):
        out += pq.read_table(path).to_pylist()
    return out


@pytest.fixture(scope="session")
def problems(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("problems") / "problems.jsonl"
    run_prmlabel(["synthetic", "problems", "--count", "6", "--steps", "3-5", "--seed", "0", "-o", str(path)])
    return path


@pytest.fixture(scope="session")
def local_run(problems, tmp_path_factory) -> Path:
    """math_shepherd run locally, in-process: the reference the cluster runs must reproduce byte for byte."""
    folder = tmp_path_factory.mktemp("local") / "run"
    run_prmlabel(["run", "math_shepherd", "-i", str(problems), "-o", str(folder), *SMALL, "--no-progress"])
    return folder


@pytest.fixture(scope="session")
def slurm(tmp_path_factory) -> Iterator[SlurmCluster]:
    missing = missing_binaries()
    if missing:
        skip_or_fail(
            "slurm",
            f"SLURM is not installed ({', '.join(missing)} missing); on Debian: apt-get install "
            "--no-install-recommends slurmctld slurmd slurm-client munge",
        )
    if os.geteuid() != 0:
        skip_or_fail("slurm", "the test cluster runs slurmd as root; run the SLURM tests as root (CI does)")
    try:
        import submitit  # noqa: F401
    except ImportError as exc:
        skip_or_fail("slurm", f"submitit is not importable ({exc}); install with: pip install 'prmlabel[cluster]'")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        try:
            cluster.start()
        except RuntimeError as exc:
            skip_or_fail("slurm", f"the test SLURM cluster did not start: {exc}")
        yield cluster
    finally:
        cluster.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory) -> Iterator[str]:
    """A real Ray head (`ray start --head --block`) in its own process group; stopped by that group's id."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        skip_or_fail("ray", f"ray is not importable ({exc}); install with: pip install 'prmlabel[cluster]'")
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    log = open(temp / "ray.log", "w")  # noqa: SIM115 - closed at teardown
    ray_cli = str(Path(sys.executable).with_name("ray"))
    command = [ray_cli, "start", "--head", "--block", f"--port={port}", "--num-cpus=2", "--disable-usage-stats"]
    command += ["--include-dashboard=false", f"--temp-dir={temp}"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.Popen(command, stdout=log, stderr=log, env=env, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                skip_or_fail("ray", f"the test Ray head did not start: ray start exited {proc.returncode}; see {temp}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                skip_or_fail("ray", f"the test Ray head did not listen on port {port} within 60 s; see {temp}")
            time.sleep(0.5)
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)  # `ray start --block` stops the processes it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        time.sleep(1)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of our own group is left
        except ProcessLookupError:
            pass
        log.close()
