"""Policy backends, registered by name and imported lazily (no engine import unless chosen)."""

from __future__ import annotations

import importlib
from typing import Any

from prmlabel.backends.base import Backend, Completion, GenerationRequest, GenerationResult, Sampling

# name -> "module:factory"; the module is imported only when the backend is chosen.
_REGISTRY: dict[str, str] = {
    "synthetic": "prmlabel.backends.synthetic:SyntheticBackend",
    "llamacpp": "prmlabel.backends.llamacpp:LlamaCppBackend",
    "openai": "prmlabel.backends.openai_compat:OpenAIBackend",
    "vllm": "prmlabel.backends.vllm:VLLMBackend",
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


class LazyBackend:
    """The configured backend, built on first use: a run whose shards are all done starts no engine.

    ``spec`` is a config's ``backend`` block (``name``, ``model``, ``options``); the name is checked
    at once, so a typo fails before any work.
    """

    def __init__(self, spec: dict[str, Any]):
        if spec["name"] not in _REGISTRY:
            raise ValueError(f"unknown backend {spec['name']!r}; choose one of: {', '.join(available_backends())}")
        self.spec = spec
        self._backend: Backend | None = None

    def get(self) -> Backend:
        if self._backend is None:
            spec = self.spec
            self._backend = load_backend(spec["name"], model=spec.get("model"), **(spec.get("options") or {}))
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


__all__ = [
    "LazyBackend",
    "Backend",
    "Completion",
    "GenerationRequest",
    "GenerationResult",
    "Sampling",
    "available_backends",
    "load_backend",
    "register_backend",
]
