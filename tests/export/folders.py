"""Small labels and labeled folders written through the real ShardStore, for the export tests.

The rows are chosen by hand so each test knows the answer: a response with an error at step 1, an
all-correct one, one whose labels turn unknown part way, one a filter dropped, soft values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prmlabel.contract.schema import LABELED, LABELS, ROLLOUTS, table_from_rows
from prmlabel.contract.store import ShardStore


def response(pid: str, k: int, steps: list[str], hard: list[bool | None], values: list[float | None], **extra: Any):
    first_error = next((i for i, h in enumerate(hard) if h is False), -1)
    return {
        "problem_id": pid,
        "question": f"Question {pid}: what is the final number?",
        "source": "handmade",
        "response_id": f"{pid}/r{k}",
        "sample_index": k,
        "steps": [s + "\n\n" for s in steps],
        "method": "mc",
        "hard": hard,
        "values": values,
        "first_error": first_error,
        **extra,
    }


LABEL_ROWS = [
    response("p1", 0, ["2 + 3 = 5", "5 * 2 = 10", "The answer is 10."], [True, True, True], [1.0, 0.9, 0.8]),
    response("p1", 1, ["2 + 3 = 6", "6 * 2 = 12", "The answer is 12."], [True, False, None], [0.75, 0.0, None]),
    response("p2", 0, ["7 - 1 = 6", "6 / 2 = 3"], [True, True], [0.6, 0.4]),
    response("p3", 0, ["1 + 1 = 2", "2 + 2 = 5", "5 + 1 = 6"], [None, None, None], [None, None, None]),
    response("p4", 0, ["9 - 3 = 6", "6 - 6 = 0"], [True, None], [0.5, None]),
    response("p5", 0, ["4 * 4 = 16", "16 / 4 = 4"], [True, True], [1.0, 1.0]),
]


def labeled_rows() -> list[dict]:
    rows = []
    for r in LABEL_ROWS:
        keep = r["response_id"] != "p2/r0"
        labels_final = [None if h is None else float(h) for h in r["hard"]]
        if r["first_error"] >= 0:
            labels_final = labels_final[: r["first_error"] + 1]  # steps after the first error are cut
        rows.append(
            {
                **r,
                "keep": keep,
                "reason": "consensus:agree" if keep else "consensus:disagree",
                "labels_final": labels_final,
                "label_kind": "hard",
                "weight": 1.0,
                "filter_chain": ["consensus"],
            }
        )
    return rows


def write_folder(path: Path, rows: list[dict], stage: str) -> Path:
    schema = {"filter": LABELED, "label": LABELS, "generate": ROLLOUTS}[stage]
    config = {"stage": stage, "input": "handmade", "seed": 0}
    with ShardStore(path).open(stage, config, f"fixture-{stage}", num_shards=1) as store:
        store.write_shard(0, table_from_rows(rows, schema), [], len(rows), len(rows), seconds=0.0, cost={})
    return path


def labels_folder(root: Path) -> Path:
    return write_folder(root / "labels", LABEL_ROWS, "label")


def labeled_folder(root: Path) -> Path:
    return write_folder(root / "labeled", labeled_rows(), "filter")
