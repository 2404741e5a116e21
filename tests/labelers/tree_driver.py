"""Drive a tree labeler's program by hand: scripted one-step proposals and scripted continuations.

``steps[prefix]`` lists the one-step samples of ``prefix`` in sample order, each ``(text, terminal,
correct)`` (``correct`` is read only when terminal, as the scheduler does); ``values[prefix]`` lists
its full continuations, each ``(text, correct)``. A one-step request for a prefix the script does not
list fails the test; a continuation request for an unlisted prefix gets ``default`` (or fails when it
is None). Every round must be a non-empty list, answered in order, as the scheduler does.
"""

from __future__ import annotations

from collections.abc import Sequence

from prmlabel.engine.types import Rollout, RolloutRequest, RolloutResult, TreeLabels, TreeProgram

Step = tuple[str, bool, bool | None]
Continuation = tuple[str, bool | None]


def drive_tree(
    program: TreeProgram,
    steps: dict[str, Sequence[Step]],
    values: dict[str, Sequence[Continuation]],
    default: Continuation | None = None,
) -> tuple[TreeLabels, list[list[RolloutRequest]]]:
    """Run ``program`` to the end; return its labels and every round's requests."""
    rounds: list[list[RolloutRequest]] = []
    try:
        pending = next(program)
        while True:
            assert isinstance(pending, list) and pending, f"a round must be a non-empty list, got {pending!r}"
            rounds.append(pending)
            pending = program.send([_answer(request, steps, values, default) for request in pending])
    except StopIteration as stop:
        return stop.value, rounds


def _answer(
    request: RolloutRequest,
    steps: dict[str, Sequence[Step]],
    values: dict[str, Sequence[Continuation]],
    default: Continuation | None,
) -> RolloutResult:
    window = slice(request.offset, request.offset + request.k)
    if request.one_step:
        assert request.prefix in steps, f"no one-step samples scripted for {request.prefix!r}"
        rows = list(steps[request.prefix][window])
        assert len(rows) == request.k, f"{request.prefix!r}: samples {window} not all scripted"
        rollouts = tuple(
            Rollout(text, correct if terminal else None, "stop", 1, terminal=terminal)
            for text, terminal, correct in rows
        )
    else:
        if request.prefix in values:
            cont = list(values[request.prefix][window])
        else:
            assert default is not None, f"no continuations scripted for {request.prefix!r}"
            cont = [default] * request.k
        assert len(cont) == request.k, f"{request.prefix!r}: continuations {window} not all scripted"
        rollouts = tuple(Rollout(text, correct, "stop", 1) for text, correct in cont)
    return RolloutResult(request, rollouts)
