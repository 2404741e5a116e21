"""What every stage command shares: config composition, error reporting, the end-of-stage summary."""

from __future__ import annotations

import errno
import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from prmlabel.contract.config import ConfigError, compose_config, fingerprint, to_container, to_yaml
from prmlabel.contract.store import StoreError, parse_shard_spec
from prmlabel.runtime.errors import UserError

OVERRIDES_HELP = "Hydra overrides, key=value (e.g. sampling.temperature=1.0); see --show-config for the keys."

# Options every stage command shares, declared once.
Overrides = Annotated[list[str] | None, typer.Argument(help=OVERRIDES_HELP, show_default=False)]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Output folder of Parquet shards.")]
NumShards = Annotated[int | None, typer.Option("--num-shards", help="Shards to split the rows into. [default: 1]")]
Shard = Annotated[str | None, typer.Option(help="Run only shard I of N, as 'I/N' (one task of a cluster array).")]
Overwrite = Annotated[bool, typer.Option(help="Replace an output folder written with another config.")]
ShowConfig = Annotated[bool, typer.Option("--show-config", help="Print the resolved config and exit.")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress bar.")]
BackendName = Annotated[str | None, typer.Option("--backend", help="Policy engine: synthetic, llamacpp, openai, vllm.")]
Model = Annotated[str | None, typer.Option(help="Model name or path for the backend.")]
Seed = Annotated[int | None, typer.Option(help="Run seed; every request's seed derives from it. [default: 0]")]
Temperature = Annotated[
    float | None, typer.Option(help="Sampling temperature (sets sampling.temperature). [default: 0.7]")
]
TopP = Annotated[float | None, typer.Option("--top-p", help="Nucleus sampling (sets sampling.top_p). [default: 1.0]")]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", help="New tokens per sample (sets sampling.max_tokens). [default: 1024]")
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="--backend openai: the server's URL, e.g. http://localhost:8000/v1 for `vllm serve` "
        "(sets backend.options.base_url).",
    ),
]
ApiKeyEnv = Annotated[
    str | None,
    typer.Option(
        "--api-key-env",
        help="--backend openai: the environment variable holding the API key, never the key itself "
        "(sets backend.options.api_key_env). [default: OPENAI_API_KEY]",
    ),
]

# Typed option name -> config key, for the options several commands share.
COMMON_KEYS = {
    "input": "input",
    "output": "output",
    "num_shards": "num_shards",
    "shard": "runtime.shard",
    "backend": "backend.name",
    "model": "backend.model",
    "seed": "seed",
    "batch_size": "runtime.batch_size",
    "temperature": "sampling.temperature",
    "top_p": "sampling.top_p",
    "max_tokens": "sampling.max_tokens",
    "base_url": "backend.options.base_url",
    "api_key_env": "backend.options.api_key_env",
}


def override_keys(overrides: list[str] | None) -> set[str]:
    """The config keys that trailing ``key=value`` overrides set (``+key``, ``++key`` and ``~key`` too)."""
    keys = set()
    for override in overrides or []:
        key = override.split("=", 1)[0].lstrip("+~").strip()
        if key:
            keys.add(key)
    return keys


def run_command(
    stage_name: str,
    stage_target: str,
    overrides: list[str] | None,
    show_config: bool,
    overwrite: bool,
    no_progress: bool,
    options: dict[str, Any],
) -> None:
    """Everything a stage command does: map its options to config keys, run, print the summary.

    ``stage_target`` is "module:Class"; the module also provides ``summary_rows(totals)``.
    """
    config: dict[str, Any] = {}
    explicit = override_keys(overrides)
    for name, value in options.items():
        key = COMMON_KEYS.get(name, name)
        if key in explicit:  # `sampling.temperature=1.0` wins over `--temperature 0.5`: the override is explicit
            continue
        config[key] = str(value) if isinstance(value, Path) else value
    config["runtime.overwrite"] = overwrite or None
    config["runtime.progress"] = False if no_progress else None
    module_name, _, cls_name = stage_target.partition(":")
    module = importlib.import_module(module_name)
    summary = run_configured_stage(stage_name, getattr(module, cls_name), overrides or [], config, show_config)
    if summary is not None:
        print_summary(stage_name, summary, module.summary_rows(summary.totals()))


def examples(*commands: str) -> str:
    """An epilog of example commands that click prints as written (\\b stops re-wrapping)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {c}" for c in commands)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _user_errors() -> tuple[type[BaseException], ...]:
    from prmlabel.backends.errors import BackendError
    from prmlabel.inputs.records import InputError

    return (ConfigError, StoreError, UserError, InputError, FileNotFoundError, BackendError)


def run_configured_stage(
    stage_name: str, stage_cls: Any, overrides: list[str], options: dict[str, Any], show_config: bool
) -> Any:
    """Compose the config, check required keys, run the stage; user errors exit with a message."""
    from prmlabel.stages.runner import run_stage

    try:
        if options.get("runtime.shard") and options.get("num_shards") is None:
            # --shard I/N alone implies N shards.
            options = {**options, "num_shards": parse_shard_spec(options["runtime.shard"])[1]}
        cfg = to_container(compose_config(stage_name, overrides, options))
        if hasattr(stage_cls, "resolve_config") and cfg.get("input"):
            cfg = stage_cls.resolve_config(cfg)  # what the input folder decides (e.g. its shard count)
        if show_config:
            typer.echo(to_yaml(cfg), nl=False)
            return None
        for key in ("input", "output"):
            if not cfg.get(key):
                raise UserError(
                    f"--{key} is required (or {key}=... as an override); see `prmlabel {stage_name} --help`"
                )
        stage = stage_cls(cfg, fingerprint(cfg))
        try:
            return run_stage(stage, cfg, cfg["output"])
        finally:
            stage.close()
    except _user_errors() as exc:
        fail(str(exc))
    except ValueError as exc:  # bad option values found while building the stage
        fail(str(exc))
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        fail(
            f"no space left on the device while writing {exc.filename or options.get('output')} ({exc.strerror}). "
            "The shard being written was dropped and finished shards are kept: free some space (or move --output "
            "to a bigger disk) and run the same command again to finish the rest."
        )


def print_summary(stage: str, summary: Any, rows: dict[str, Any]) -> None:
    """A small aligned table on stderr-free stdout: what went in, what came out, cost and where."""
    totals = summary.totals()
    lines: dict[str, Any] = dict(rows)
    lines["shards"] = (
        f"{len(summary.shards_run)} run, {len(summary.shards_skipped)} already done, of {summary.shards_total}"
    )
    lines["time"] = f"{summary.seconds:.1f} s"
    if totals["rows_rejected"]:
        lines["rejects"] = f"{totals['rows_rejected']} rows, see {summary.output}/rejects/"
    lines["output"] = summary.output
    width = max(len(k) for k in lines)
    typer.echo(f"\n{stage} summary")
    for key, value in lines.items():
        typer.echo(f"  {key:<{width}}  {value}")
    sys.stdout.flush()
