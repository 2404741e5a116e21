"""Stage configs: Hydra composition, the resolved config, and its fingerprint.

Each stage has a YAML file in ``prmlabel/conf``. A command line composes it with the user's
trailing ``key=value`` overrides (Hydra's grammar), then applies the typed CLI options on top.
The fingerprint hashes the resolved config without the keys that cannot change the output
(``runtime.*``, the output path), so a re-run with another batch size resumes, while a re-run
with another seed is refused. Inputs count by what they hold, not where they are: a stage that
names its input's identity (``input_fingerprint``: the upstream folder's fingerprint, or the
content hash of a data file) leaves the path out, so `-i runs/r1/rollouts` and its absolute path,
or the same file copied elsewhere, resume the same output.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"  # prmlabel/conf: each stage's shipped config

# Sections whose keys are free-form (each backend has its own options): `key=value` adds or sets.
OPEN_SECTIONS = ("backend.options.", "params.")

# Keys that describe how a run executes, not what it writes.
RUNTIME_KEYS = ("runtime", "output")
# Path keys and the key that names what the path holds; with the identity set, the path is not hashed.
PATH_IDENTITIES = {"input": "input_fingerprint", "with": "with_fingerprint"}


class ConfigError(ValueError):
    """A config the user must fix; the message says how."""


def compose_config(stage: str, overrides: list[str], options: dict[str, Any] | None = None) -> DictConfig:
    """Compose ``conf/<stage>.yaml`` with Hydra overrides, then set ``options`` (dotted keys)."""
    overrides = [f"++{o}" if o.startswith(OPEN_SECTIONS) else o for o in overrides]
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR.resolve()), version_base=None):
            cfg = compose(config_name=stage, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(
            f"cannot apply overrides {overrides}: {exc}\n"
            f"Overrides are key=value with keys from `prmlabel {stage} --show-config`; "
            f"use +key=value to add a new key."
        ) from exc
    OmegaConf.set_struct(cfg, False)
    for key, value in (options or {}).items():
        if value is not None:
            OmegaConf.update(cfg, key, value, merge=False)
    return cfg


def compose_defaults(stage: str) -> dict[str, Any]:
    """The stage's config as shipped, with no overrides."""
    return to_container(compose_config(stage, []))


def to_container(cfg: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def fingerprint_view(config: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in config.items() if k not in RUNTIME_KEYS}
    for path_key, identity in PATH_IDENTITIES.items():
        if view.get(identity):
            view.pop(path_key, None)
    return view


def fingerprint(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the config without its runtime-only keys."""
    canon = json.dumps(fingerprint_view(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(config, dict):
        out: dict[str, Any] = {}
        for key, value in config.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): config}


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two configs' fingerprinted parts."""
    a, b = flatten(fingerprint_view(old)), flatten(fingerprint_view(new))
    for path_key, identity in PATH_IDENTITIES.items():
        if a.get(identity) != b.get(identity) and (old.get(path_key) or new.get(path_key)):
            # Say which input changed, not only that its hash did.
            a[path_key], b[path_key] = old.get(path_key, "<unset>"), new.get(path_key, "<unset>")
            if a[path_key] == b[path_key]:  # the same name holds other data now: name it beside its digest
                label = f"{identity} of {a[path_key]}"
                a[label], b[label] = a.pop(identity, "<unset>"), b.pop(identity, "<unset>")
    lines = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<unset>") != b.get(key, "<unset>"):
            lines.append(f"{key}: {a.get(key, '<unset>')!r} -> {b.get(key, '<unset>')!r}")
    return lines


def to_yaml(config: dict[str, Any]) -> str:
    return OmegaConf.to_yaml(OmegaConf.create(config))
