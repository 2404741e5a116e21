"""Filters, one rule per file, registered by name and imported when chosen; composable in a chain."""

from __future__ import annotations

import importlib
from typing import Any

from prmlabel.filters.base import Candidate, Filter
from prmlabel.labelers.base import build_params

# name -> "module:FilterClass:ParamsClass"
_REGISTRY: dict[str, str] = {
    "consensus": "prmlabel.filters.consensus:ConsensusFilter:ConsensusParams",
    "scan": "prmlabel.filters.scan:ScanDenoiseFilter:ScanDenoiseParams",
    "prof": "prmlabel.filters.prof:PROFFilter:PROFParams",
    "balance": "prmlabel.filters.balance:BalanceFilter:BalanceParams",
    "dedup": "prmlabel.filters.dedup:DedupFilter:DedupParams",
}


def available_filters() -> list[str]:
    return sorted(_REGISTRY)


def parse_chain(method: str) -> list[str]:
    """``"consensus,dedup"`` -> ``["consensus", "dedup"]``, naming an unknown filter."""
    names = [m.strip() for m in str(method).split(",") if m.strip()]
    if not names:
        raise ValueError(f"--method names no filter; choose from: {', '.join(available_filters())}")
    for name in names:
        if name not in _REGISTRY:
            raise ValueError(f"unknown filter {name!r} in --method; choose from: {', '.join(available_filters())}")
    return names


def filter_class(name: str) -> type:
    module_name, cls_name, _ = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def params_class(name: str) -> type:
    module_name, _, params_name = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), params_name)


def load_filter(name: str, options: dict[str, Any] | None = None, **context: Any) -> Filter:
    """Build filter ``name`` from its options (``params.<name>.*``); ``context`` is e.g. the judge rows."""
    module_name, cls_name, params_name = _REGISTRY[name].split(":")
    module = importlib.import_module(module_name)
    params = build_params(getattr(module, params_name), dict(options or {}), f"filter {name}")
    return getattr(module, cls_name)(params, **context)


__all__ = ["Candidate", "Filter", "available_filters", "filter_class", "load_filter", "params_class", "parse_chain"]
