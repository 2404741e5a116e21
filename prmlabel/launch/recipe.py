"""Recipes: one YAML per paper's scheme, composed with `pipelines/<name>.yaml` and command-line overrides.

A recipe names its stages in order; each stage names its command (generate, import, label, filter,
export), the stage(s) it reads, and the options that make up its config::

    stages:
      generate: {command: generate, options: {samples: ${samples}, backend: ${backend}}}
      omegaprm: {command: label, input: generate, options: {method: omegaprm, params: {k: 8}}}

Overrides use Hydra's grammar (``key=value``, ``+key=value``, ``~key``) on the recipe's keys, plus two
shorthands: ``pipeline=slurm`` loads ``pipelines/slurm.yaml`` into ``pipeline``, and ``backend=vllm``
sets ``backend.name``. Interpolations (``${backend}``, ``${seed}``) resolve after the overrides, so
``backend.model=...`` reaches every stage that uses the recipe's backend.

A plug-in package ships recipes through the ``prmlabel.recipes`` entry point group: the entry point
names a package (``plugin_example = "plugin_example.recipes"``) and every ``*.yaml`` in its folder is
a recipe named by its file stem. A name that a built-in recipe or another plug-in also uses is an
error naming both.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from prmlabel.contract.config import ConfigError
from prmlabel.runtime import plugins

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_COMMANDS = ("generate", "import")  # stages that read the run's --input
STAGE_COMMANDS = ("generate", "import", "label", "filter", "compress", "export")
# Keys under which `key=value` may add a key the recipe does not name (free-form sections).
OPEN_PREFIXES = ("stages.", "backend.options.", "judge_backend.options.", "pipeline.additional.")
_MISSING = object()


def recipes_dir() -> Path:
    return Path(os.environ.get("PRMLABEL_RECIPES", REPO_ROOT / "recipes"))


def pipelines_dir() -> Path:
    return Path(os.environ.get("PRMLABEL_PIPELINES", REPO_ROOT / "pipelines"))


def available_recipes() -> list[str]:
    return sorted({p.stem for p in recipes_dir().glob("*.yaml")} | set(plugin_recipes()))


def plugin_recipes() -> dict[str, tuple[Path, plugins.Target]]:
    """Recipes shipped by installed plug-ins: name -> (its YAML file, the entry point that ships it)."""
    builtin = {p.stem: p for p in recipes_dir().glob("*.yaml")}
    out: dict[str, tuple[Path, plugins.Target]] = {}
    for target in plugins.targets("recipe", {}).values():
        for path in _recipe_files(target):
            clash = builtin.get(path.stem) or (out[path.stem][0] if path.stem in out else None)
            if clash is not None:
                raise plugins.PluginError(
                    f"recipe {path.stem!r} of the plug-in package {target.distribution} ({path}) has the name of "
                    f"{clash}; rename the plug-in's YAML file"
                )
            out[path.stem] = (path, target)
    return out


def _recipe_files(target: plugins.Target) -> list[Path]:
    where = f"recipe entry point {target.name!r} of {target.distribution} ({target.value})"
    if target.attr:
        raise plugins.PluginError(f"{where}: name a package whose folder holds the recipe YAML files, not an object")
    try:
        spec = importlib.util.find_spec(target.module)
    except (ImportError, ValueError) as exc:
        raise plugins.PluginError(f"{where}: cannot import {target.module!r} ({exc})") from exc
    if spec is None or not spec.submodule_search_locations:
        raise plugins.PluginError(f"{where}: {target.module!r} is not an installed package (a folder of YAML files)")
    return sorted(p for folder in spec.submodule_search_locations for p in Path(folder).glob("*.yaml"))


def recipe_plugin_info(name: str) -> dict | None:
    """What a run plan records of a recipe a plug-in ships: None for a built-in recipe or a YAML path."""
    as_path = Path(name)
    if (as_path.suffix in (".yaml", ".yml") and as_path.is_file()) or (recipes_dir() / f"{name}.yaml").is_file():
        return None
    found = plugin_recipes().get(name)
    return None if found is None else {**plugins.origin(found[1]), "name": name}


def recipe_path(name: str) -> Path:
    """A recipe by name (``recipes/<name>.yaml``, or a plug-in's) or by path to a YAML file of the same shape."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") and as_path.is_file():
        return as_path
    path = recipes_dir() / f"{name}.yaml"
    shipped = plugin_recipes()  # also refuses a plug-in recipe named like a built-in one
    if not path.is_file() and name in shipped:
        return shipped[name][0]
    if not path.is_file():
        raise ConfigError(
            f"unknown recipe {name!r}; choose one of: {', '.join(available_recipes())} "
            f"(see `prmlabel recipes`), or pass the path of a recipe YAML file"
        )
    return path


def load_recipe(name: str) -> DictConfig:
    cfg = OmegaConf.load(recipe_path(name))
    assert isinstance(cfg, DictConfig)
    return cfg


def compose_recipe(name: str, overrides: list[str]) -> dict[str, Any]:
    """The recipe with its pipeline loaded and the overrides applied, interpolations resolved."""
    cfg = load_recipe(name)
    OmegaConf.set_struct(cfg, False)
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as exc:
        raise ConfigError(f"cannot parse overrides {overrides}: {exc}") from exc
    pipeline_choice = next((o.value() for o in parsed if o.key_or_group == "pipeline" and not o.is_delete()), None)
    cfg.pipeline = _load_pipeline(str(pipeline_choice or cfg.get("pipeline") or "local"))
    for override in parsed:
        key, value = override.key_or_group, override.value()
        if key == "pipeline":
            continue
        if key == "backend" and isinstance(value, str):
            key = "backend.name"  # `backend=vllm`: the engine's name, keeping the recipe's other backend keys
        try:
            if override.is_delete():
                _delete(cfg, key)
                continue
            exists = OmegaConf.select(cfg, key, default=_MISSING) is not _MISSING
            if (
                not exists
                and not override.is_add()
                and not override.is_force_add()
                and not key.startswith(OPEN_PREFIXES)
            ):
                raise ConfigError(
                    f"override {override.input_line!r}: the recipe {name!r} has no key {key!r}; "
                    f"see `prmlabel run {name} --show-config` for the keys, or write +{key}=... to add one"
                )
            OmegaConf.update(cfg, key, value, merge=False)
        except OmegaConfBaseException as exc:
            raise ConfigError(f"cannot apply override {override.input_line!r}: {exc}") from exc
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"recipe {name!r}: {exc}") from exc
    assert isinstance(resolved, dict)
    check_recipe(name, resolved)
    return resolved


