"""The `prmlabel` command line: thin wrappers that compose a config and call a stage."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from prmlabel import __version__
from prmlabel.cli.common import (
    ApiKeyEnv,
    BackendName,
    BaseUrl,
    MaxTokens,
    Model,
    NoProgress,
    NumShards,
    Output,
    Overrides,
    Overwrite,
    Seed,
    Shard,
    ShowConfig,
    Temperature,
    TopP,
    examples,
    fail,
    run_command,
)

app = typer.Typer(
    name="prmlabel",
    help=(
        "Step-level labels for Process Reward Models.\n\n"
        "Stages pass folders of Parquet shards: generate -> label -> filter -> export.\n\n"
        "Quick start (the synthetic backend is a simulator with known ground truth):\n\n"
        "\b\n"  # click: keep these lines as written, so they copy and paste whole
        "  prmlabel synthetic problems --count 200 --steps 4-12 --seed 0 -o problems.jsonl\n"
        "  prmlabel generate -i problems.jsonl -o runs/r1/rollouts --backend synthetic --samples 8\n"
        "  prmlabel label -i runs/r1/rollouts -o runs/r1/labels --method omegaprm --backend synthetic\n"
        "  prmlabel export -i runs/r1/labels -o runs/r1/prm_train.parquet --format trl\n"
        "  prmlabel stats runs/r1\n\n"
        "A whole paper's scheme in one command: `prmlabel recipes`, then `prmlabel run RECIPE -i FILE -o RUN`. "
        "Every stage also takes trailing key=value overrides; see `prmlabel generate --show-config`."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
synthetic_app = typer.Typer(
    help="The synthetic ground-truth environment: a simulator whose every step can be checked.",
    no_args_is_help=True,
)
app.add_typer(synthetic_app, name="synthetic")

LABEL_METHODS_HELP = (
    "mc (Math-Shepherd: k continuations from every step), omegaprm (binary search for the first error; "
    "params.mode=search grows OmegaPRM's search tree per question, written to nodes/), rest_mcts (ReST-MCTS*: "
    "an MCTS* tree per question grown one step at a time, with its value targets), "
    "scan (SCAN: scan until the first zero estimate), rpe (GenPRM relative progress), "
    "pav (advantages under a Best-of-K prover), sympy (tool-checked arithmetic, no rollouts), "
    "z3 (formal-logic steps checked by z3, no rollouts), grounded (GroundedPRM: tool verdicts fused with "
    "rollout values), judge (LLM-as-a-judge names the earliest wrong step; Qwen 'Lessons' prompt, --votes N "
    "critiques by majority), or a plug-in: a name registered under the prmlabel.labelers entry point, or "
    "pkg.module:Class (docs/extending.md). [default: mc]"
)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        typer.echo(f"prmlabel {__version__}")
        raise typer.Exit()


@app.command(
    epilog=examples(
        "prmlabel generate -i problems.jsonl -o runs/r1/rollouts --backend synthetic --samples 8 --num-shards 4",
        "prmlabel generate -i hf://openai/gsm8k --split test -o runs/gsm/rollouts --backend llamacpp",
        "prmlabel generate -i gsm8k/test.jsonl --preset gsm8k -o runs/gsm/rollouts --backend llamacpp",
        "prmlabel generate -i p.jsonl -o out --temperature 1.0 --top-p 1.0 --max-tokens 2048",
        "prmlabel generate -i p.jsonl -o out --backend openai --base-url http://localhost:8000/v1 "
        "--model Qwen/Qwen2.5-Math-7B-Instruct --api-key-env MY_KEY",
        "prmlabel generate -i p.jsonl -o out --shard 3/8      # one task of a cluster array",
        "prmlabel generate --show-config                       # every key you can override",
    ),
)
def generate(
    overrides: Overrides = None,
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            help="Problems: JSONL, JSON, Parquet, CSV, a HF datasets folder, or a Hub dataset hf://OWNER/NAME "
            "(read with `datasets`; HF_HUB_OFFLINE=1 reads the local cache; the name picks the preset).",
        ),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="The split of an hf:// dataset or a DatasetDict folder, e.g. test.")
    ] = None,
    output: Output = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="Field mapping preset: gsm8k, math, math500, processbench, folio, folio_formal (FOL facts and "
            "formal steps for --method z3), prontoqa, proofwriter."
        ),
    ] = None,
    domain: Annotated[
        str | None, typer.Option(help="How answers are compared: math, logic (True/False/Unknown) or text.")
    ] = None,
    backend: BackendName = None,
    model: Model = None,
    base_url: BaseUrl = None,
    api_key_env: ApiKeyEnv = None,
    temperature: Temperature = None,
    top_p: TopP = None,
    max_tokens: MaxTokens = None,
    samples: Annotated[int | None, typer.Option(help="Responses per problem. [default: 4]")] = None,
    seed: Seed = None,
    num_shards: NumShards = None,
    shard: Shard = None,
    question_field: Annotated[str | None, typer.Option(help="Field holding the question (without a preset).")] = None,
    answer_field: Annotated[
        str | None, typer.Option(help="Field holding the reference answer (without a preset).")
    ] = None,
    id_field: Annotated[
        str | None, typer.Option(help="Field holding a problem id (default: a hash of the question).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Problems per backend call (runtime only). [default: 64]")
    ] = None,
    overwrite: Overwrite = False,
    show_config: ShowConfig = False,
    no_progress: NoProgress = False,
) -> None:
    """Write --samples step-by-step responses (rollouts) for every problem.

    Each rollout row holds problem_id, response_id, steps, response, final_answer, is_correct, the
    sampling settings and seed, token counts, and gold_first_error where the truth is known.
    Finished shards are skipped on a re-run; a killed run resumes where it stopped.
    """
    run_command(
        "generate",
        "prmlabel.stages.generate:GenerateStage",
        overrides,
        show_config,
        overwrite,
        no_progress,
        {
            "input": input,
            "split": split,
            "output": output,
            "preset": preset,
            "domain": domain,
            "backend": backend,
            "model": model,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": max_tokens,
            "samples": samples,
            "seed": seed,
            "num_shards": num_shards,
            "shard": shard,
            "fields.question": question_field,
            "fields.answer": answer_field,
            "fields.id": id_field,
            "batch_size": batch_size,
        },
    )


@app.command(
    name="import",
    epilog=examples(
        "prmlabel import -i hf://Qwen/ProcessBench --split gsm8k -o runs/pb/rollouts",
        "prmlabel import -i processbench/gsm8k.json --preset processbench -o runs/pb/rollouts",
        "prmlabel import -i bigbench_mistake/word_sorting.jsonl --preset bigbench_mistake -o runs/bbm/rollouts",
        "prmlabel import -i mine.jsonl -o runs/mine/rollouts fields.question=prompt fields.label=first_wrong",
    ),
)
def import_(
    overrides: Overrides = None,
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            help="Step-by-step responses: a file or folder, or a Hub dataset hf://OWNER/NAME (the name picks the "
            "preset).",
        ),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="The split of an hf:// dataset or a DatasetDict folder, e.g. gsm8k.")
    ] = None,
    output: Output = None,
    preset: Annotated[
        str | None, typer.Option(help="processbench, bigbench_mistake, prm800k or math_shepherd.")
    ] = None,
    num_shards: NumShards = None,
    shard: Shard = None,
    overwrite: Overwrite = False,
    show_config: ShowConfig = False,
    no_progress: NoProgress = False,
) -> None:
    """Turn ready-made step-by-step responses into rollouts, to label them or score labels.

    A human first-error label in the file (ProcessBench `label`, BIG-Bench-Mistake `mistake_index`,
    PRM800K ratings, Math-Shepherd +/-) lands in gold_first_error.
    """
    run_command(
        "import",
        "prmlabel.stages.import_responses:ImportStage",
        overrides,
        show_config,
        overwrite,
        no_progress,
        {
            "input": input,
            "split": split,
            "output": output,
            "preset": preset,
            "num_shards": num_shards,
            "shard": shard,
        },
    )


@app.command(
    epilog=examples(
        "prmlabel label -i runs/r1/rollouts -o runs/r1/mc --method mc --backend synthetic",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/omega --method omegaprm --rollouts-per-estimate 8",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/tree --method omegaprm params.mode=search   # + nodes/",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/rest --method rest_mcts --backend synthetic   # + nodes/",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/mc8 --method mc params.waves=2   # hard labels, fewer rollouts",
        "prmlabel label -i runs/gsm/rollouts -o runs/gsm/mc --backend vllm --model Qwen/Qwen2.5-Math-7B-Instruct",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/judge --method judge --votes 1 "
        "--backend openai --base-url http://localhost:8000/v1 --model Qwen2.5-72B-Instruct",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/mc --method mc --temperature 1.0 --max-tokens 2048",
        "prmlabel label -i runs/r1/rollouts -o runs/r1/judge --method judge --backend synthetic "
        "backend.options.judge_accuracy=0.8",
        "prmlabel label --method omegaprm --show-config -i runs/r1/rollouts   # every parameter",
    ),
)
def label(
    overrides: Overrides = None,
    input: Annotated[
        Path | None, typer.Option("--input", "-i", help="A rollouts folder (from generate or import).")
    ] = None,
    output: Output = None,
    method: Annotated[str | None, typer.Option(help="Labeling rule: " + LABEL_METHODS_HELP)] = None,
    backend: BackendName = None,
    model: Model = None,
    base_url: BaseUrl = None,
    api_key_env: ApiKeyEnv = None,
    temperature: Temperature = None,
    top_p: TopP = None,
    max_tokens: MaxTokens = None,
    rollouts_per_estimate: Annotated[
        int | None,
        typer.Option("--rollouts-per-estimate", "-k", help="Continuations per estimate (default: the paper's k)."),
    ] = None,
    votes: Annotated[
        int | None,
        typer.Option(help="--method judge: critiques per response, majority vote (sets params.votes). [default: 1]"),
    ] = None,
    seed: Seed = None,
    num_shards: Annotated[int | None, typer.Option("--num-shards", help="Default: the input's shard count.")] = None,
    shard: Shard = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Most requests per backend call (runtime only). [default: 1024]")
    ] = None,
    overwrite: Overwrite = False,
    show_config: ShowConfig = False,
    no_progress: NoProgress = False,
) -> None:
    """Label every step of every rollout by one method's rule, with continuations from the policy.

    Each output row keeps its rollout's columns and adds method, values (per-step estimates), hard
    (per-step 0/1), first_error, label_cost and label_provenance. Labelers of all responses run
    side by side, so the backend gets one batch per round.
    """
    run_command(
        "label",
        "prmlabel.stages.label:LabelStage",
        overrides,
        show_config,
        overwrite,
        no_progress,
        {
            "input": input,
            "output": output,
            "method": method,
            "backend": backend,
            "model": model,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": max_tokens,
            "rollouts_per_estimate": rollouts_per_estimate,
            "params.votes": votes,
            "seed": seed,
            "num_shards": num_shards,
            "shard": shard,
            "batch_size": batch_size,
        },
    )


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


# Command groups that live in their own modules; each module defines ``register(app)``.
COMMAND_MODULES: list[str] = [
    "prmlabel.cli.filter",
    "prmlabel.cli.compress",
    "prmlabel.cli.run",
    "prmlabel.cli.export",
    "prmlabel.cli.inspect",
]
for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted; finished shards are kept and a re-run resumes from them", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
