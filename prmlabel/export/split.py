"""Train/validation split by problem, never by row: every response to a problem lands on one side.

Problems are ordered by a seeded hash of their id and the first ``round(fraction * problems)`` go
to validation (at least one when the fraction is above 0 and there are two or more problems), so
the split depends only on the seed and the set of problem ids, not on row order or sharding.
"""

from __future__ import annotations

import hashlib


def validation_problems(problem_ids: set[str], fraction: float, seed: int) -> set[str]:
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"--val-fraction {fraction} must be in [0, 1), e.g. --val-fraction 0.05")
    if fraction == 0.0 or len(problem_ids) < 2:
        return set()
    ordered = sorted(problem_ids, key=lambda pid: hashlib.sha256(f"{seed}\x00{pid}".encode()).hexdigest())
    count = min(max(1, round(fraction * len(ordered))), len(ordered) - 1)
    return set(ordered[:count])
