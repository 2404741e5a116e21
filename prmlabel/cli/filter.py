"""`prmlabel filter`: keep or drop labeled responses by a paper's rule, writing why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prmlabel.cli.common import (
    NoProgress,
    NumShards,
    Output,
    Overrides,
    Overwrite,
    Seed,
    Shard,
    ShowConfig,
    examples,
    run_command,
)

FILTERS_HELP = (
    "consensus (Qwen 'Lessons': keep where the MC first error equals the judge's, hard labels; needs --with), "
    "scan (SCAN: confident questions, tolerance soft labels, 1:1 balance), prof (PROF: drop the k least "
    "process-consistent responses per problem), balance (subsample to a positive:negative ratio), dedup "
    "(one row per problem and response text). A comma list applies them in order, e.g. consensus,dedup,balance."
)


def filter_(
    overrides: Overrides = None,
    input: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="A labels folder (from `prmlabel label`) or an earlier filter's output."),
    ] = None,
    with_: Annotated[
        Path | None,
        typer.Option("--with", help="A second labels folder to compare with (consensus: the judge's labels)."),
    ] = None,
    output: Output = None,
    method: Annotated[str | None, typer.Option(help="Filter(s): " + FILTERS_HELP + " [default: consensus]")] = None,
    tolerance: Annotated[
        int | None, typer.Option(help="scan: steps before the first error whose label is softened (d). [default: 2]")
    ] = None,
    min_confidence: Annotated[
        float | None, typer.Option(help="scan: keep questions whose pass rate is at least this. [default: 0.75]")
    ] = None,
    seed: Seed = None,
    num_shards: NumShards = None,
    shard: Shard = None,
    overwrite: Overwrite = False,
    show_config: ShowConfig = False,
    no_progress: NoProgress = False,
) -> None:
    """Decide for every labeled response whether to keep it, and write its final labels.

    Every input row is written with keep, reason (the rule that kept or dropped it), labels_final
    (the labels a trainer should see, covering steps[:len(labels_final)]), label_kind (hard/soft),
    weight, filter_chain and filter_extra (what each rule computed). Dropped rows stay, with
    keep=false, so DuckDB can count why. Filter parameters are params.<filter>.<key>=value.
    """
    run_command(
        "filter",
        "prmlabel.stages.filter:FilterStage",
        overrides,
        show_config,
        overwrite,
        no_progress,
        {
            "input": input,
            "with": with_,
            "output": output,
            "method": method,
            "params.scan.tolerance": tolerance,
            "params.scan.min_confidence": min_confidence,
            "seed": seed,
            "num_shards": num_shards,
            "shard": shard,
        },
    )


def register(app: typer.Typer) -> None:
    app.command(
        name="filter",
        epilog=examples(
            "prmlabel filter -i runs/r1/mc --with runs/r1/judge -o runs/r1/final --method consensus",
            "prmlabel filter -i runs/r1/scan -o runs/r1/final --method scan --tolerance 2 --min-confidence 0.75",
            "prmlabel filter -i runs/r1/mc -o runs/r1/prof --method prof params.prof.k=4",
            "prmlabel filter -i runs/r1/final -o runs/r1/balanced --method dedup,balance params.balance.ratio=1.0",
            "prmlabel filter --method consensus --show-config -i runs/r1/mc --with runs/r1/judge",
        ),
    )(filter_)
