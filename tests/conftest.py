from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Small slices of the public data sets, with their sources and licenses (tests/data/README.md).
TEST_DATA = REPO / "tests" / "data"


def backend_required(name: str) -> bool:
    """Is ``name`` listed in PRMLABEL_REQUIRE_BACKENDS (comma or space separated; ``all`` lists every one)?

    Names in use: llamacpp, slurm, ray, chromium, vllm. `make test` requires llamacpp (`make install`
    builds it); CI (.ci/run) requires them all.
    """
    listed = os.environ.get("PRMLABEL_REQUIRE_BACKENDS", "").replace(",", " ").split()
    return name in listed or "all" in listed


def skip_or_fail(name: str, reason: str) -> None:
    """Skip with a one-line ``reason``, or fail when PRMLABEL_REQUIRE_BACKENDS names ``name``."""
    if backend_required(name):
        pytest.fail(f"{reason} (PRMLABEL_REQUIRE_BACKENDS={os.environ['PRMLABEL_REQUIRE_BACKENDS']!r} requires it)")
    pytest.skip(" ".join(reason.split()))


def run_prmlabel(args: list[str], cwd: Path | None = None, check: bool = True, timeout: float = 300):
    """Run the real command line in a subprocess, as a user would."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "prmlabel", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"prmlabel {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def prmlabel():
    return run_prmlabel


@pytest.fixture
def data_dir() -> Path:
    """tests/data: the public data slices the tests read (always there; no ../shared)."""
    return TEST_DATA
