"""Kill-and-resume scenarios shared by `make test` (a few kills) and `make bench` (many).

Each scenario runs a stage once without interruption (the reference), then again in a fresh folder
with SIGKILLs at seeded random moments and a re-run after each, and checks the result: the same files
byte for byte, every row once, no temporary file left in the output or the rollout cache.
The synthetic backend's ``delay`` option slows each request so kills land mid-work, not at startup.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.harness import (
    KillLog,
    cli_ok,
    differences,
    records,
    rejected_rows,
    row_ids,
    run_with_kills,
    snapshot,
    temp_files,
)

PROBLEM_ARGS = ["synthetic", "problems", "--count", "48", "--steps", "3-6", "--seed", "1", "-o", "problems.jsonl"]
GENERATE = [
    "generate", "-i", "problems.jsonl", "-o", "rollouts", "--backend", "synthetic", "--samples", "4",
    "--num-shards", "4", "--batch-size", "2", "--no-progress", "backend.options.delay=0.03",
]  # fmt: skip


def label_args(method: str, output: str) -> list[str]:
    return [
        "label", "-i", "rollouts", "-o", output, "--method", method, "--backend", "synthetic", "--no-progress",
        "--batch-size", "16", "backend.options.delay=0.01",
    ]  # fmt: skip


@dataclass
class KillResult:
    stage: str
    log: KillLog
    rows: int
    rejected: int
    reference_seconds: float
    diffs: list[str]
    duplicates: int
    missing: int
    leftover_temp: list[Path]
    accounting_errors: list[str]


def prepare(root: Path) -> tuple[Path, Path]:
    """Two folders with the same problems file: ``ref`` (uninterrupted runs) and ``killed``."""
    ref, killed = root / "ref", root / "killed"
    ref.mkdir(parents=True)
    cli_ok(PROBLEM_ARGS, ref)
    killed.mkdir()
    shutil.copy(ref / "problems.jsonl", killed / "problems.jsonl")
    return ref, killed


def kill_stage(
    stage: str,
    args: list[str],
    output: str,
    ref: Path,
    killed: Path,
    kills: int,
    seed: int,
    resume_args: list[str] | None = None,
    compare: tuple[str, ...] = ("",),
    reference_in_place: bool = False,
    resume_marker: str | None = None,
) -> KillResult:
    """Run ``args`` in ``ref`` uninterrupted and in ``killed`` with ``kills`` SIGKILLs; compare the
    ``compare`` subfolders of ``output`` (all of it by default)."""
    started = time.perf_counter()
    if reference_in_place:  # configs that hold absolute paths: write the reference where the killed run writes
        cli_ok(args, killed)
        shutil.move(killed / output, ref / output)
    else:
        cli_ok(args, ref)
    reference_seconds = time.perf_counter() - started
    rng = random.Random(seed)
    # From just after startup to near the end of an uninterrupted run: kills land in loading, work and writing.
    window = (0.3, max(0.6, 0.9 * reference_seconds))
    folders = [output + "/" + sub if sub else output for sub in compare]
    expected = {f: snapshot(ref / f) for f in folders}
    ref_ids = {(f, i) for f in folders for i in row_ids(ref / f)}
    total = KillLog()
    result: KillResult | None = None
    # A resumed run is shorter than a fresh one and may finish before its kill; start over in a clean
    # folder (rounds) until enough kills have landed. Every round is checked, not only the last.
    while total.kills < kills:
        shutil.rmtree(killed / output, ignore_errors=True)
        shutil.rmtree(killed / "_rollout_cache", ignore_errors=True)
        cache = killed / "_rollout_cache"  # a recipe's cache is inside its run folder, removed with it
        log = run_with_kills(
            args,
            killed,
            killed / folders[-1],
            rng,
            window,
            kills - total.kills,
            watch=(cache,),
            resume_args=resume_args,
            resume_marker=killed / output / resume_marker if resume_marker else None,
        )
        total.add(log)
        ids = [(f, i) for f in folders for i in row_ids(killed / f)]  # a response id is once per stage
        accounting = [
            f"{f} shard {r['shard']}: {r['rows_in']} in != {r['rows_out']} out + {r['rows_rejected']} rejected"
            for f in folders
            for r in records(killed / f)
            if r["rows_in"] != r["rows_out"] + r["rows_rejected"]
        ]
        result = KillResult(
            stage=stage,
            log=total,
            rows=len(ids),
            rejected=sum(rejected_rows(killed / f) for f in folders),
            reference_seconds=reference_seconds,
            diffs=[d for f in folders for d in differences(expected[f], snapshot(killed / f))],
            duplicates=len(ids) - len(set(ids)),
            missing=len(set(ref_ids) - set(ids)),
            leftover_temp=temp_files(killed / output, cache),  # the whole run folder for a recipe
            accounting_errors=accounting,
        )
        check(result)
    assert result is not None
    return result


def check(result: KillResult) -> None:
    assert result.log.kills > 0, f"{result.stage}: no kill landed while the stage ran"
    assert result.diffs == [], f"{result.stage}: resumed output differs from an uninterrupted run: {result.diffs}"
    assert result.duplicates == 0 and result.missing == 0, result
    assert result.leftover_temp == [], f"{result.stage}: temporary files left: {result.leftover_temp}"
    assert result.accounting_errors == [], result.accounting_errors
    assert result.rows > 0


def filter_args(method: str, output: str) -> list[str]:
    return ["filter", "-i", "labels-omegaprm", "-o", output, "--method", method, "--no-progress"]


def generate_then_label(
    root: Path,
    kills_per_stage: int,
    seed: int,
    methods: tuple[str, ...],
    filters: tuple[str, ...] = (),
    filter_kills: int | None = None,
) -> list[KillResult]:
    """generate, then label by each method, then filter the omegaprm labels by each filter chain;
    each stage killed ``kills_per_stage`` times (filters ``filter_kills``)."""
    ref, killed = prepare(root)
    results = [kill_stage("generate", GENERATE, "rollouts", ref, killed, kills_per_stage, seed)]
    check(results[0])
    for offset, method in enumerate(methods, start=1):
        output = f"labels-{method}"
        result = kill_stage(
            f"label --method {method}", label_args(method, output), output, ref, killed, kills_per_stage, seed + offset
        )
        check(result)
        results.append(result)
    for offset, chain in enumerate(filters, start=100):
        output = "filtered-" + chain.replace(",", "-")
        kills = kills_per_stage if filter_kills is None else filter_kills
        result = kill_stage(
            f"filter --method {chain}", filter_args(chain, output), output, ref, killed, kills, seed + offset
        )
        check(result)
        results.append(result)
    return results


def table(results: list[KillResult]) -> str:
    lines = [
        "| stage | kills landed | runs | shards done at each kill | temp files found at kills "
        "| rows | rejected | rows lost | duplicates | files differing | temp files left |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.stage} | {r.log.kills} | {r.log.runs} | {','.join(map(str, r.log.shards_done_at_kill))} "
            f"| {r.log.temp_files_at_kill} | {r.rows} | {r.rejected} | {r.missing} | {r.duplicates} "
            f"| {len(r.diffs)} | {len(r.leftover_temp)} |"
        )
    return "\n".join(lines)


RECIPE = ["run", "math_shepherd", "-i", "problems.jsonl", "-o", "run", "--no-progress", "backend=synthetic",
          "backend.options.delay=0.005"]  # fmt: skip


def run_recipe(root: Path, kills: int, seed: int) -> KillResult:
    """A whole `prmlabel run math_shepherd` (generate -> mc) killed, resumed with ``--resume``.

    Its stage folders are compared. Stage configs hold absolute paths, so the reference is written in
    the same place and moved aside before the killed runs start."""
    ref, killed = prepare(root)
    result = kill_stage(
        "run math_shepherd",
        RECIPE,
        "run",
        ref,
        killed,
        kills,
        seed,
        [*RECIPE, "--resume"],
        ("generate", "mc"),
        True,
        "run.yaml",
    )
    check(result)
    return result
