"""The frozen plan of a run: every stage's fully resolved config, written before any work starts.

``prmlabel run`` composes the recipe, resolves each stage's config the way the stage itself would
(``resolve_config``, fed with the planned manifests of the stages it reads, since those do not
exist yet) and writes them all into ``RUN/run.yaml`` with a hash of the prmlabel code and of the
plug-ins it uses (each recorded with its distribution name and version). Every task,
local or on a cluster, runs its shards against this frozen config, and refuses to run if the code
changed since launch, so an edit between launch and run cannot silently change results.

Paths inside the run folder are relative to it (tasks run from the run folder), so a stage's
fingerprint does not depend on where the run folder lives: a run moved to a cluster's storage still
resumes, and the same recipe run in two folders writes byte-identical shards.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from prmlabel import __version__
from prmlabel.contract.config import ConfigError, compose_config, config_diff, fingerprint, flatten, to_container
from prmlabel.contract.store import write_text_atomic
from prmlabel.inputs.hub import is_hub
from prmlabel.launch.recipe import SOURCE_COMMANDS, compose_recipe, recipe_path, recipe_plugin_info
from prmlabel.runtime.plugins import code_hashes as plugin_code_hashes

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PLAN_FILE = "run.yaml"
CODE_FILE = "_launch/code.json"

# command -> the stage class that runs it
STAGE_CLASSES = {
    "generate": "prmlabel.stages.generate:GenerateStage",
    "import": "prmlabel.stages.import_responses:ImportStage",
    "label": "prmlabel.stages.label:LabelStage",
    "filter": "prmlabel.stages.filter:FilterStage",
    "compress": "prmlabel.stages.compress:CompressStage",
    "export": "prmlabel.stages.export:ExportStage",
}
# Commands whose shard i reads only shard i of their input: shard i can start as soon as its input's
# shard i is done (SLURM `aftercorr`). The others (filter, export) decide over the whole input.
SHARDWISE_COMMANDS = ("generate", "import", "label", "compress")


def stage_class(command: str) -> Any:
    module_name, _, cls_name = STAGE_CLASSES[command].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"this prmlabel has no `{command}` stage yet ({exc}); use a recipe without it") from exc
    return getattr(module, cls_name)


def code_hashes(plugins: list[dict[str, Any]] | None = None) -> dict[str, str]:
    """sha256 of every file of the prmlabel package that can change what a stage writes, and of the
    plug-ins the run uses.

    Left out: the command line (``cli/``: it parses options, and a run's options are frozen) and
    ``launch/`` (it plans and submits; the plan is frozen), so fixing a help text or a launcher does
    not stop a run from resuming. A plug-in's files (its whole top-level package, wherever it is
    installed) are in, keyed ``plugins/<distribution>/<package>/<file>``: a rule edited between
    launch and resume would label the remaining shards by another rule (docs/extending.md).
    """
    out = {}
    for path in sorted(PACKAGE_ROOT.rglob("*")):
        rel = path.relative_to(PACKAGE_ROOT)
        if path.suffix not in (".py", ".yaml") or "__pycache__" in rel.parts:
            continue
        if rel.parts[0] in ("launch", "cli") or (len(rel.parts) == 1 and rel.name.startswith("cli")):
            continue
        out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    for plugin in plugins or []:
        module = plugin["target"].partition(":")[0]
        out.update(plugin_code_hashes(module, plugin.get("distribution") or module.split(".")[0]))
    return out


def used_plugins(recipe: str, stages: dict[str, Any]) -> list[dict[str, Any]]:
    """The plug-ins a plan uses (labelers, filters, backends, export formats, its recipe), each with its
    distribution name and version and the stages that use it; built-ins are not listed."""
    from prmlabel import backends, export, filters, labelers

    found: dict[tuple[str, str], dict[str, Any]] = {}

    def add(info: dict[str, Any] | None, stage: str | None) -> None:
        if info is not None:
            entry = found.setdefault((info["kind"], info["target"]), {**info, "stages": []})
            if stage is not None:
                entry["stages"].append(stage)

    add(recipe_plugin_info(recipe), None)
    for stage, spec in stages.items():
        config = spec["config"]
        if isinstance(config.get("backend"), dict) and config["backend"].get("name"):
            add(backends.plugin_info(str(config["backend"]["name"])), stage)
        if spec["command"] == "label":
            add(labelers.plugin_info(str(config["method"])), stage)
        elif spec["command"] == "filter":
            for name in filters.parse_chain(str(config["method"])):
                add(filters.plugin_info(name), stage)
        elif spec["command"] == "export" and config.get("format"):
            add(export.plugin_info(str(config["format"])), stage)
    return list(found.values())


def code_fingerprint(hashes: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:16]


def build_plan(recipe: str, input_path: str | None, run_folder: Path, overrides: list[str]) -> dict[str, Any]:
    """Compose the recipe and resolve every stage's config; nothing is written."""
    cfg = compose_recipe(recipe, overrides)
    run_folder = run_folder.resolve()
    num_shards = int(cfg["pipeline"]["num_shards"])
    planned: dict[str, dict[str, Any]] = {}
    stages: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="prmlabel-plan-") as shadow:
        for name, spec in cfg["stages"].items():
            command = spec["command"]
            options = flatten(spec.get("options") or {})
            if command in SOURCE_COMMANDS:
                if not input_path:
                    raise ConfigError(f"recipe {recipe!r} starts with `{command}`: pass its input with -i/--input")
                # A Hub dataset name (hf://OWNER/NAME) is kept as given; a path is made absolute.
                options["input"] = input_path if is_hub(input_path) else str(Path(input_path).resolve())
            options["output"] = name  # paths inside the run folder are relative: tasks run from it

            options["num_shards"] = num_shards
            refs = {key: spec[key] for key in ("input", "with") if spec.get(key)}
            stage_cfg = to_container(compose_config(command, list(spec.get("overrides") or []), options))
            # resolve_config reads the manifests of the folders it reads: give it the planned ones.
            for key, ref in refs.items():
                stage_cfg[key] = _write_planned_manifest(
                    Path(shadow) / ref, cfg["stages"][ref]["command"], planned[ref]
                )
            cls = stage_class(command)
            if hasattr(cls, "resolve_config") and stage_cfg.get("input"):
                stage_cfg = cls.resolve_config(stage_cfg)
            for key, ref in refs.items():
                stage_cfg[key] = ref
            planned[name] = stage_cfg
            stages[name] = {
                "command": command,
                "reads": list(refs.values()),
                "shardwise": command in SHARDWISE_COMMANDS,
                "fingerprint": fingerprint(stage_cfg),
                "config": stage_cfg,
            }
    plugins = used_plugins(recipe, stages)
    hashes = code_hashes(plugins)
    return {
        "recipe": cfg.get("name", recipe),
        "recipe_file": str(recipe_path(recipe).resolve()),
        "paper": cfg.get("paper"),
        "input": (input_path if is_hub(input_path) else str(Path(input_path).resolve())) if input_path else None,
        "overrides": list(overrides),
        "prmlabel_version": __version__,
        "code_fingerprint": code_fingerprint(hashes),
        "plugins": plugins,  # each plug-in's distribution and version; their files are in the code hash
        "num_shards": num_shards,
        "pipeline": cfg["pipeline"],
        "recipe_config": cfg,
        "stages": stages,
        "_code": hashes,
    }