def _load_pipeline(choice: str) -> DictConfig:
    path = pipelines_dir() / f"{choice}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in pipelines_dir().glob("*.yaml"))
        raise ConfigError(f"unknown pipeline {choice!r}; choose one of: {', '.join(names)}")
    pipeline = OmegaConf.load(path)
    assert isinstance(pipeline, DictConfig)
    return pipeline


def _delete(cfg: DictConfig, key: str) -> None:
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    if parent is None or leaf not in parent:
        raise ConfigError(f"~{key}: no such key to delete")
    del parent[leaf]


def check_recipe(name: str, cfg: dict[str, Any]) -> None:
    """A recipe's stage graph must be runnable: known commands, inputs that name earlier stages."""
    stages = cfg.get("stages") or {}
    if not stages:
        raise ConfigError(f"recipe {name!r} names no stages")
    seen: list[str] = []
    for stage, spec in stages.items():
        command = (spec or {}).get("command")
        if command not in STAGE_COMMANDS:
            raise ConfigError(f"recipe {name!r}, stage {stage!r}: command {command!r} is not one of {STAGE_COMMANDS}")
        for ref_key in ("input", "with"):
            ref = spec.get(ref_key)
            if ref is not None and ref not in seen:
                raise ConfigError(
                    f"recipe {name!r}, stage {stage!r}: {ref_key} {ref!r} must name an earlier stage ({seen or 'none'})"
                )
        if spec.get("input") is None and command not in SOURCE_COMMANDS:
            raise ConfigError(f"recipe {name!r}, stage {stage!r}: a {command} stage needs input: <earlier stage>")
        seen.append(stage)
    num_shards = (cfg.get("pipeline") or {}).get("num_shards")
    if not isinstance(num_shards, int) or num_shards < 1:
        raise ConfigError(f"pipeline.num_shards must be a positive integer, not {num_shards!r}")


def recipe_summary(name: str) -> dict[str, str]:
    """What `prmlabel recipes` lists: the paper, the stage chain and the cost model."""
    cfg = OmegaConf.to_container(load_recipe(name), resolve=False)
    assert isinstance(cfg, dict)
    chain = " -> ".join(
        f"{stage}" + (f" ({spec['options']['method']})" if "method" in (spec.get("options") or {}) else "")
        for stage, spec in (cfg.get("stages") or {}).items()
    )
    return {"name": name, "paper": str(cfg.get("paper", "")), "stages": chain, "cost": str(cfg.get("cost", ""))}
