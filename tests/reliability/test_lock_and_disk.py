"""Part 5: two processes on one output folder, and a disk that fills up mid-run.

The full disk is a real small file system: a tmpfs mounted by the test (root, or a container allowed
to mount). Where mounting is not permitted the test skips and says so; docs/reliability.md says how
to run it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.harness import cli, cli_env, cli_ok, differences, records, snapshot, temp_files

PROBLEMS = ["synthetic", "problems", "--count", "300", "--steps", "4-8", "--seed", "3", "-o", "problems.jsonl"]


def generate(*extra: str) -> list[str]:
    return ["generate", "-i", "problems.jsonl", "-o", "rollouts", "--backend", "synthetic", "--samples", "4",
            "--num-shards", "4", "--no-progress", *extra]  # fmt: skip


def test_second_process_on_one_folder_is_refused(tmp_path: Path) -> None:
    cli_ok(PROBLEMS, tmp_path)
    slow = generate("--batch-size", "4", "backend.options.delay=0.01")
    first = subprocess.Popen(
        [sys.executable, "-m", "prmlabel", *slow], cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "rollouts" / ".lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert first.poll() is None, "the first run ended before the second could start"
        second = cli(slow, tmp_path)
        assert first.poll() is None, "the first run must still be running for this test to mean anything"
        assert second.returncode == 2
        assert "is being written by another prmlabel process" in second.stderr
        assert "write to another --output folder" in second.stderr
        out, _ = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0
    assert "4 run, 0 already done, of 4" in out
    assert sum(r["rows_in"] for r in records(tmp_path / "rollouts")) == 300


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({proc.stderr.strip()}); run as root to test a full disk")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_fails_the_shard_cleanly_and_a_rerun_completes(tmp_path: Path, small_disk: Path) -> None:
    ref = tmp_path / "ref"
    ref.mkdir()
    cli_ok(PROBLEMS, ref)
    cli_ok(generate(), ref)
    needed = sum(p.stat().st_size for p in (ref / "rollouts").rglob("*") if p.is_file())
    shutil.copy(ref / "problems.jsonl", small_disk / "problems.jsonl")
    # Fill the disk so that about half of the output fits.
    free = shutil.disk_usage(small_disk).free
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * max(0, free - needed // 2))

    failed = cli(generate(), small_disk)
    assert failed.returncode == 2, failed.stderr
    assert "Traceback" not in failed.stderr
    message = failed.stderr.strip().splitlines()[-1]
    assert message.startswith("error: no space left on the device") and "run the same command again" in message
    done = records(small_disk / "rollouts")
    assert len(done) < 4
    assert temp_files(small_disk / "rollouts") == [], "a failed write left a temporary file"

    filler.unlink()
    resumed = cli_ok(generate(), small_disk)
    assert f"{len(done)} already done, of 4" in resumed.stdout
    assert differences(snapshot(ref / "rollouts"), snapshot(small_disk / "rollouts")) == []
    assert temp_files(small_disk / "rollouts") == []
