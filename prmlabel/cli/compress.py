"""`prmlabel compress`: add merged nodes to a labels folder's search trees (HRM's node compression)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prmlabel.cli.common import (
    NoProgress,
    Output,
    Overrides,
    Overwrite,
    Shard,
    ShowConfig,
    examples,
    run_command,
)


def compress(
    overrides: Overrides = None,
    input: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            help="A labels folder from a tree labeler (`prmlabel label --method omegaprm params.mode=search`): "
            "its nodes/ table is read.",
        ),
    ] = None,
    output: Output = None,
    method: Annotated[
        str | None,
        typer.Option(
            help="hrm: HRM's hierarchical node compression (Wang et al. 2025): in every node with at least "
            "params.min_children children (4), each child in turn is merged with probability params.p (0.5) "
            "until one is; its step and its parent's become one node under the grandparent, labeled with "
            "the child's value. [default: hrm]"
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Each question's coin flips derive from (seed, problem_id). [default: 0]")
    ] = None,
    num_shards: Annotated[int | None, typer.Option("--num-shards", help="Default: the input's shard count.")] = None,
    shard: Shard = None,
    overwrite: Overwrite = False,
    show_config: ShowConfig = False,
    no_progress: NoProgress = False,
) -> None:
    """Write every tree node of the input again, plus the merged nodes of a compression method.

    Output rows have the nodes/ schema. A merged node has source "merge", the grandparent as
    parent_id, the grandparent's path as prefix_steps, the parent's and the child's steps joined as
    step, the child's values (mc, q, value_target, visits, rollouts...) and node_extra.merged_from =
    [parent, child]; its node_id follows the question's last. Input nodes are never changed. The
    summary counts the merged nodes and, for every node that could have been a merge's parent, why
    it was not (too few children, every coin flip lost, itself merged). Parameters are
    params.<key>=value (see --show-config); the same seed writes the same bytes.
    """
    run_command(
        "compress",
        "prmlabel.stages.compress:CompressStage",
        overrides,
        show_config,
        overwrite,
        no_progress,
        {
            "input": input,
            "output": output,
            "method": method,
            "seed": seed,
            "num_shards": num_shards,
            "shard": shard,
        },
    )


def register(app: typer.Typer) -> None:
    app.command(
        name="compress",
        epilog=examples(
            "prmlabel compress -i runs/r1/omegaprm -o runs/r1/hrm --method hrm",
            "prmlabel compress -i runs/r1/omegaprm -o runs/r1/hrm --method hrm --seed 1 params.p=0.5",
            "prmlabel compress -i runs/r1/omegaprm -o runs/r1/hrm params.every_node=true   # + in-place merges",
            "prmlabel compress -i runs/r1/omegaprm --show-config                         # every parameter",
        ),
    )(compress)
