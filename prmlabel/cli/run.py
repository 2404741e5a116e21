"""`prmlabel recipes`, `prmlabel run`, `prmlabel status` and the `prmlabel task` that executors call."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer

from prmlabel.cli.common import NoProgress, Overrides, _user_errors, examples, fail
from prmlabel.launch.task import TaskError

EXECUTORS = {"local": "prmlabel.launch.local", "slurm": "prmlabel.launch.slurm", "ray": "prmlabel.launch.ray"}


def recipes() -> None:
    """List the recipes: each paper's labeling scheme, its stages and its cost model."""
    from prmlabel.launch.recipe import available_recipes, recipe_summary

    for name in available_recipes():
        info = recipe_summary(name)
        typer.echo(f"{name}\n  paper:  {info['paper']}\n  stages: {info['stages']}\n  cost:   {info['cost']}\n")
    typer.echo("Run one: prmlabel run NAME -i problems.jsonl -o runs/NAME [key=value ...]; docs/recipes/NAME.md")


def run(
    recipe: Annotated[
        str | None, typer.Argument(help="A recipe name (see `prmlabel recipes`) or a recipe YAML.")
    ] = None,
    overrides: Overrides = None,
    input: Annotated[
        str | None,
        typer.Option(
            "--input", "-i", help="Problems (or responses) for the first stage: a file, a folder, or hf://OWNER/NAME."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The run folder: one subfolder per stage.")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue a stopped, killed or preempted run in --output.")] = False,
    accept_code_change: Annotated[
        bool, typer.Option(help="With --resume: re-freeze the run with the current prmlabel code.")
    ] = False,
    show_config: Annotated[
        bool, typer.Option("--show-config", help="Print the resolved stage configs and exit.")
    ] = False,
    no_progress: NoProgress = False,
) -> None:
    """Run a recipe's stages in order into one run folder (RUN/<stage>/), locally, on SLURM or on Ray.

    The resolved config of every stage is frozen into RUN/run.yaml first; every task runs its shards
    against it. Finished shards are skipped; --resume continues a run and refuses a changed config.
    Overrides compose onto the recipe: backend=vllm backend.model=..., samples=16, pipeline=slurm,
    pipeline.num_shards=64, stages.<stage>.options.<key>=... (see --show-config).
    """
    from prmlabel.launch import plan as plans
    from prmlabel.launch.status import print_table, stage_progress
    from prmlabel.launch.task import pending_shards

    try:
        if output is None and not show_config:
            fail("--output/-o is required: the run folder, e.g. -o runs/omega")
        if recipe is not None and "=" in recipe:  # `prmlabel run --resume -o RUN key=value`: no recipe named
            overrides, recipe = [recipe, *(overrides or [])], None
        run_folder = (output or Path("runs/show-config")).resolve()
        frozen = plans.read_plan(run_folder) if resume else None
        if frozen is None and recipe is None:
            fail("name a recipe (see `prmlabel recipes`), e.g. prmlabel run demo -i problems.jsonl -o runs/demo")
        if frozen is not None:
            recipe = recipe or frozen["recipe_file"]
            overrides = [*frozen["overrides"], *(overrides or [])]
            input_path = str(input) if input else frozen["input"]
        else:
            input_path = str(input) if input else None
        plan = plans.build_plan(str(recipe), input_path, run_folder, list(overrides or []))
        if show_config:
            typer.echo(plans.yaml.safe_dump({k: v for k, v in plan.items() if k != "_code"}, sort_keys=False), nl=False)
            return
        if frozen is None:
            if (run_folder / plans.PLAN_FILE).exists():
                fail(f"{run_folder} already holds a run; continue it with --resume, or pass a new -o folder")
            plans.write_plan(run_folder, plan)
        else:
            plan = _resume_plan(run_folder, frozen, plan, accept_code_change)
        pending = {stage: pending_shards(run_folder, plan, stage) for stage in plan["stages"]}
        name = plan["pipeline"].get("name", "local")
        if name not in EXECUTORS:
            fail(f"pipeline.name {name!r} is not one of {', '.join(EXECUTORS)}")
        typer.echo(f"run {plan['recipe']} on {name}: {run_folder} ({plan['num_shards']} shards per stage)")
        importlib.import_module(EXECUTORS[name]).launch(run_folder, plan, pending, not no_progress)
    except _user_errors() as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(str(exc))
    rows = stage_progress(run_folder, plan)
    typer.echo(f"\nrun summary: {run_folder}")
    print_table(rows)
    unfinished = [r["stage"] for r in rows if len(r["done"]) < r["shards"]]
    if unfinished:
        typer.echo(f"unfinished stages: {', '.join(unfinished)}; see `prmlabel status {run_folder}`")
        if name != "slurm" or plan["pipeline"].get("wait", True) and not plan["pipeline"].get("hold"):
            raise typer.Exit(1)


