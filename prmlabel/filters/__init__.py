"""Filters, one rule per file, registered by name and imported when chosen; composable in a chain.

Beside the built-ins below, a plug-in package adds filters through the ``prmlabel.filters`` entry
point group, and a chain may name one directly as ``pkg.module:Class``. A plug-in filter names its
parameters dataclass in a ``Params`` class attribute (docs/extending.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from prmlabel.filters.base import Candidate, Filter
from prmlabel.labelers.base import build_params
from prmlabel.runtime import plugins

# name -> "module:FilterClass:ParamsClass"
_REGISTRY: dict[str, str] = {
    "consensus": "prmlabel.filters.consensus:ConsensusFilter:ConsensusParams",
    "scan": "prmlabel.filters.scan:ScanDenoiseFilter:ScanDenoiseParams",
    "prof": "prmlabel.filters.prof:PROFFilter:PROFParams",
    "balance": "prmlabel.filters.balance:BalanceFilter:BalanceParams",
    "dedup": "prmlabel.filters.dedup:DedupFilter:DedupParams",
}
_BUILTIN = {name: spec.rpartition(":")[0] for name, spec in _REGISTRY.items()}  # name -> "module:Class"

# What a filter class must have (docs/extending.md).
INTERFACE = {
    "name": "ClassVar[str]: the filter's name, written into each row's reason",
    "paper": "ClassVar[str]: the paper or rule it implements",
    "Params": "ClassVar[type]: the dataclass of its options (an empty @dataclass if it has none)",
    "apply": "method apply(candidates: list[Candidate]) -> None, dropping or keeping each with a reason",
    "params": "method params() -> dict of the options it runs with",
}


def available_filters() -> list[str]:
    return sorted(plugins.targets("filter", _BUILTIN))


def filter_target(name: str) -> plugins.Target:
    def unknown(known: str) -> str:
        return (
            f"unknown filter {name!r} in --method; choose from: {known}, or name a filter class as package.module:Class"
        )

    return plugins.resolve("filter", name, _BUILTIN, unknown)


def parse_chain(method: str) -> list[str]:
    """``"consensus,dedup"`` -> ``["consensus", "dedup"]``, naming an unknown filter."""
    names = [m.strip() for m in str(method).split(",") if m.strip()]
    if not names:
        raise ValueError(f"--method names no filter; choose from: {', '.join(available_filters())}")
    for name in names:
        filter_target(name)
    return names


def plugin_info(name: str) -> dict[str, Any] | None:
    """What a run plan records of filter ``name``: None for a built-in, else the plug-in's origin."""
    target = filter_target(name)
    return None if target.builtin else plugins.origin(target)


def filter_class(name: str) -> type:
    target = filter_target(name)
    if target.builtin and target.name in _REGISTRY:
        return plugins.load(target)
    cls = plugins.load(target)
    plugins.require(target, cls, INTERFACE)
    if not (isinstance(cls.Params, type) and dataclasses.is_dataclass(cls.Params)):
        raise plugins.PluginError(f"filter {name!r}: Params must be a dataclass class, not {cls.Params!r}")
    return cls


def params_class(name: str) -> type:
    target = filter_target(name)
    if target.builtin and target.name in _REGISTRY:
        module_name, _, params_name = _REGISTRY[target.name].split(":")
        return plugins.load(plugins.Target("filter", target.name, f"{module_name}:{params_name}"))
    return filter_class(name).Params  # type: ignore[attr-defined]


def load_filter(name: str, options: dict[str, Any] | None = None, **context: Any) -> Filter:
    """Build filter ``name`` from its options (``params.<name>.*``); ``context`` is e.g. the judge rows."""
    params = build_params(params_class(name), dict(options or {}), f"filter {name}")
    return filter_class(name)(params, **context)


__all__ = [
    "Candidate",
    "Filter",
    "available_filters",
    "filter_class",
    "load_filter",
    "params_class",
    "parse_chain",
    "plugin_info",
]
