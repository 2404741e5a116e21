"""Labelers, one paper's rule per file, registered by name and imported when chosen."""

from __future__ import annotations

import importlib
from typing import Any

from prmlabel.labelers.base import Labeler, build_params

# name -> "module:LabelerClass:ParamsClass"
_REGISTRY: dict[str, str] = {
    "mc": "prmlabel.labelers.mc:MathShepherdMC:MCParams",
    "scan": "prmlabel.labelers.scan:SCAN:SCANParams",
    "rpe": "prmlabel.labelers.rpe:RelativeProgress:RPEParams",
    "pav": "prmlabel.labelers.pav:ProcessAdvantage:PAVParams",
    "omegaprm": "prmlabel.labelers.omegaprm:OmegaPRM:OmegaPRMParams",
    "z3": "prmlabel.labelers.z3_verifier:Z3Verifier:Z3Params",
    "sympy": "prmlabel.labelers.sympy_verifier:SympyVerifier:SympyParams",
    "grounded": "prmlabel.labelers.grounded:GroundedPRM:GroundedParams",
    "judge": "prmlabel.labelers.judge:LLMJudge:JudgeParams",
}


def available_labelers() -> list[str]:
    return sorted(_REGISTRY)


def load_labeler(name: str, options: dict[str, Any] | None = None) -> Labeler:
    if name not in _REGISTRY:
        raise ValueError(f"unknown --method {name!r}; choose one of: {', '.join(available_labelers())}")
    module_name, cls_name, params_name = _REGISTRY[name].split(":")
    module = importlib.import_module(module_name)
    params = build_params(getattr(module, params_name), dict(options or {}), name)
    return getattr(module, cls_name)(params)
