"""One small real run for the inspect tests: synthetic rollouts, two label methods, a consensus filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_prmlabel


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inspect")
    run = root / "runs" / "r1"
    common = ["--backend", "synthetic", "--no-progress"]
    run_prmlabel(
        ["synthetic", "problems", "--count", "10", "--steps", "3-5", "--seed", "0", "-o", str(root / "p.jsonl")]
    )
    run_prmlabel(
        ["generate", "-i", str(root / "p.jsonl"), "-o", str(run / "rollouts"), "--samples", "4", "--num-shards", "2"]
        + common
    )
    for method in ("mc", "omegaprm"):
        run_prmlabel(["label", "-i", str(run / "rollouts"), "-o", str(run / method), "--method", method] + common)
    run_prmlabel(
        ["filter", "-i", str(run / "mc"), "--with", str(run / "omegaprm"), "-o", str(run / "final"), "--no-progress"]
    )
    return run
