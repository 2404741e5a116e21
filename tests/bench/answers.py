"""The answer checker against math-verify alone, on math-verify's regression cases and on our case table.

Run: ``.venv/bin/python -m tests.bench.answers [--list]``. Prints, for each table, how often prmlabel's
``check_answer`` and math-verify's default ``parse`` + ``verify`` agree with the expected result, how often
prmlabel says UNDECIDABLE, and (``--list``) every row where either one disagrees.

math-verify's default ``parse`` includes ``ExprExtractionConfig``, which reads text with sympy's
``parse_expr``: it runs here only on these fixed, committed test strings, for comparison, never inside
prmlabel on model text.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from prmlabel.text.answers import Verdict, check_answer, compare_answers

DATA = Path(__file__).resolve().parents[1] / "data" / "answers"


def load(name: str) -> list[dict]:
    """Rows of ``tests/data/answers/<name>`` (jsonl: gold, pred, expected, optional kind)."""
    path = DATA / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_verdict(row: dict) -> Verdict:
    value = row["expected"]
    if isinstance(value, int):
        return Verdict.SAME if value else Verdict.DIFFERENT
    return Verdict(value)


def dollars(answer: str) -> str:
    """An answer as math-verify's ``parse`` expects LaTeX: inside ``$...$`` (unless it has them)."""
    return answer if "$" in answer else f"${answer}$"


def math_verify_default(gold: str, pred: str) -> Verdict:
    from math_verify import parse, verify

    try:
        return Verdict.SAME if verify(parse(gold), parse(pred)) else Verdict.DIFFERENT
    except Exception:
        return Verdict.DIFFERENT


def run_table(name: str, show: bool, shared: Path | None = None) -> dict:
    rows = processbench_rows(shared) if name == "processbench" and shared else load(name)
    ours_ok = mv_ok = undecidable = both = 0
    diffs: list[str] = []
    start = time.monotonic()
    for row in rows:
        want = expected_verdict(row)
        if row.get("kind") == "answer":  # an extracted answer: compared as is; math-verify needs "$"
            got = compare_answers(row["pred"], row["gold"])
            mv = math_verify_default(dollars(row["gold"]), dollars(row["pred"]))
        else:  # a response (math-verify's own rows: the prediction is read as a response)
            got = check_answer(row["pred"], row["gold"]).verdict
            mv = math_verify_default(dollars(row["gold"]) if "kind" in row else row["gold"], row["pred"])
        ours_ok += got == want
        mv_ok += mv == want
        both += got == mv
        undecidable += got == Verdict.UNDECIDABLE
        if show and (got != want or mv != want):
            line = f"  want {want.value:<11} ours {got.value:<11} mv {mv.value:<9} {row['gold']!r} | {row['pred']!r}"
            diffs.append(line[:300])
    return {
        "table": name,
        "rows": len(rows),
        "prmlabel agrees": ours_ok,
        "math-verify agrees": mv_ok,
        "prmlabel == math-verify": both,
        "prmlabel undecidable": undecidable,
        "seconds": round(time.monotonic() - start, 1),
        "diffs": diffs,
    }


def processbench_rows(shared: Path) -> list[dict]:
    """Every ProcessBench gsm8k row, and every math row whose problem is in MATH-500, with the reference
    answer of the same question (GSM8K's ``####``, MATH-500's ``answer``) and the human label."""

    def jsonl(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    gsm = {r["question"].strip(): r["answer"].split("####")[-1].strip() for r in jsonl(shared / "gsm8k/test.jsonl")}
    math = {r["problem"].strip(): r["answer"] for r in jsonl(shared / "math500/test.jsonl")}
    rows = []
    for split, golds in (("gsm8k", gsm), ("math", math)):
        for p in json.loads((shared / "processbench" / f"{split}.json").read_text(encoding="utf-8")):
            if p["problem"].strip() in golds:
                rows.append(
                    {
                        "gold": golds[p["problem"].strip()],
                        "pred": "\n\n".join(p["steps"]),
                        "expected": "same" if p["final_answer_correct"] else "different",
                        "kind": "response",
                    }
                )
    return rows


def main(argv: list[str]) -> None:
    """``[TABLE ...] [--list] [--shared DIR]``: DIR (e.g. ../shared/data) adds ProcessBench's human labels."""
    logging.disable(logging.CRITICAL)
    show = "--list" in argv
    shared = Path(argv[argv.index("--shared") + 1]) if "--shared" in argv else None
    if shared is not None:
        argv = [a for a in argv if a not in ("--shared", str(shared))]
    tables = [a for a in argv if not a.startswith("--")] or ["mathverify_cases.jsonl", "cases.jsonl"]
    if shared is not None:
        tables.append("processbench")
    print("| table | rows | prmlabel agrees | math-verify default agrees | prmlabel = math-verify | undecidable | s |")
    print("|---|---|---|---|---|---|---|")
    for name in tables:
        r = run_table(name, show, shared)
        print(
            f"| {r['table']} | {r['rows']} | {r['prmlabel agrees']} | {r['math-verify agrees']} "
            f"| {r['prmlabel == math-verify']} | {r['prmlabel undecidable']} | {r['seconds']} |"
        )
        for line in r["diffs"]:
            print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
