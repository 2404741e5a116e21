"""GenPRM's choice of which sampled paths of a question get labeled (run inside ``prmlabel generate``).

Zhao et al., 2025, *GenPRM*, arXiv 2504.00891 §3.2.1; released code RyanLiu112/GenPRM @cc80f47,
``src/reward_generation/math_shepherd_ray.py``. It works on rollout rows, before any labeling, so
that the expensive MC estimation (K = 32..128 completions per step) is spent only on the chosen
paths; that is why it lives in the generate stage and not in ``prmlabel filter`` (which sees labels).

Per question, from the sampled paths (``select_paths`` = the code's ``num_paths``, default 16):

- A path is *invalid* when its generation did not stop (``finish_reason != 'stop'``) or it has a
  single step (math_shepherd_ray.py:72-77). An invalid path counts as incorrect (:86-88) but is
  never chosen (:210, :217, :232).
- A question with no incorrect path is ``easy``, one with no correct path ``hard``: neither is
  labeled (:252-255).
- Otherwise half = num_paths // 2 correct paths are drawn at random (all of them if fewer), then
  num_paths minus those from the valid incorrect ones (:205-219); if still short of num_paths, the
  rest comes from the larger group, correct or valid incorrect (:222-235).

Differences, written in docs/recipes/genprm_rpe.md: GenPRM samples 16 more paths at a time until it
has 8 of each (up to ~2048 paths, :181-199); here the pool is the ``samples`` drawn by generate. A
path whose correctness the checker could not decide is left out (``select:undecided``), never
counted as either. The draw is seeded by (seed, problem_id), not numpy's global state.
"""

from __future__ import annotations

import random
from typing import Any

from prmlabel.runtime.seeds import derive_seed


def is_valid_path(row: dict[str, Any]) -> bool:
    """GenPRM's valid path: generation stopped on its own and the path has more than one step."""
    return row.get("finish_reason") == "stop" and len(row.get("steps") or []) > 1


def select_paths(rows: list[dict[str, Any]], num_paths: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One question's rows -> (the chosen rows, {response_id: reason} for every row left out)."""
    rows = sorted(rows, key=lambda r: r["sample_index"])
    undecided = [r for r in rows if r["is_correct"] is None]
    # An invalid path is incorrect whatever its answer (GenPRM replaces it by '<INVALID>', :72-77, :86-88).
    correct = [r for r in rows if r["is_correct"] is True and is_valid_path(r)]
    incorrect = [r for r in rows if r["is_correct"] is False or (r["is_correct"] is True and not is_valid_path(r))]
    left_out = {r["response_id"]: "select:undecided" for r in undecided}
    if not incorrect or not correct:
        flag = "select:easy" if not incorrect else "select:hard"
        left_out.update({r["response_id"]: flag for r in correct + incorrect})
        return [], left_out
    rng = random.Random(derive_seed(seed, str(rows[0]["problem_id"])))
    valid_incorrect = [r for r in incorrect if is_valid_path(r)]
    half = num_paths // 2
    chosen_correct = rng.sample(correct, half) if len(correct) >= half else list(correct)
    remaining = num_paths - len(chosen_correct)
    chosen_incorrect = rng.sample(valid_incorrect, min(remaining, len(valid_incorrect)))
    additional = num_paths - len(chosen_correct) - len(chosen_incorrect)
    if additional > 0:
        if len(correct) >= len(incorrect):
            rest = [r for r in correct if r not in chosen_correct]
            chosen_correct += rng.sample(rest, min(additional, len(rest)))
        else:
            rest = [r for r in valid_incorrect if r not in chosen_incorrect]
            chosen_incorrect += rng.sample(rest, min(additional, len(rest)))
    chosen = {r["response_id"] for r in chosen_correct + chosen_incorrect}
    for r in correct + incorrect:
        if r["response_id"] not in chosen:
            left_out[r["response_id"]] = "select:not_chosen" if is_valid_path(r) else "select:invalid"
    return [r for r in rows if r["response_id"] in chosen], left_out
