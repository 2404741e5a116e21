"""The rollout cache: one entry per sample of a prefix, keyed by what determines the sample.

Key = (model key, sampling, question, prefix, sample index, run seed). A repeat of a request, in
the same labeler or another one over the same responses, is answered without the backend.
"""

from __future__ import annotations

import hashlib

from prmlabel.engine.types import Rollout


def prefix_key(model_key: str, question: str, prefix: str) -> str:
    """A compact key for the (model + sampling + seed, question, prefix) triple."""
    h = hashlib.sha256()
    for part in (model_key, question, prefix):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


class RolloutCache:
    """In-memory sample store: ``(prefix key, sample index) -> Rollout``."""

    def __init__(self) -> None:
        self._samples: dict[tuple[str, int], Rollout] = {}

    def get(self, key: str, index: int) -> Rollout | None:
        return self._samples.get((key, index))

    def put(self, key: str, index: int, rollout: Rollout) -> None:
        self._samples[(key, index)] = rollout

    def __len__(self) -> int:
        return len(self._samples)
