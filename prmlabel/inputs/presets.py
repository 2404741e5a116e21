"""The import presets: public files of step-labeled responses -> one parsed row each.

One function per dataset (ProcessBench, BIG-Bench-Mistake, PRM800K, Math-Shepherd), registered in
:data:`PRESETS`, plus the pieces they share with a user's own field map (``importers._custom``):
steps joined so they partition the response, and human labels read into ``gold_first_error``
(index of the first wrong step, -1 = all right, None = unknown; unknown never becomes a verdict).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prmlabel.inputs.rows import RowError, get_field, scalar_text, text_field
from prmlabel.text.answers import DOMAINS, extract_answer, last_boxed

STEP_SEPARATOR = "\n\n"
SHEPHERD_TAG = "ки"
_GOOD = {"+", "true", "correct", "1"}
_BAD = {"-", "false", "incorrect", "0", "-1"}


@dataclass
class ParsedResponse:
    """What one input row says, before ids are assigned."""

    question: str
    reference_answer: str | None
    steps: list[str]
    step_split: str
    problem_id: str | None
    policy: str | None
    final_answer: str | None
    is_correct: bool | None
    gold_first_error: int | None
    domain: str
    meta: dict[str, Any]


def join_given(texts: Any, field: str) -> list[str]:
    """Source steps -> partitioning steps (separator appended to all but the last)."""
    if not isinstance(texts, list):
        got = "missing" if texts is None else f"a {type(texts).__name__}"
        raise RowError(field, f"steps field {field!r} is {got}; expected a list of step texts")
    if not texts:
        raise RowError(field, f"no steps: steps field {field!r} is an empty list")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            kind = type(text).__name__
            raise RowError(field, f"step {i} of field {field!r} has type {kind}; expected a string")
        if not text.strip():
            raise RowError(field, f"step {i} of field {field!r} is empty")
    return [t + STEP_SEPARATOR for t in texts[:-1]] + [texts[-1]]


def first_error_label(value: Any, n_steps: int, field: str) -> int | None:
    """A first-error index checked against the step count (-1 = no error, None = unknown)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowError(field, f"label field {field!r} is {value!r}; expected a step index (-1 = no error)")
    if not -1 <= value < n_steps:
        span = f"0..{n_steps - 1}, -1 = no error"
        raise RowError(field, f"label {value} is out of range for {n_steps} steps ({span})")
    return value


def _step_ok(value: Any, field: str, i: int) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    key = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if key in _GOOD:
        return True
    if key in _BAD:
        return False
    raise RowError(field, f"entry {i} of label field {field!r} is {value!r}; expected true/false, +/-, null")


