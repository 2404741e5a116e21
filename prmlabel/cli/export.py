"""`prmlabel export`: labels -> the file a trainer reads (TRL, OpenRLHF, Math-Shepherd, FoVer, jsonl, hf)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prmlabel.cli.common import examples, fail

FORMAT_HELP = (
    "trl (prompt, completions, labels: bool), openrlhf (input with ки after each step, value: +/- or floats), "
    "math-shepherd (input/label with ки and +/-), fover (problem, solution_steps, error_labels), "
    "jsonl (TRL columns plus ids, soft floats kept), hf (a `datasets` folder with a dataset card); "
    "with --nodes: trl, openrlhf, values (prompt, prefix_steps, step, value: value regression)."
)


def export(
    input: Annotated[
        Path, typer.Option("--input", "-i", help="A labels folder (`prmlabel label`) or labeled folder (`filter`).")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write (.parquet or .jsonl); a folder for --format hf.")
    ],
    format: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "trl",
    soft: Annotated[
        bool,
        typer.Option(
            "--soft",
            help="From a labels folder: export the per-step values (probabilities; verdicts as 0/1; "
            "ratios need --threshold; advantages and scores are refused), not hard labels.",
        ),
    ] = False,
    threshold: Annotated[
        float | None,
        typer.Option(help="Turn soft labels into true/false: a step is positive when its value >= T."),
    ] = None,
    nodes: Annotated[
        bool,
        typer.Option(
            "--nodes",
            help="Export a search tree's nodes (-i a labels folder with nodes/, or a `compress` folder): one "
            "example per node; trl needs --threshold, openrlhf writes the values, values the (prefix, value) rows.",
        ),
    ] = False,
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", help="Share of problems (not rows) for a validation file.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the train/validation split.")] = 0,
    push_to_hub: Annotated[
        str | None,
        typer.Option(
            "--push-to-hub",
            metavar="USER/NAME",
            help="--format hf: then upload the folder to this Hub dataset repository (created if missing). "
            "The token is HF_TOKEN or `hf auth login`'s.",
        ),
    ] = None,
    private: Annotated[
        bool, typer.Option("--private", help="With --push-to-hub: create the repository private.")
    ] = False,
    placeholder: Annotated[
        str | None,
        typer.Option(
            "--placeholder",
            metavar="TOKEN",
            help="openrlhf, math-shepherd: the tag after each step (default ки, Math-Shepherd's); it must be one "
            "token of the model's tokenizer (pass the same to OpenRLHF's --placeholder_token).",
        ),
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            "--tokenizer",
            metavar="NAME_OR_PATH",
            help="Check that the placeholder (and + / -) is one token in this tokenizer (a Hub model name, a "
            "folder or a tokenizer.json); the error names a single-token alternative.",
        ),
    ] = None,
) -> None:
    """Write labeled responses in the format a PRM trainer reads, split by problem.

    From a filtered folder only kept rows are written (dropped ones are counted by reason). An
    undecided (null) label is never written as a positive or a negative: the response is cut before
    it (FoVer writes null). --soft writes values only where the labeler's value_kind allows:
    probabilities as is, verdicts as 0/1, RPE's ratios only with --threshold; PAV's advantages and
    GroundedPRM's scores are refused (export their hard labels). Soft labels into TRL, Math-Shepherd
    or FoVer need --threshold, because those formats hold true/false and TRL floors float labels to
    0. A summary lists rows in, written, skipped by reason (and steps cut or written as null) and
    the split sizes; <OUT-stem>.export.json keeps the options and counts. --format hf writes a
    dataset card (origin, counts, undecided steps, cost, parameters); --push-to-hub uploads the folder
    with huggingface_hub (a failed upload leaves the folder complete and prints the command to retry).
    --nodes exports a search tree's node table instead (one example per node, docs/export/values.md).
    """
    from prmlabel.cli.common import _user_errors
    from prmlabel.export import hf
    from prmlabel.stages.export import run_export

    if nodes or format == "values":
        _export_nodes(input, output, format, nodes, threshold, val_fraction, seed, placeholder, tokenizer, push_to_hub)
        return
    try:
        if push_to_hub is not None:
            if format != "hf":
                raise ValueError(f"--push-to-hub uploads a --format hf folder; this export is --format {format}")
            hf.check_repo_id(push_to_hub)
        elif private:
            raise ValueError("--private goes with --push-to-hub USER/NAME")
        summary = run_export(
            input,
            output,
            format,
            soft,
            threshold,
            val_fraction,
            seed,
            hub_repo=push_to_hub,
            placeholder=placeholder,
            tokenizer=tokenizer,
        )
    except (*_user_errors(), ValueError) as exc:
        fail(str(exc))
    lines: dict[str, object] = {
        "rows in": f"{summary.rows_in} ({summary.kind} folder)",
        "exported": summary.train_rows + summary.validation_rows,
        "  train": f"{summary.train_rows} rows, {summary.train_problems} problems",
    }
    if summary.validation_rows or summary.validation_problems:
        lines["  validation"] = f"{summary.validation_rows} rows, {summary.validation_problems} problems"
    lines["skipped"] = sum(summary.skipped.values())
    for reason, n in sorted(summary.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
        lines[f"  {reason}"] = n
    if summary.cut:
        lines["cut at undecided"] = (
            f"{summary.cut} rows written up to their first undecided step ({summary.steps_cut} steps left out)"
        )
    if summary.null_steps:
        lines["undecided as null"] = f"{summary.null_steps} steps written as null (the format's 'no label')"
    kind = "floats" if summary.float_labels else "true/false"
    lines["steps"] = f"{summary.positive_steps} positive, {summary.negative_steps} negative ({kind})"
    lines["wrote"] = ", ".join(summary.outputs)
    width = max(len(k) for k in lines)
    typer.echo(f"\nexport summary ({format})")
    for key, value in lines.items():
        typer.echo(f"  {key:<{width}}  {value}")
    if push_to_hub is not None:
        try:
            url = hf.push_to_hub(output, push_to_hub, private)
        except hf.PushError as exc:
            fail(str(exc), code=1)
        typer.echo(f"  pushed to {url} ({'private' if private else 'public'} dataset)")


def _export_nodes(
    input: Path,
    output: Path,
    format: str,
    nodes: bool,
    threshold: float | None,
    val_fraction: float,
    seed: int,
    placeholder: str | None,
    tokenizer: str | None,
    push_to_hub: str | None,
) -> None:
    """``--nodes``: every node of a search tree as an example (prmlabel.stages.export_nodes); --soft is implied."""
    from prmlabel.cli.common import _user_errors
    from prmlabel.stages.export_nodes import run_node_export, summary_lines

    try:
        if not nodes:
            raise ValueError("--format values writes the nodes of a search tree: add --nodes")
        if push_to_hub is not None:
            raise ValueError("--push-to-hub uploads a --format hf folder; --nodes writes trl, openrlhf or values")
        summary = run_node_export(input, output, format, threshold, val_fraction, seed, placeholder, tokenizer)
    except (*_user_errors(), ValueError) as exc:
        fail(str(exc))
    lines = summary_lines(summary)
    width = max(len(k) for k in lines)
    typer.echo(f"\nexport summary ({format}, --nodes)")
    for key, value in lines.items():
        typer.echo(f"  {key:<{width}}  {value}")


def register(app: typer.Typer) -> None:
    app.command(
        name="export",
        epilog=examples(
            "prmlabel export -i runs/r1/final -o prm_train.parquet --format trl",
            "prmlabel export -i runs/r1/final -o prm.jsonl --format openrlhf --val-fraction 0.05 --seed 0",
            "prmlabel export -i runs/r1/final -o prm.jsonl --format openrlhf --tokenizer HuggingFaceTB/SmolLM2-135M "
            "--placeholder '<empty_output>'   # ки is two tokens there",
            "prmlabel export -i runs/r1/mc -o mc_soft.jsonl --format openrlhf --soft      # MC values as floats",
            "prmlabel export -i runs/r1/mc -o mc.parquet --format trl --soft --threshold 0.5",
            "prmlabel export -i runs/r1/final -o math_shepherd.jsonl --format math-shepherd",
            "prmlabel export -i runs/r1/final -o fover.jsonl --format fover",
            "prmlabel export -i runs/r1/final -o prm_dataset --format hf --val-fraction 0.1",
            "prmlabel export -i runs/r1/final -o prm_dataset --format hf --push-to-hub me/prm-labels --private",
            "prmlabel export -i runs/omega/omegaprm --nodes -o nodes_trl.parquet --format trl --threshold 0.5",
            "prmlabel export -i runs/omega/omegaprm --nodes -o nodes_soft.jsonl --format openrlhf",
            "prmlabel export -i runs/omega/omegaprm --nodes -o node_values.parquet --format values",
        ),
    )(export)
