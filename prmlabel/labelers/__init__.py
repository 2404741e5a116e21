"""Labelers, one paper's rule per file, registered by name and imported when chosen.

Beside the built-ins below, a plug-in package adds labelers through the ``prmlabel.labelers`` entry
point group, and ``--method pkg.module:Class`` loads one directly. A plug-in labeler names its
parameters dataclass in a ``Params`` class attribute (docs/extending.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from prmlabel.labelers.base import VALUE_KINDS, Labeler, build_params
from prmlabel.runtime import plugins

# name -> "module:LabelerClass:ParamsClass"
_REGISTRY: dict[str, str] = {
    "mc": "prmlabel.labelers.mc:MathShepherdMC:MCParams",
    "scan": "prmlabel.labelers.scan:SCAN:SCANParams",
    "rpe": "prmlabel.labelers.rpe:RelativeProgress:RPEParams",
    "pav": "prmlabel.labelers.pav:ProcessAdvantage:PAVParams",
    "omegaprm": "prmlabel.labelers.omegaprm:OmegaPRM:OmegaPRMParams",
    "rest_mcts": "prmlabel.labelers.rest_mcts:RestMCTS:RestMCTSParams",
    "z3": "prmlabel.labelers.z3_verifier:Z3Verifier:Z3Params",
    "sympy": "prmlabel.labelers.sympy_verifier:SympyVerifier:SympyParams",
    "grounded": "prmlabel.labelers.grounded:GroundedPRM:GroundedParams",
    "judge": "prmlabel.labelers.judge:LLMJudge:JudgeParams",
}
_BUILTIN = {name: spec.rpartition(":")[0] for name, spec in _REGISTRY.items()}  # name -> "module:Class"

# What a labeler class must have (docs/extending.md); ``label`` and ``params`` are methods.
INTERFACE = {
    "name": "ClassVar[str]: the method name written into every labels row",
    "paper": "ClassVar[str]: the paper or rule it implements",
    "value_kind": f"ClassVar[str]: what its values are, one of {', '.join(VALUE_KINDS)}",
    "Params": "ClassVar[type]: the dataclass of its options (an empty @dataclass if it has none)",
    "label": "method label(response: ResponseView) -> LabelProgram",
    "params": "method params() -> dict of the options it runs with",
}


def available_labelers() -> list[str]:
    """Built-in and installed plug-in labelers (a name clash between them is an error)."""
    return sorted(plugins.targets("labeler", _BUILTIN))


def labeler_target(name: str) -> plugins.Target:
    """Where ``--method name`` points: a built-in, an installed plug-in, or a ``module:Class`` given directly."""

    def unknown(known: str) -> str:
        return (
            f"unknown --method {name!r}; choose one of: {known}, "
            "or name a labeler class as --method package.module:Class"
        )

    return plugins.resolve("labeler", name, _BUILTIN, unknown)


def plugin_info(name: str) -> dict[str, Any] | None:
    """What a run plan records of ``--method name``: None for a built-in, else the plug-in's origin."""
    target = labeler_target(name)
    return None if target.builtin else plugins.origin(target)


def load_labeler(name: str, options: dict[str, Any] | None = None) -> Labeler:
    target = labeler_target(name)
    if target.builtin and target.name in _REGISTRY:
        module_name, cls_name, params_name = _REGISTRY[target.name].split(":")
        module = plugins.load(plugins.Target("labeler", target.name, module_name))
        params = build_params(getattr(module, params_name), dict(options or {}), name)
        return getattr(module, cls_name)(params)
    cls = plugins.load(target)
    _check_labeler_class(target, cls)
    return cls(build_params(cls.Params, dict(options or {}), name))


def _check_labeler_class(target: plugins.Target, cls: Any) -> None:
    plugins.require(target, cls, INTERFACE)
    where = f"labeler {target.name!r} ({target.value})"
    if not isinstance(cls, type):
        raise plugins.PluginError(f"{where} is a {type(cls).__name__}, not a class")
    if cls.value_kind not in VALUE_KINDS:
        raise plugins.PluginError(f"{where}: value_kind {cls.value_kind!r} is not one of {', '.join(VALUE_KINDS)}")
    if not (isinstance(cls.Params, type) and dataclasses.is_dataclass(cls.Params)):
        raise plugins.PluginError(f"{where}: Params must be a dataclass class, not {cls.Params!r}")
    if cls.name in _REGISTRY:
        raise plugins.PluginError(
            f"{where} writes method name {cls.name!r}, which is the built-in labeler {_BUILTIN[cls.name]}; "
            "give the plug-in's class another `name`"
        )
