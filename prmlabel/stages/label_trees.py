"""The label stage's side for tree labelers: one search tree per question, labels rows and node rows.

A tree labeler (``per_question = True``: OmegaPRM's search, ReST-MCTS*) sees every response of a
question at once (:class:`~prmlabel.engine.types.QuestionView`) and returns
:class:`~prmlabel.engine.types.TreeLabels`. Every question of a shard is one scheduler job, so the
backend still sees one batch per round across all the shard's trees. From each result this module
writes:

- a labels row per input response the labeler labeled, and per path it read off its tree;
- a ``nodes/`` row per tree node (schema :data:`~prmlabel.contract.schema.NODES`);
- a reject per input row of a question the labeler dropped (e.g. OmegaPRM's question filter) or
  could not finish, with the reason.

An input response the labeler did not label (ReST-MCTS* grows its tree from the question alone)
counts as output: it produced the question's tree. So rows in = rows out + rejected still holds.
A question's cost is charged to its first labels row (the others carry zeros), so a sum over rows is
the shard's cost, never a multiple of it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from prmlabel.engine.scheduler import Job
from prmlabel.engine.types import Node, QuestionView, ResponseView, TreeLabels, TreePath
from prmlabel.synthetic.truth import gold_first_error_for
from prmlabel.text.answers import extract_answer

Item = tuple[str, int, dict[str, Any]]  # (input file, row number, row)
PROBLEM_KEYS = ("problem_id", "question", "reference_answer", "domain", "source", "meta")


def is_tree_labeler(labeler: Any) -> bool:
    return bool(getattr(labeler, "per_question", False))


def question_jobs(
    views: list[tuple[Item, ResponseView]], labeler: Any, template: str, step_delimiter: str
) -> list[Job]:
    """One job per question, its responses in (response_id) order; ``payload`` is the question's items."""
    by_question: dict[str, list[tuple[Item, ResponseView]]] = defaultdict(list)
    for item, view in views:
        by_question[view.problem_id].append((item, view))
    jobs = []
    for problem_id in sorted(by_question):
        members = sorted(by_question[problem_id], key=lambda iv: iv[1].response_id)
        first_row = members[0][0][2]
        view = QuestionView(
            problem_id=problem_id,
            problem=dict(members[0][1].problem or {}),
            responses=tuple(v for _, v in members),
        )
        jobs.append(
            Job(
                question=template.replace("{question}", first_row["question"]),
                reference=first_row.get("reference_answer"),
                domain=first_row.get("domain") or "math",
                program=labeler.label_question(view),
                payload=[item for item, _ in members],
                group=problem_id,
                step_delimiter=step_delimiter,
            )
        )
    return jobs


def tree_rows(
    job: Job, labeler: Any, provenance: dict[str, Any], sampling: dict[str, Any], seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[Item, str]]]:
    """(labels rows, node rows, rejected items with their reason) of one finished question job."""
    items: list[Item] = job.payload
    if job.error is not None or job.result is None:
        return [], [], [(item, job.error or "no labels") for item in items]
    result: TreeLabels = job.result
    if result.dropped is not None:
        return [], [], [(item, result.dropped) for item in items]
    rows: list[dict[str, Any]] = []
    cost = job.cost.as_dict()
    zero = dict.fromkeys(cost, 0)
    extra_common = {"question": result.extra} if result.extra else {}
    for _path, _number, row in items:
        labels = result.responses.get(row["response_id"])
        if labels is None:
            continue
        rows.append(
            _labels_row(
                row,
                labeler,
                labels.values,
                labels.hard,
                labels.first_error,
                {**labels.extra, **extra_common},
                provenance,
            )
        )
    first = items[0][2]
    for path in result.paths:
        rows.append(_path_row(first, path, labeler, provenance, sampling, seed, extra_common))
    for i, row in enumerate(rows):
        row["label_cost"] = cost if i == 0 else zero
    nodes = [_node_row(first, node, labeler, provenance) for node in result.nodes]
    return rows, nodes, []


def _labels_row(
    row: dict[str, Any],
    labeler: Any,
    values: list[float | None],
    hard: list[bool | None],
    first_error: int | None,
    extra: dict[str, Any],
    provenance: dict[str, Any],
) -> dict[str, Any]:
    return {
        **row,
        "method": labeler.name,
        "values": values,
        "value_kind": labeler.value_kind,
        "hard": hard,
        "first_error": first_error,
        "label_extra": json.dumps({**extra, "cost_scope": "question"}, sort_keys=True),
        "label_provenance": provenance,
    }


def _path_row(
    first: dict[str, Any],
    path: TreePath,
    labeler: Any,
    provenance: dict[str, Any],
    sampling: dict[str, Any],
    seed: int,
    extra_common: dict[str, Any],
) -> dict[str, Any]:
    """A path read off the tree, written as a response of its question (the problem's own fields kept)."""
    steps = list(path.steps)
    text = "".join(steps)
    problem = {key: first.get(key) for key in PROBLEM_KEYS}
    row = {
        **problem,
        "response_id": f"{first['problem_id']}/{path.path_id}",
        "sample_index": None,
        "policy": provenance.get("model", ""),
        "steps": steps,
        "step_split": "tree",
        "response": text,
        "final_answer": extract_answer(text, first.get("domain") or "math", strict=True),
        "is_correct": path.is_correct,
        "finish_reason": "stop",
        "sampling": sampling,
        "seed": seed,
        "prompt_tokens": None,
        "completion_tokens": None,
        "gold_first_error": gold_first_error_for(problem, steps),
        "provenance": {
            k: provenance.get(k, "")
            for k in ("backend", "model", "model_hash", "backend_version", "prmlabel_version", "config_fingerprint")
        },
    }
    extra = {**path.labels.extra, **extra_common, "tree_path": list(path.node_ids)}
    return _labels_row(row, labeler, path.labels.values, path.labels.hard, path.labels.first_error, extra, provenance)


def _node_row(first: dict[str, Any], node: Node, labeler: Any, provenance: dict[str, Any]) -> dict[str, Any]:
    drawn = node.rollouts + int(node.extra.get("undecided_rollouts", 0))
    return {
        "problem_id": first["problem_id"],
        "node_id": node.node_id,
        "parent_id": node.parent_id,
        "depth": node.depth,
        "question": first["question"],
        "reference_answer": first.get("reference_answer"),
        "prefix_steps": list(node.prefix_steps),
        "step": node.step,
        "visits": node.visits,
        "rollouts": node.rollouts,
        "successes": node.successes,
        "mc": node.mc,
        "q": node.q,
        "value_target": node.value_target,
        "value_kind": labeler.value_kind,
        "terminal": node.terminal,
        "correct": node.correct,
        "source": node.source,
        "response_id": node.response_id,
        "method": labeler.name,
        "node_extra": json.dumps(node.extra, sort_keys=True),
        "node_cost": {"rollouts": drawn, "generated_tokens": node.tokens},
        "node_provenance": provenance,
    }


def check_tree(problem_id: str, nodes: list[Node]) -> None:
    """A tree is a tree: ids 0..n-1 in order, one root, every other node's parent made before it."""
    for i, node in enumerate(nodes):
        if node.node_id != i:
            raise ValueError(f"{problem_id}: node {i} has node_id {node.node_id} (ids must be 0..n-1 in order)")
        if (node.parent_id is None) != (i == 0):
            raise ValueError(f"{problem_id}: node {i}: only the root (node 0) has no parent")
        if node.parent_id is not None and not 0 <= node.parent_id < i:
            raise ValueError(f"{problem_id}: node {i}'s parent {node.parent_id} does not come before it")
