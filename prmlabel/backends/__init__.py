"""Policy backends, registered by name and imported lazily (no engine import unless chosen)."""

from __future__ import annotations

import importlib
from typing import Any

from prmlabel.backends.base import Backend, Completion, GenerationRequest, GenerationResult, Sampling

# name -> "module:factory"; the module is imported only when the backend is chosen.
_REGISTRY: dict[str, str] = {
    "synthetic": "prmlabel.backends.synthetic:SyntheticBackend",
}


def register_backend(name: str, target: str) -> None:
    """Register ``target`` ("package.module:Factory") under ``name``."""
    _REGISTRY[name] = target


def available_backends() -> list[str]:
    return sorted(_REGISTRY)


def load_backend(name: str, **options: Any) -> Backend:
    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(available_backends())}")
    module_name, _, factory_name = _REGISTRY[name].partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    return factory(**options)


__all__ = [
    "Backend",
    "Completion",
    "GenerationRequest",
    "GenerationResult",
    "Sampling",
    "available_backends",
    "load_backend",
    "register_backend",
]
