"""The `prmlabel` command line: thin wrappers that compose a config and call a stage."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from prmlabel import __version__
from prmlabel.cli_common import OVERRIDES_HELP, examples, fail, print_summary, run_configured_stage

app = typer.Typer(
    name="prmlabel",
    help=(
        "Step-level labels for Process Reward Models.\n\n"
        "Stages pass folders of Parquet shards: generate -> label -> filter -> export.\n\n"
        "Quick start (the synthetic backend is a simulator with known ground truth):\n\n"
        "  prmlabel synthetic problems --count 200 --steps 4-12 --seed 0 -o problems.jsonl\n\n"
        "  prmlabel generate -i problems.jsonl -o runs/r1/rollouts --backend synthetic --samples 8\n\n"
        "Every stage also takes trailing key=value overrides; see `prmlabel generate --show-config`."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
LABEL_METHODS_HELP = (
    "mc (Math-Shepherd: k continuations from every step), omegaprm (binary search for the first error), "
    "scan (SCAN: scan until the first zero estimate), rpe (GenPRM relative progress), "
    "pav (advantages under a Best-of-K prover). [default: mc]"
)
synthetic_app = typer.Typer(
    help="The synthetic ground-truth environment: a simulator whose every step can be checked.",
    no_args_is_help=True,
)
app.add_typer(synthetic_app, name="synthetic")


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        typer.echo(f"prmlabel {__version__}")
        raise typer.Exit()


@app.command(
    context_settings={"allow_extra_args": False},
    epilog=examples(
        "prmlabel generate -i problems.jsonl -o runs/r1/rollouts --backend synthetic --samples 8 --num-shards 4",
        "prmlabel generate -i gsm8k/test.jsonl --preset gsm8k -o runs/gsm/rollouts --backend llamacpp",
        "prmlabel generate -i p.jsonl -o out sampling.temperature=1.0 sampling.max_tokens=2048",
        "prmlabel generate -i p.jsonl -o out --shard 3/8      # one task of a cluster array",
        "prmlabel generate --show-config                       # every key you can override",
    ),
)
def generate(
    overrides: list[str] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False),
    input: Path = typer.Option(
        None, "--input", "-i", help="Problems: JSONL, JSON, Parquet, CSV or a HF datasets folder."
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Output folder of rollout shards."),
    preset: str = typer.Option(None, help="Field mapping preset: gsm8k, math, math500, processbench, folio, prontoqa."),
    backend: str = typer.Option(None, help="Policy engine: synthetic, llamacpp, openai, vllm."),
    model: str = typer.Option(None, help="Model name or path for the backend."),
    samples: int = typer.Option(None, help="Responses per problem. [default: 4]"),
    seed: int = typer.Option(None, help="Run seed; every request's seed derives from it. [default: 0]"),
    num_shards: int = typer.Option(None, "--num-shards", help="Shards to split the problems into. [default: 1]"),
    shard: str = typer.Option(None, help="Run only shard I of N, as 'I/N' (for cluster array tasks)."),
    question_field: str = typer.Option(None, help="Field holding the question (without a preset)."),
    answer_field: str = typer.Option(None, help="Field holding the reference answer (without a preset)."),
    id_field: str = typer.Option(None, help="Field holding a problem id (default: a hash of the question)."),
    batch_size: int = typer.Option(None, help="Problems per backend call (runtime only). [default: 64]"),
    overwrite: bool = typer.Option(False, help="Replace an output folder written with another config."),
    show_config: bool = typer.Option(False, "--show-config", help="Print the resolved config and exit."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    """Write --samples step-by-step responses (rollouts) for every problem.

    Each rollout row holds problem_id, response_id, steps, response, final_answer, is_correct, the
    sampling settings and seed, token counts, and gold_first_error where the truth is known.
    Finished shards are skipped on a re-run; a killed run resumes where it stopped.
    """
    from prmlabel.stages.generate import GenerateStage, summary_rows

    options: dict[str, Any] = {
        "input": str(input) if input else None,
        "output": str(output) if output else None,
        "preset": preset,
        "backend.name": backend,
        "backend.model": model,
        "samples": samples,
        "seed": seed,
        "num_shards": num_shards,
        "runtime.shard": shard,
        "fields.question": question_field,
        "fields.answer": answer_field,
        "fields.id": id_field,
        "runtime.batch_size": batch_size,
        "runtime.overwrite": overwrite or None,
        "runtime.progress": False if no_progress else None,
    }
    summary = run_configured_stage("generate", GenerateStage, overrides or [], options, show_config)
    if summary is not None:
        print_summary("generate", summary, summary_rows(summary.totals()))


@app.command(
    name="import",
    epilog=examples(
        "prmlabel import -i processbench/gsm8k.json --preset processbench -o runs/pb/rollouts",
        "prmlabel import -i bigbench_mistake/word_sorting.jsonl --preset bigbench_mistake -o runs/bbm/rollouts",
        "prmlabel import -i mine.jsonl -o runs/mine/rollouts fields.question=prompt fields.label=first_wrong",
    ),
)
def import_(
    overrides: list[str] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False),
    input: Path = typer.Option(None, "--input", "-i", help="File of step-by-step responses."),
    output: Path = typer.Option(None, "--output", "-o", help="Output folder of rollout shards."),
    preset: str = typer.Option(None, help="processbench, bigbench_mistake, prm800k or math_shepherd."),
    num_shards: int = typer.Option(None, "--num-shards", help="Shards to split the problems into. [default: 1]"),
    shard: str = typer.Option(None, help="Run only shard I of N, as 'I/N'."),
    overwrite: bool = typer.Option(False, help="Replace an output folder written with another config."),
    show_config: bool = typer.Option(False, "--show-config", help="Print the resolved config and exit."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    """Turn ready-made step-by-step responses into rollouts, to label them or score labels.

    A human first-error label in the file (ProcessBench `label`, BIG-Bench-Mistake `mistake_index`,
    PRM800K ratings, Math-Shepherd +/-) lands in gold_first_error.
    """
    from prmlabel.stages.import_responses import ImportStage, summary_rows

    options: dict[str, Any] = {
        "input": str(input) if input else None,
        "output": str(output) if output else None,
        "preset": preset,
        "num_shards": num_shards,
        "runtime.shard": shard,
        "runtime.overwrite": overwrite or None,
        "runtime.progress": False if no_progress else None,
    }
    summary = run_configured_stage("import", ImportStage, overrides or [], options, show_config)
    if summary is not None:
        print_summary("import", summary, summary_rows(summary.totals()))


@app.command(
    epilog=examples(
        "prmlabel label -i runs/r1/rollouts -o runs/r1/mc --method mc --backend synthetic",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/omega --method omegaprm --rollouts-per-estimate 8",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/mc8 --method mc params.waves=2   # hard labels, fewer rollouts",
        "prmlabel label -i runs/gsm/rollouts -o runs/gsm/mc --backend vllm --model Qwen/Qwen2.5-Math-7B-Instruct",
        "prmlabel label --method omegaprm --show-config -i runs/r1/rollouts   # every parameter",
    ),
)
def label(
    overrides: list[str] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False),
    input: Path = typer.Option(None, "--input", "-i", help="A rollouts folder (from generate or import)."),
    output: Path = typer.Option(None, "--output", "-o", help="Output folder of label shards."),
    method: str = typer.Option(None, help="Labeling rule: " + LABEL_METHODS_HELP),
    backend: str = typer.Option(
        None, help="Policy engine that writes continuations: synthetic, llamacpp, openai, vllm."
    ),
    model: str = typer.Option(None, help="Model name or path for the backend."),
    rollouts_per_estimate: int = typer.Option(
        None, "--rollouts-per-estimate", "-k", help="Continuations per estimate (the method's k; default: the paper's)."
    ),
    seed: int = typer.Option(None, help="Run seed; sample j of a prefix uses derive_seed(seed, prompt, prefix) + j."),
    num_shards: int = typer.Option(None, "--num-shards", help="Default: the input's shard count."),
    shard: str = typer.Option(None, help="Run only shard I of N, as 'I/N'."),
    batch_size: int = typer.Option(None, help="Most requests per backend call (runtime only). [default: 1024]"),
    overwrite: bool = typer.Option(False, help="Replace an output folder written with another config."),
    show_config: bool = typer.Option(False, "--show-config", help="Print the resolved config and exit."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    """Label every step of every rollout by one method's rule, with continuations from the policy.

    Each output row keeps its rollout's columns and adds method, values (per-step estimates), hard
    (per-step 0/1), first_error, label_cost and label_provenance. Labelers of all responses run
    side by side, so the backend gets one batch per round.
    """
    from prmlabel.stages.label import LabelStage, summary_rows

    options: dict[str, Any] = {
        "input": str(input) if input else None,
        "output": str(output) if output else None,
        "method": method,
        "backend.name": backend,
        "backend.model": model,
        "rollouts_per_estimate": rollouts_per_estimate,
        "seed": seed,
        "num_shards": num_shards,
        "runtime.shard": shard,
        "runtime.batch_size": batch_size,
        "runtime.overwrite": overwrite or None,
        "runtime.progress": False if no_progress else None,
    }
    summary = run_configured_stage("label", LabelStage, overrides or [], options, show_config)
    if summary is not None:
        print_summary("label", summary, summary_rows(summary.totals()))


@synthetic_app.command(
    "problems",
    epilog=examples("prmlabel synthetic problems --count 200 --steps 4-12 --seed 0 -o problems.jsonl"),
)
def synthetic_problems(
    count: int = typer.Option(200, help="Number of problems."),
    steps: str = typer.Option("4-12", help="Operations per problem, as MIN-MAX (inclusive) or N."),
    seed: int = typer.Option(0, help="Seed; the same seed writes the same file."),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL file to write."),
) -> None:
    """Write arithmetic-chain problems whose every step can be checked (a simulator's problems).

    Each line has problem_id, question, reference_answer, domain, source='synthetic' and meta (the
    structured problem), ready for `prmlabel generate`.
    """
    import json

    from prmlabel.synthetic.problems import make_problems

    try:
        low, _, high = steps.partition("-")
        step_range = (int(low), int(high or low))
        if step_range[0] < 1 or step_range[1] < step_range[0]:
            raise ValueError
    except ValueError:
        fail(f"--steps {steps!r} must be N or MIN-MAX with 1 <= MIN <= MAX, e.g. --steps 4-12")
    if count < 1:
        fail("--count must be at least 1")
    problems = make_problems(count=count, steps=step_range, seed=seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as fh:
        for problem in problems:
            fh.write(json.dumps(problem, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {len(problems)} synthetic problems ({steps} steps, seed {seed}) to {output}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted; finished shards are kept and a re-run resumes from them", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
