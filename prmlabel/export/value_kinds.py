"""What a labels row's ``values`` are, and what ``export --soft`` may do with each kind.

Every labeler declares ``value_kind`` (written into each labels row; a folder from before the column
existed is read by looking its ``method`` up in the labeler registry):

==============  ======================================================  ==========================
kind            values                                                   ``export --soft``
==============  ======================================================  ==========================
probability     in [0, 1]: a chance of reaching the reference (mc,       written as is (floats), or
                omegaprm, scan)                                          ``value >= T`` with
                                                                         ``--threshold T``
verdict         1 right / 0 wrong (judge, sympy, z3)                     written as 0/1 hard labels
ratio           P_t = MC_t / MC_{t-1}, may exceed 1 (rpe)                only with ``--threshold T``:
                                                                         ``P_t >= T`` is RPE's own
                                                                         rule (eps = T)
advantage       A_t in [-1, 1], a signed change of success (pav)         refused: export hard labels
score           GroundedPRM's fused path value in [-1, 1] (grounded)     refused: export hard labels
==============  ======================================================  ==========================

A ratio, advantage or score is not the probability that a step is right: PAV gives a right step of a
problem the policy already solves an advantage near 0, which as a probability reads "wrong".
"""

from __future__ import annotations

import importlib
from functools import cache

from prmlabel.contract.store import StoreError

PROBABILITY = "probability"
VERDICT = "verdict"
RATIO = "ratio"
ADVANTAGE = "advantage"
SCORE = "score"

# What --soft needs from the user, per kind it cannot write as step probabilities.
_REFUSALS = {
    RATIO: (
        "are relative-progress ratios P_t = MC_t / MC_(t-1) (they may exceed 1), not step probabilities. "
        "Pass --threshold T to write P_t >= T as true/false (RPE's own rule; its recipe uses eps = 0.8: "
        "--threshold 0.8), or drop --soft to export the hard labels the labeler decided"
    ),
    ADVANTAGE: (
        "are process advantages in [-1, 1] (a right step of a problem the policy already solves has an "
        "advantage near 0), not step probabilities, and no threshold in (0, 1] turns them into labels. "
        "Drop --soft to export the hard labels the labeler decided (advantage >= -params.threshold)"
    ),
    SCORE: (
        "are fused GroundedPRM scores in [-1, 1], not step probabilities. Drop --soft to export the "
        "hard labels the labeler decided (tool verdict, then fused score > 0)"
    ),
    None: (
        "have no declared kind (the folder has no value_kind column and the method is not a prmlabel "
        "labeler), so they cannot be written as step probabilities. Drop --soft to export hard labels"
    ),
}


@cache
def method_value_kind(method: str | None) -> str | None:
    """The ``value_kind`` a labeler declares, by method name; None for a name no labeler has."""
    from prmlabel.labelers import _REGISTRY  # the registry's own table; importing a labeler is cheap

    if method not in _REGISTRY:
        return None
    module_name, cls_name, _ = _REGISTRY[method].split(":")
    return getattr(getattr(importlib.import_module(module_name), cls_name), "value_kind", None)


def row_value_kind(value_kind: str | None, method: str | None) -> str | None:
    """The row's own ``value_kind``, else (a folder written before the column) its method's."""
    return value_kind or method_value_kind(method)


def soft_kind(value_kind: str | None, method: str | None, threshold: float | None) -> str:
    """How ``--soft`` writes a row's values: "soft" (probabilities, or a ratio cut at --threshold) or
    "hard" (verdicts are 0/1 already). Raises :class:`StoreError` saying what to do instead."""
    if value_kind == PROBABILITY:
        return "soft"
    if value_kind == VERDICT:
        return "hard"
    if value_kind == RATIO and threshold is not None:
        return "soft"
    raise StoreError(
        f"--soft: the values of --method {method} ({value_kind or 'unknown kind'}) "
        + _REFUSALS.get(value_kind, _REFUSALS[None])
    )


def check_soft_labels_final(value_kind: str | None, method: str | None) -> None:
    """A filtered row's soft ``labels_final`` must come from probabilities (SCAN's denoising divides
    c_t by the question's self-confidence); from other values they mean nothing a trainer can use."""
    if value_kind not in (PROBABILITY, VERDICT):
        raise StoreError(
            f"soft labels_final of --method {method} were made from {value_kind or 'undeclared'} values, "
            "not probabilities; filter that method's labels with a rule that keeps hard labels "
            "(e.g. consensus, balance), or filter the output of a probability method (mc, omegaprm, scan)"
        )
