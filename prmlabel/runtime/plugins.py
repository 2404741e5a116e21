"""Plug-ins by the Python packaging standard: entry points, found lazily, and ``module:Object`` targets.

A plug-in package declares what it adds in its ``pyproject.toml``::

    [project.entry-points."prmlabel.labelers"]
    first_low_mc = "plugin_example.rule:FirstLowMC"

Each registry (labelers, filters, backends, export formats, recipes) keeps its built-ins as
``name -> "module:Object"`` strings and asks :func:`targets` for the merged table only when a name is
looked up or listed: nothing of a plug-in is imported until it is chosen. A plug-in name that is
also a built-in's, or that two plug-ins share, is an error naming both. docs/extending.md says what
each kind of plug-in implements.

This module is on the bottom floor: it imports nothing else of prmlabel.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from prmlabel.runtime.errors import UserError

GROUPS = {
    "labeler": "prmlabel.labelers",
    "filter": "prmlabel.filters",
    "backend": "prmlabel.backends",
    "export format": "prmlabel.exports",
    "recipe": "prmlabel.recipes",
}
_TARGET = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*)?$")


class PluginError(UserError, ValueError):
    """A plug-in that cannot be used: not importable, clashing with another name, or lacking the interface."""


@dataclass(frozen=True)
class Target:
    """Where a name points: ``module`` and ``attr`` (empty: the module itself), and who shipped it."""

    kind: str
    name: str
    value: str  # "module:attr" or "module"
    distribution: str | None = None  # None: a built-in, or a target given directly (`--method pkg.mod:Class`)

    @property
    def module(self) -> str:
        return self.value.partition(":")[0]

    @property
    def attr(self) -> str:
        return self.value.partition(":")[2]

    @property
    def builtin(self) -> bool:
        return self.module.split(".")[0] == "prmlabel"


def is_target(text: str) -> bool:
    """``pkg.module:Object``: a plug-in named directly rather than by a registered name."""
    return ":" in text and bool(_TARGET.match(text))


def targets(kind: str, builtins: dict[str, str]) -> dict[str, Target]:
    """The built-ins and every installed plug-in of ``kind``; a name registered twice is an error."""
    out = {name: Target(kind, name, value) for name, value in builtins.items()}
    for ep in metadata.entry_points(group=GROUPS[kind]):
        dist = ep.dist.name if ep.dist is not None else None
        mine = Target(kind, ep.name, ep.value, dist)
        other = out.get(ep.name)
        if other is not None and other.value != ep.value:
            raise PluginError(
                f"{kind} name {ep.name!r} is registered twice: by {_who(other)} ({other.value}) and by "
                f"{_who(mine)} ({ep.value}). Rename the plug-in's entry point in its pyproject.toml "
                f'([project.entry-points."{GROUPS[kind]}"]) or uninstall one of them'
            )
        out[ep.name] = mine if other is None else other
    return out


def resolve(kind: str, name: str, builtins: dict[str, str], unknown: Callable[[str], str]) -> Target:
    """Where ``name`` points: a built-in, an installed plug-in, or a ``module:Class`` given directly.

    A direct target naming a built-in's own class is that built-in. ``unknown(known_names)`` is the
    error's text for a name that is none of these."""
    known = targets(kind, builtins)  # also refuses a plug-in named like a built-in
    if name in known:
        return known[name]
    if is_target(name):
        builtin = next((n for n, value in builtins.items() if value == name), None)
        return known[builtin] if builtin else Target(kind, name, name)
    raise ValueError(unknown(", ".join(sorted(known))))


def _who(target: Target) -> str:
    if target.builtin:
        return "prmlabel (built-in)"
    dist = target.distribution or _distribution_of(target.module)
    if dist is None:
        return f"module {target.module}, not from an installed package"
    return f"the plug-in package {dist} {_version(dist) or ''}".rstrip()


def _distribution_of(module: str) -> str | None:
    """The installed distribution that ships ``module``'s top-level package, if any."""
    return next(iter(metadata.packages_distributions().get(module.split(".")[0], [])), None)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def load(target: Target) -> Any:
    """Import the target's module and fetch its object; every failure names the plug-in and the cause."""
    where = f"{target.kind} {target.name!r} ({target.value}, from {_who(target)})"
    try:
        obj: Any = importlib.import_module(target.module)
    except ModuleNotFoundError as exc:
        raise PluginError(
            f"{where}: cannot import {target.module!r} ({exc}). Is the plug-in installed in the Python that "
            f"runs prmlabel ({sys.executable}), or on its PYTHONPATH?"
        ) from exc
    except Exception as exc:  # a plug-in's own import error: say whose, keep the cause
        raise PluginError(f"{where}: importing {target.module!r} failed: {type(exc).__name__}: {exc}") from exc
    for part in filter(None, target.attr.split(".")):
        if not hasattr(obj, part):
            raise PluginError(f"{where}: module {target.module!r} has no {target.attr!r}")
        obj = getattr(obj, part)
    return obj


def require(target: Target, obj: Any, attributes: dict[str, str]) -> None:
    """``attributes``: name -> what it is; a plug-in missing any of them is refused, naming them all."""
    missing = [f"{name} ({what})" for name, what in attributes.items() if not hasattr(obj, name)]
    if missing:
        raise PluginError(
            f"{target.kind} {target.name!r} ({target.value}) lacks what a prmlabel {target.kind} needs: "
            f"{'; '.join(missing)}. See docs/extending.md"
        )


def origin(target: Target) -> dict[str, Any]:
    """What a run plan records of a plug-in: its name, target, distribution and version."""
    dist = target.distribution
    if dist is None:  # a direct target: find the distribution that ships its top-level package, if any
        dist = _distribution_of(target.module)
    return {"kind": target.kind, "name": target.name, "target": target.value, "distribution": dist,
            "version": _version(dist) if dist else None}  # fmt: skip


def code_files(module: str) -> dict[str, Path]:
    """The files of ``module``'s top-level package (or the module's own file): what a code hash covers.

    Keys are paths relative to the package's parent folder, so they do not depend on where it is
    installed. Nothing is imported."""
    top = module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return {}
    if spec.submodule_search_locations:
        out: dict[str, Path] = {}
        for location in spec.submodule_search_locations:
            root = Path(location)
            for path in sorted(root.rglob("*")):
                if path.suffix in (".py", ".yaml", ".yml") and "__pycache__" not in path.parts:
                    out[f"{top}/{path.relative_to(root).as_posix()}"] = path
        return out
    return {Path(spec.origin).name: Path(spec.origin)} if spec.origin else {}


def code_hashes(module: str, label: str) -> dict[str, str]:
    """sha256 (16 hex) of each of :func:`code_files`, keyed ``plugins/<label>/<file>``; a module that
    cannot be found hashes to one ``(missing)`` entry, so a resume without the plug-in names it."""
    files = code_files(module)
    if not files:
        return {f"plugins/{label}/{module}": "(missing)"}
    return {f"plugins/{label}/{rel}": hashlib.sha256(p.read_bytes()).hexdigest()[:16] for rel, p in files.items()}