def per_step_label(value: Any, n_steps: int, field: str) -> int | None:
    """Per-step verdicts -> first wrong step; -1 if all are right; None if a step before any error is
    unlabeled (unknown stays unknown, never becomes a verdict)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError as e:
                raise RowError(field, f"label field {field!r} is not a JSON list ({e})") from e
        elif text and set(text) <= {"+", "-"}:
            value = list(text)
    if not isinstance(value, list):
        kind = type(value).__name__
        raise RowError(field, f"label field {field!r} has type {kind}; expected one entry per step")
    if len(value) != n_steps:
        raise RowError(field, f"label field {field!r} has {len(value)} entries but there are {n_steps} steps")
    verdicts = [_step_ok(v, field, i) for i, v in enumerate(value)]
    for i, ok in enumerate(verdicts):
        if ok is None:
            return None
        if not ok:
            return i
    return -1


def final_answer_of(response: str, domain: str) -> str | None:
    return extract_answer(response, domain) if domain in DOMAINS else last_boxed(response)


def bool_field(data: dict[str, Any], name: str | None) -> bool | None:
    value = get_field(data, name) if name else None
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value if isinstance(value, bool) else None


# ------------------------------------------------------------------------------------------------------
# Presets
# ------------------------------------------------------------------------------------------------------


def _processbench(data: dict[str, Any]) -> ParsedResponse:
    """ProcessBench (QwenLM): ``id, generator, problem, steps[], final_answer_correct, label``."""
    question = text_field(data, "problem", "question")
    steps = join_given(get_field(data, "steps"), "steps")
    gold = first_error_label(get_field(data, "label"), len(steps), "label")
    carried = {"id", "generator", "problem", "steps", "final_answer_correct", "label"}
    return ParsedResponse(
        question,
        None,
        steps,
        "given",
        scalar_text(data, "id", "id"),
        scalar_text(data, "generator", "generator"),
        final_answer_of("".join(steps), "math"),
        bool_field(data, "final_answer_correct"),
        gold,
        "math",
        {k: v for k, v in data.items() if k not in carried},
    )


def _bigbench_mistake(data: dict[str, Any]) -> ParsedResponse:
    """BIG-Bench Mistake: ``input, steps[], target, answer, mistake_index`` (0-based, null = no mistake).

    These are non-math tasks (word sorting, multiple-choice deduction) whose answers are exact strings,
    so ``is_correct`` is ``answer == target`` after stripping; a trace without an answer is not correct.
    Decision: domain ``text``, as neither the math nor the logic answer rules fit these answers.
    """
    question = text_field(data, "input", "question")
    steps = join_given(get_field(data, "steps"), "steps")
    mistake = get_field(data, "mistake_index")
    gold = -1 if mistake is None else first_error_label(mistake, len(steps), "mistake_index")
    target = scalar_text(data, "target", "target")
    answer = scalar_text(data, "answer", "answer")
    is_correct = None if target is None else answer is not None and answer == target
    carried = {"input", "steps", "target", "answer", "mistake_index"}
    return ParsedResponse(
        question,
        target,
        steps,
        "given",
        None,
        None,
        answer,
        is_correct,
        gold,
        "text",
        {k: v for k, v in data.items() if k not in carried},
    )


def _prm800k(data: dict[str, Any]) -> ParsedResponse:
    """A raw PRM800K record (phase 1 or 2): ``question{problem, ground_truth_answer}``, ``label{steps[],
    finish_reason}``, each step with rated ``completions[]`` (-1/0/+1) and ``chosen_completion``.

    Decisions. The response is the chosen completion of each step. Where ``chosen_completion`` is null
    the labeling did not continue from any model completion at that step (phase 1: a human wrote the
    next step; phase 2 ``found_error``: the pre-generated step was wrong), so the response ends there
    with ``completions[0]`` (in phase 2 the pre-generated step): later steps were written after a
    different text and would not continue this one. ``gold_first_error`` is the first step rated -1;
    -1 when none is and the record ended with a solution (``finish_reason == "solution"``) without
    being cut; otherwise null (``give_up``, a cut without a -1 step, ...). A rating of 0 (neutral) is
    not an error. ``final_answer`` is the text after ``# Answer`` in the last step; ``is_correct`` is
    false without one, true if it equals ``ground_truth_answer`` as text, else the answer step's human
    rating (+1 true, -1 false), else null (left to a later answer check).
    """
    question = text_field(data, "question.problem", "question")
    reference = scalar_text(data, "question.ground_truth_answer", "ground_truth_answer")
    label = get_field(data, "label")
    if not isinstance(label, dict) or not isinstance(label.get("steps"), list):
        raise RowError("label", "field 'label' has no list of 'steps'; expected a raw PRM800K record")
    texts: list[str] = []
    ratings: list[Any] = []
    cut = False
    for i, step in enumerate(label["steps"]):
        comps = step.get("completions") if isinstance(step, dict) else None
        if not isinstance(comps, list) or not comps or not all(isinstance(c, dict) for c in comps):
            raise RowError("label", f"label step {i} has no completions")
        chosen = step.get("chosen_completion")
        valid = isinstance(chosen, int) and not isinstance(chosen, bool) and 0 <= chosen < len(comps)
        take = chosen if valid else 0
        texts.append(comps[take].get("text"))
        ratings.append(comps[take].get("rating"))
        if take != chosen:
            cut = True
            break
    steps = join_given(texts, "label")
    errors = [i for i, r in enumerate(ratings) if r == -1]
    finish = label.get("finish_reason")
    gold = errors[0] if errors else (-1 if finish == "solution" and not cut else None)
    last = texts[-1]
    final = (last.split("# Answer", 1)[1].strip() or None) if "# Answer" in last else None
    if final is None:
        is_correct: bool | None = False
    elif reference is not None and final == reference:
        is_correct = True
    else:
        is_correct = {1: True, -1: False}.get(ratings[-1])
    meta = {k: v for k, v in data.items() if k != "question"}
    rest = {k: v for k, v in data["question"].items() if k not in ("problem", "ground_truth_answer")}
    if rest:
        meta["question"] = rest
    return ParsedResponse(question, reference, steps, "given", None, None, final, is_correct, gold, "math", meta)


def _math_shepherd(data: dict[str, Any]) -> ParsedResponse:
    """Math-Shepherd: ``input`` = question + ``Step 1: ... ки\\nStep 2: ... ки``, ``label`` = the same text
    with each ``ки`` replaced by ``+``/``-`` (Monte-Carlo hard labels), ``task``.

    The question is the text before the first step's ``Step 1:``. ``gold_first_error`` is the first
    ``-`` (-1 if none); ``is_correct`` is the last step's mark, which for the final step is whether the
    solution's own answer is right. The marks after the first error are kept as ``meta.step_labels``.
    """
    text = text_field(data, "input", "input")
    marked = text_field(data, "label", "label")
    segments = text.split(SHEPHERD_TAG)
    if len(segments) < 2:
        raise RowError("input", f"no step tags {SHEPHERD_TAG!r} in field 'input'")
    if segments[-1].strip():
        raise RowError("input", f"text after the last step tag {SHEPHERD_TAG!r} in field 'input'")
    marks: list[str] = []
    pos = 0
    for seg in segments[:-1]:
        if not marked.startswith(seg, pos) or marked[pos + len(seg) : pos + len(seg) + 1] not in ("+", "-"):
            raise RowError("label", f"field 'label' is not field 'input' with each {SHEPHERD_TAG!r} -> +/-")
        pos += len(seg)
        marks.append(marked[pos])
        pos += 1
    if marked[pos:] != segments[-1]:
        raise RowError("label", f"field 'label' is not field 'input' with each {SHEPHERD_TAG!r} -> +/-")
    start = segments[0].rfind("Step 1:")
    if start < 0:
        raise RowError("input", "no 'Step 1:' before the first step tag in field 'input'")
    question = segments[0][:start].strip()
    if not question:
        raise RowError("input", "no question before 'Step 1:' in field 'input'")
    steps = join_given([segments[0][start:].strip()] + [s.strip() for s in segments[1:-1]], "input")
    last = steps[-1]
    at = last.rfind("The answer is:")
    final = (last[at + len("The answer is:") :].strip() or None) if at >= 0 else final_answer_of(last, "math")
    gold = marks.index("-") if "-" in marks else -1
    meta = {k: v for k, v in data.items() if k not in ("input", "label")}
    meta["step_labels"] = "".join(marks)
    return ParsedResponse(question, None, steps, "given", None, None, final, marks[-1] == "+", gold, "math", meta)


PRESETS: dict[str, Callable[[dict[str, Any]], ParsedResponse]] = {
    "processbench": _processbench,
    "bigbench_mistake": _bigbench_mistake,
    "prm800k": _prm800k,
    "math_shepherd": _math_shepherd,
}