def _write_planned_manifest(folder: Path, command: str, config: dict[str, Any]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"stage": command, "fingerprint": fingerprint(config), "num_shards": config["num_shards"]}
    (folder / "manifest.json").write_text(json.dumps({**manifest, "config": config}, default=str))
    return str(folder)


def write_plan(run_folder: Path, plan: dict[str, Any]) -> None:
    plan = dict(plan)
    hashes = plan.pop("_code")
    write_text_atomic(json.dumps(hashes, indent=1, sort_keys=True) + "\n", run_folder / CODE_FILE)
    header = "# Frozen by `prmlabel run`: every task runs its shards against these configs.\n"
    text = yaml.dump(plan, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)
    write_text_atomic(header + text, run_folder / PLAN_FILE)


class _NoAliasDumper(yaml.SafeDumper):
    """Write repeated sections out in full (no &anchors), so run.yaml reads like a config."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def read_plan(run_folder: Path) -> dict[str, Any]:
    path = run_folder / PLAN_FILE
    if not path.is_file():
        raise ConfigError(f"{run_folder} is not a prmlabel run folder (no {PLAN_FILE}); start one with `prmlabel run`")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def plan_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two plans in anything that changes the output (stage graph and configs)."""
    lines: list[str] = []
    if list(old["stages"]) != list(new["stages"]):
        lines.append(f"stages: {list(old['stages'])} -> {list(new['stages'])}")
    for name in old["stages"]:
        if name in new["stages"]:
            old_cfg, new_cfg = old["stages"][name]["config"], new["stages"][name]["config"]
            lines += [f"{name}: {line}" for line in config_diff(old_cfg, new_cfg)]
    return lines


def changed_code(run_folder: Path, plan: dict[str, Any]) -> list[str]:
    """Files of the prmlabel package that differ from the ones the run was frozen with."""
    current = code_hashes(plan.get("plugins"))
    if code_fingerprint(current) == plan["code_fingerprint"]:
        return []
    try:
        frozen = json.loads((run_folder / CODE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ["(the frozen code hashes are missing)"]
    return sorted(f for f in set(frozen) | set(current) if frozen.get(f) != current.get(f))
