"""Policy backends, registered by name and imported lazily (no engine import unless chosen).

Beside the built-ins below, a plug-in package adds backends through the ``prmlabel.backends`` entry
point group (``name = "pkg.module:Factory"``), and ``--backend pkg.module:Factory`` names one
directly. The factory is called as ``Factory(model=..., **options)`` (docs/extending.md).
"""

from __future__ import annotations

from typing import Any

from prmlabel.backends.base import Backend, Completion, GenerationRequest, GenerationResult, Sampling
from prmlabel.runtime import plugins

# name -> "module:factory"; the module is imported only when the backend is chosen.
_REGISTRY: dict[str, str] = {
    "synthetic": "prmlabel.backends.synthetic:SyntheticBackend",
    "llamacpp": "prmlabel.backends.llamacpp:LlamaCppBackend",
    "openai": "prmlabel.backends.openai_compat:OpenAIBackend",
    "vllm": "prmlabel.backends.vllm:VLLMBackend",
}


# What a backend (the object its factory returns) must have (docs/extending.md).
INTERFACE = {
    "name": "str: the engine's name, written into provenance",
    "generate": "method generate(requests: list[GenerationRequest]) -> list[GenerationResult], in order",
    "provenance": "method provenance() -> dict with backend, model, model_hash, backend_version",
    "close": "method close() -> None",
}


def register_backend(name: str, target: str) -> None:
    """Register ``target`` ("package.module:Factory") under ``name`` (in-process; a package uses entry points)."""
    _REGISTRY[name] = target


def available_backends() -> list[str]:
    return sorted(plugins.targets("backend", _REGISTRY))


def backend_target(name: str) -> plugins.Target:
    def unknown(known: str) -> str:
        return f"unknown backend {name!r}; choose one of: {known}, or name a backend factory as package.module:Factory"

    return plugins.resolve("backend", name, _REGISTRY, unknown)


def plugin_info(name: str) -> dict[str, Any] | None:
    """What a run plan records of backend ``name``: None for a built-in, else the plug-in's origin."""
    target = backend_target(name)
    return None if target.builtin or name in _REGISTRY else plugins.origin(target)


def load_backend(name: str, **options: Any) -> Backend:
    target = backend_target(name)
    factory = plugins.load(target)
    if not callable(factory):
        raise plugins.PluginError(f"backend {name!r} ({target.value}) is not callable: name a class or factory")
    backend = factory(**options)
    if not (target.builtin or name in _REGISTRY):
        plugins.require(target, backend, INTERFACE)
    return backend


class LazyBackend:
    """The configured backend, built on first use: a run whose shards are all done starts no engine.

    ``spec`` is a config's ``backend`` block (``name``, ``model``, ``options``); the name is checked
    at once, so a typo fails before any work.
    """

    def __init__(self, spec: dict[str, Any]):
        backend_target(spec["name"])
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
    "backend_target",
    "load_backend",
    "plugin_info",
    "register_backend",
]
