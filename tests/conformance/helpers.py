"""Shared by the conformance tests: hand-made rollout tables from ``tests/data/conformance/``.

Each table's cases list, per response, the outcomes of the continuations of each prefix
``steps[:t]`` (t = 1, 2, ...), written by hand, and the labels worked out by hand from the paper's
formula (the ``working`` field says how). The labeler runs on them through ``tests.labelers.driver``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "conformance"


def load_cases(recipe: str, name: str = "cases.json") -> dict[str, Any]:
    return json.loads((DATA / recipe / name).read_text(encoding="utf-8"))


def prefix_outcomes(steps: list[str], continuations: list[list[int | None]] | dict[str, list[int | None]]):
    """An outcome for ``drive``: the hand-written continuations of each prefix, in sample order.

    ``continuations`` is a list (entry i: the prefix of the first i + 1 steps) or a dict keyed by the
    number of steps in the prefix ("3": ``steps[:3]``) for rules that estimate only some prefixes.
    A request for a prefix the table does not list fails the test: the rule asked for rollouts the
    paper's rule does not spend."""
    if isinstance(continuations, dict):
        by_prefix = {"".join(steps[: int(t)]): row for t, row in continuations.items()}
    else:
        by_prefix = {"".join(steps[: t + 1]): row for t, row in enumerate(continuations)}

    def outcome(prefix: str, k: int, offset: int) -> list[int | None]:
        assert prefix in by_prefix, f"the paper's rule asks for no rollouts of {prefix!r}"
        row = by_prefix[prefix]
        assert offset + k <= len(row), f"{prefix!r}: asked for samples {offset}..{offset + k - 1}, table has {len(row)}"
        return row[offset : offset + k]

    return outcome


def same_values(got: list[float | None], want: list[float | None]) -> bool:
    return len(got) == len(want) and all(
        (g is None and w is None) or (g is not None and w is not None and math.isclose(g, w, abs_tol=1e-9))
        for g, w in zip(got, want, strict=True)
    )
