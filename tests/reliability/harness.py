"""What the reliability tests share: run the real CLI, kill it at seeded random moments, compare folders.

A "kill" is SIGKILL to the prmlabel process at a moment drawn from a seeded ``random.Random``, so a
failing schedule can be replayed. After each kill the test records what the killed run left behind
(finished shards, temporary files), then re-runs the same command; the final folder is compared file
by file with a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
TEMP_GLOB = ".*.tmp-*"  # how store.py and engine/cache.py name files that are not yet renamed into place
# Files whose content legitimately differs between an interrupted and an uninterrupted run.
NOT_COMPARED = {".lock"}
RECORD_FIELDS = ("shard", "rows_in", "rows_out", "rows_rejected", "rows_written", "bytes")


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}


def cli(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``prmlabel ARGS`` to completion, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "prmlabel", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_ok(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = cli(args, cwd, timeout)
    if proc.returncode != 0:
        raise AssertionError(f"prmlabel {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def temp_files(*folders: Path) -> list[Path]:
    """Half-written files (store and rollout cache name them ``.<name>.tmp-<pid>``)."""
    found: list[Path] = []
    for folder in folders:
        if folder.exists():
            found += [p for p in folder.rglob(TEMP_GLOB) if p.is_file()]
    return sorted(found)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder as bytes, except locks and completion records (which hold seconds);
    records are reduced to their row counts and byte sizes, which must match exactly."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if not path.is_file() or path.name in NOT_COMPARED or rel.startswith("_locks/"):
            continue
        if rel.startswith("_records/"):
            record = json.loads(path.read_text(encoding="utf-8"))
            out[rel] = json.dumps({k: record[k] for k in RECORD_FIELDS}, sort_keys=True).encode()
        else:
            out[rel] = path.read_bytes()
    return out


def differences(expected: dict[str, bytes], actual: dict[str, bytes]) -> list[str]:
    diffs = [f"missing {name}" for name in sorted(set(expected) - set(actual))]
    diffs += [f"extra {name}" for name in sorted(set(actual) - set(expected))]
    diffs += [f"differs {name}" for name in sorted(set(expected) & set(actual)) if expected[name] != actual[name]]
    return diffs


def row_ids(folder: Path, key: str = "response_id") -> list[str]:
    ids: list[str] = []
    for path in sorted(folder.glob("part-*.parquet")):
        ids += pq.read_table(path, columns=[key]).column(key).to_pylist()
    return ids


def rejected_rows(folder: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in sorted((folder / "rejects").glob("part-*.parquet")))


def records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "_records").glob("*.json"))]


@dataclass
class KillLog:
    """What the kills hit: how many landed while the stage ran, and what each one left behind."""

    kills: int = 0
    runs: int = 0
    finished_before_kill: int = 0
    shards_done_at_kill: list[int] = field(default_factory=list)
    temp_files_at_kill: int = 0
    kill_seconds: list[float] = field(default_factory=list)

    def add(self, other: KillLog) -> None:
        self.kills += other.kills
        self.runs += other.runs
        self.finished_before_kill += other.finished_before_kill
        self.shards_done_at_kill += other.shards_done_at_kill
        self.temp_files_at_kill += other.temp_files_at_kill
        self.kill_seconds += other.kill_seconds


def run_with_kills(
    args: list[str],
    cwd: Path,
    output: Path,
    rng: random.Random,
    window: tuple[float, float],
    max_kills: int,
    watch: tuple[Path, ...] = (),
    timeout: float = 300,
    resume_args: list[str] | None = None,
    resume_marker: Path | None = None,
) -> KillLog:
    """Start ``prmlabel ARGS``, SIGKILL it at a random moment in ``window`` (seconds after start), re-run,
    and repeat until a run finishes on its own or ``max_kills`` kills landed; then run it to the end.

    ``watch`` names extra folders (the rollout cache) whose temporary files are counted at each kill.
    ``resume_args`` replaces ``args`` once ``resume_marker`` exists, as a user follows the messages:
    ``prmlabel run`` wants ``--resume`` for a folder with a run.yaml, and no ``--resume`` before.
    """

    def argv() -> list[str]:
        if resume_args is not None and (resume_marker is None or resume_marker.exists()):
            return resume_args
        return args

    log = KillLog()
    while log.kills < max_kills:
        at = rng.uniform(*window)
        launched = args if log.runs == 0 else argv()
        proc = subprocess.Popen(
            [sys.executable, "-m", "prmlabel", *launched],
            cwd=cwd,
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        log.runs += 1
        try:
            proc.wait(timeout=at)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)  # the stage itself, as the OOM killer or a lost node would
            proc.wait()
            _reap_group(proc.pid)
            log.kills += 1
            log.kill_seconds.append(round(at, 3))
            log.shards_done_at_kill.append(len(list((output / "_records").glob("*.json"))))
            log.temp_files_at_kill += len(temp_files(output, *watch))
            continue
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise AssertionError(
                f"prmlabel {' '.join(launched)} failed ({proc.returncode}) after {log.kills} kills:\n{stderr}"
            )
        log.finished_before_kill += 1
        return log
    cli_ok(argv(), cwd, timeout)
    log.runs += 1
    return log


def _reap_group(pgid: int) -> None:
    """Kill what the stage left in its session (verifier workers exit on their own; don't wait on it)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    time.sleep(0.05)
