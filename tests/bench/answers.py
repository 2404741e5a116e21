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

from prmlabel.answers import Verdict, check_answer, compare_answers

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


def run_table(name: str, show: bool) -> dict:
    rows = load(name)
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


def main(argv: list[str]) -> None:
    logging.disable(logging.CRITICAL)
    show = "--list" in argv
    tables = [a for a in argv if not a.startswith("--")] or ["mathverify_cases.jsonl", "cases.jsonl"]
    print("| table | rows | prmlabel agrees | math-verify default agrees | prmlabel = math-verify | undecidable |")
    print("|---|---|---|---|---|---|")
    for name in tables:
        r = run_table(name, show)
        print(
            f"| {r['table']} | {r['rows']} | {r['prmlabel agrees']} | {r['math-verify agrees']} "
            f"| {r['prmlabel == math-verify']} | {r['prmlabel undecidable']} |"
        )
        for line in r["diffs"]:
            print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