def _resume_plan(run_folder: Path, frozen: dict[str, Any], plan: dict[str, Any], accept_code_change: bool) -> dict:
    """The frozen plan, with the new pipeline settings (where and how it runs) and, if accepted, new code."""
    from prmlabel.launch import plan as plans

    diff = plans.plan_diff(frozen, plan)
    if diff:
        raise TaskError(
            f"{run_folder} was frozen with another config; these settings differ:\n  "
            + "\n  ".join(diff)
            + "\nResume with the original settings, or start a new run folder."
        )
    changed = plans.changed_code(run_folder, frozen)
    if changed and not accept_code_change:
        raise TaskError(
            f"the prmlabel code changed since {run_folder} was frozen ({', '.join(changed[:8])}); shards written "
            "now could differ from the finished ones. Restore the code, start a new run folder, or pass "
            "--accept-code-change to continue with the current code."
        )
    resumed = {**frozen, "pipeline": plan["pipeline"]}
    if changed:
        resumed["code_fingerprint"] = plan["code_fingerprint"]
        resumed["plugins"] = plan.get("plugins", [])  # the plug-ins' versions now in use
    plans.write_plan(run_folder, {**resumed, "_code": plan["_code"] if changed else _frozen_code(run_folder)})
    return resumed


def _frozen_code(run_folder: Path) -> dict[str, str]:
    import json

    from prmlabel.launch.plan import CODE_FILE

    return json.loads((run_folder / CODE_FILE).read_text(encoding="utf-8"))


def status(run_folder: Annotated[Path, typer.Argument(help="A run folder written by `prmlabel run`.")]) -> None:
    """Per stage: shards done / running / failed / pending, rows in and out, cost; SLURM job ids and states."""
    from prmlabel.launch.plan import read_plan
    from prmlabel.launch.status import print_table, stage_progress

    try:
        plan = read_plan(run_folder)
        rows = stage_progress(run_folder.resolve(), plan)
        states: dict[str, dict[int, str]] = {}
        lines: list[str] = []
        if (run_folder / "_launch" / "slurm.json").exists():
            from prmlabel.launch.slurm import shard_states

            states, lines = shard_states(run_folder)
            # a finished shard's task state is history; only unfinished shards count as running/failed
            states = {s: {i: st for i, st in m.items() if i not in _done(rows, s)} for s, m in states.items()}
    except _user_errors() as exc:
        fail(str(exc))
    typer.echo(f"{plan['recipe']} ({plan['pipeline'].get('name', 'local')}): {run_folder}")
    print_table(rows, states)
    if lines:
        typer.echo("slurm jobs:")
        for line in lines:
            typer.echo(f"  {line}")


def _done(rows: list[dict[str, Any]], stage: str) -> set[int]:
    return next((set(r["done"]) for r in rows if r["stage"] == stage), set())


def task(
    run_folder: Annotated[Path, typer.Argument(help="The run folder.")],
    stage: Annotated[str, typer.Argument(help="The stage to run.")],
    shards: Annotated[str | None, typer.Option(help="Shards to run, e.g. 0,1 or 0-3 (default: all).")] = None,
    no_progress: NoProgress = False,
) -> None:
    """Run shards of one stage of a frozen run (what SLURM and Ray tasks execute)."""
    from prmlabel.launch.task import parse_shard_list, run_task

    try:
        summaries = run_task(run_folder, stage, parse_shard_list(shards) if shards else None, not no_progress)
    except _user_errors() as exc:
        fail(str(exc))
    done = sorted(i for s in summaries for i in s.shards_run)
    skipped = sorted(i for s in summaries for i in s.shards_skipped)
    typer.echo(f"{stage}: shards run {done}, already done {skipped}")


def register(app: typer.Typer) -> None:
    app.command(epilog=examples("prmlabel recipes"))(recipes)
    app.command(
        epilog=examples(
            "prmlabel run demo -i problems.jsonl -o runs/demo",
            "prmlabel run omegaprm -i gsm8k.jsonl -o runs/om preset=gsm8k backend=vllm backend.model=Qwen/Qwen2.5-7B",
            "prmlabel run qwen_consensus -i p.jsonl -o runs/q pipeline=slurm pipeline.partition=gpu",
            "prmlabel run scan -i p.jsonl -o runs/scan pipeline=ray pipeline.address=auto",
            "prmlabel run --resume -o runs/omega          # after a crash, a preemption or a cancelled array",
            "prmlabel run omegaprm -i p.jsonl -o runs/x --show-config   # every stage's resolved config",
        )
    )(run)
    app.command(epilog=examples("prmlabel status runs/omega"))(status)
    app.command(hidden=True)(task)
