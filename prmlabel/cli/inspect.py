"""`prmlabel stats`, `sql`, `eval` and `report`: look at a run, query it, score it, show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from prmlabel.cli.common import examples, fail

RunFolder = Annotated[Path, typer.Argument(help="A run folder holding stage folders (rollouts/, labels/, ...).")]


def _guarded(fn, *args):  # type: ignore[no-untyped-def]
    """Run ``fn``; a user error (bad folder, bad file) exits with its message instead of a traceback."""
    import duckdb

    from prmlabel.cli.common import _user_errors

    try:
        return fn(*args)
    except (*_user_errors(), ValueError, duckdb.Error) as exc:
        fail(str(exc).strip())


def stats(
    run: RunFolder,
    as_json: Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")] = False,
) -> None:
    """Per stage: rows in/out/rejected, label balance, first-error positions, agreement, cost.

    Every stage folder of the run (any folder with manifest.json) is read through DuckDB; label
    folders over the same responses are compared (same first error, same step label).
    """
    from prmlabel.inspect.render import render_stats
    from prmlabel.inspect.stats import run_stats

    result = _guarded(run_stats, run)
    typer.echo(json.dumps(result, indent=2, default=str) if as_json else render_stats(result).rstrip("\n"))


def sql(
    run: RunFolder,
    query: Annotated[str | None, typer.Argument(help="SQL over the views; omit to list them.")] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table (DuckDB's box), csv or json (one object per line).")
    ] = "table",
    max_rows: Annotated[int, typer.Option(help="Rows shown in table format.")] = 40,
) -> None:
    """Run SQL over a run folder: every stage folder is a view by its folder name.

    For a stage folder NAME there are views NAME (its rows), NAME_rejects and NAME_records (the
    per-shard completion records), and the table `stages` lists the folders and their kind.
    """
    from prmlabel.inspect.run_folder import connect, view_names

    if output_format not in ("table", "csv", "json"):
        fail(f"--format {output_format!r}: choose table, csv or json")
    con, _ = _guarded(connect, run)
    if not query:
        typer.echo("views: " + ", ".join(view_names(con)))
        return
    relation = _guarded(con.sql, query)
    if relation is None:
        return
    if output_format == "table":
        _guarded(lambda: relation.show(max_rows=max_rows, max_width=10_000))
    else:
        columns = relation.columns
        rows = _guarded(relation.fetchall)
        if output_format == "csv":
            import csv
            import sys

            writer = csv.writer(sys.stdout)
            writer.writerow(columns)
            writer.writerows(rows)
        else:
            for row in rows:
                typer.echo(json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False))


def eval_(
    pred: Annotated[
        Path, typer.Option("--pred", help="Predictions: a labels/labeled folder or a ProcessBench-format file.")
    ],
    gold: Annotated[
        list[Path],
        typer.Option(
            "--gold", help="Gold file (ProcessBench .json, BIG-Bench-Mistake .jsonl, MR-GSM8K); repeat per split."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Score predicted first errors against human labels, as ProcessBench does.

    Per gold file (a split) and averaged over splits: accuracy on erroneous samples (predicted
    first error == gold), accuracy on correct samples (predicted -1), F1 (their harmonic mean),
    and step-level precision/recall of finding the wrong step. Predictions are matched to gold by
    id (problem_id or response_id), else by question and steps; unmatched gold rows are counted.
    """
    from prmlabel.evaluate.gold import read_gold
    from prmlabel.evaluate.metrics import average, score_split
    from prmlabel.evaluate.predictions import read_predictions
    from prmlabel.inspect.render import table

    preds = _guarded(read_predictions, pred)
    splits = [score_split(path.stem, _guarded(read_gold, path), preds) for path in gold]
    if not any(s.n_matched for s in splits):
        fail(
            f"no prediction in {pred} matches a gold row by id or by question and steps; were the labels made "
            f"from these files (`prmlabel import -i {gold[0]} --preset ...`, then `prmlabel label`)?"
        )
    rows = splits + ([average(splits)] if len(splits) > 1 else [])
    if as_json:
        typer.echo(json.dumps([s.as_dict() for s in rows], indent=2))
        return
    headers = ["split", "matched", "erroneous", "correct", "acc erroneous", "acc correct", "F1", "step P", "step R"]
    typer.echo(
        table(
            headers,
            [
                [s.split, f"{s.n_matched}/{s.n_gold}", s.n_error, s.n_correct]
                + ([s.acc_error, s.acc_correct, s.f1, s.step_precision, s.step_recall] if s.n_matched else [None] * 5)
                for s in rows
            ],
        )
    )
    missing = sum(s.n_gold - s.n_matched for s in splits)
    if missing:
        typer.echo(f"\n{missing} gold rows have no prediction and are not scored")


def report(
    run: RunFolder,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
    png_dir: Annotated[Path | None, typer.Option("--png-dir", help="Also write each plot as a PNG here.")] = None,
) -> None:
    """Write one self-contained HTML page about a run: stage table, label balance, step values,
    first-error positions, the methods' agreement matrix, cost per method and every config.

    The page has its plots inlined (no other files, no network, no script); --png-dir writes the
    same plots as PNG files for a paper.
    """
    from prmlabel.inspect.report import write_report

    result = _guarded(write_report, run, output, png_dir)
    typer.echo(f"wrote {', '.join(result['written'])} ({len(result['plots'])} plots)")


def register(app: typer.Typer) -> None:
    app.command(
        name="stats",
        epilog=examples("prmlabel stats runs/r1", "prmlabel stats runs/r1 --json > stats.json"),
    )(stats)
    app.command(
        name="sql",
        epilog=examples(
            "prmlabel sql runs/r1                      # list the views",
            'prmlabel sql runs/r1 "SELECT method, avg(first_error) FROM labels GROUP BY 1"',
            'prmlabel sql runs/r1 "SELECT reason, count(*) FROM final GROUP BY 1" --format csv',
            'prmlabel sql runs/r1 "SELECT shard, seconds, cost.rollouts FROM labels_records"',
        ),
    )(sql)
    app.command(
        name="eval",
        epilog=examples(
            "prmlabel eval --pred runs/pb/labels --gold ../shared/data/processbench/gsm8k.json",
            "prmlabel eval --pred runs/pb/labels --gold gsm8k.json --gold math.json   # per split and averaged",
            "prmlabel eval --pred my_predictions.jsonl --gold bigbench_mistake/word_sorting.jsonl --json",
        ),
    )(eval_)
    app.command(
        name="report",
        epilog=examples(
            "prmlabel report runs/r1 -o report.html",
            "prmlabel report runs/r1 -o report.html --png-dir figures/",
        ),
    )(report)
