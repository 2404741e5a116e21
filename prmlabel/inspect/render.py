"""Plain-text tables for `prmlabel stats` (what a terminal and a log file both show well)."""

from __future__ import annotations

from typing import Any


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).replace("%", "").isdigit()


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def render_stats(stats: dict[str, Any]) -> str:
    stages = stats["stages"]
    out = [f"run {stats['run']}: {len(stages)} stage folders", "", "Stages (rows in = out + rejected)"]
    out.append(
        table(
            ["stage", "kind", "shards", "rows in", "rows out", "rejected", "rows written", "seconds"],
            [
                [
                    s["name"],
                    s["kind"],
                    f"{s['shards_done']}/{s['shards']}",
                    s["rows_in"],
                    s["rows_out"],
                    s["rows_rejected"],
                    s["rows_written"],
                    s["seconds"],
                ]
                for s in stages
            ],
        )
    )
    balance = [s for s in stages if s.get("balance")]
    if balance:
        out += ["", "Label balance (steps; labeled: kept rows' labels_final, soft counted good at >= 0.5)"]
        rows = []
        for s in balance:
            b = s["balance"]
            rows.append([s["name"], b["good"], b["bad"], b["unknown"], _pct(b["bad"], b["good"] + b["bad"])])
        out.append(table(["stage", "good", "bad", "unknown", "bad share"], rows))
    if any(s.get("decided") for s in stages):
        out += ["", "Decided / undecided per method (undecided = null, never a negative; labeled: kept rows)"]
        keys = ["method", "value_kind", "responses", "responses_decided", "responses_undecided"]
        keys += ["steps_decided", "steps_undecided"]
        rows = [[s["name"]] + [m[k] for k in keys] for s in stages for m in s.get("decided") or []]
        headers = ["stage", "method", "value kind", "responses", "first error known", "first error null"]
        out.append(table(headers + ["steps decided", "steps null"], rows))
    for s in stages:
        d = s.get("details") or {}
        if s["kind"] == "rollouts" and d:
            out += [
                "",
                f"{s['name']}: {d['responses']} responses to {d['problems']} problems, "
                f"accuracy {_cell(d['accuracy'])}, {_cell(d['mean_steps'])} steps on average, {d['tokens']} tokens",
            ]
        if s["kind"] == "labeled" and d:
            out += ["", f"{s['name']}: kept {d['kept']}, dropped {d['dropped']}; label kinds {d['label_kinds']}"]
            out.append(table(["keep", "reason", "rows"], [list(r) for r in d["reasons"]]))
        if s["kind"] == "labels" and d.get("vs_gold"):
            g = d["vs_gold"]
            out += [
                "",
                f"{s['name']} vs gold_first_error ({g['n']} responses): acc on erroneous "
                f"{g['acc_error']:.3f}, acc on correct {g['acc_correct']:.3f}, F1 {g['f1']:.3f}",
            ]
    histograms = [s for s in stages if s.get("first_error")]
    if histograms:
        positions = sorted({fe for s in histograms for fe, _ in s["first_error"]}, key=lambda v: (v is None, v))
        out += ["", "First-error position (responses; -1 = no error, - = unknown)"]
        rows = []
        for fe in positions:
            rows.append([fe] + [dict(s["first_error"]).get(fe, 0) for s in histograms])
        out.append(table(["first_error"] + [s["name"] for s in histograms], rows))
    if stats["agreement"]:
        out += ["", "Agreement between label folders (same responses)"]
        out.append(
            table(
                ["a", "b", "responses", "same first error", "same step label"],
                [[a["a"], a["b"], a["responses"], a["same_first_error"], a["same_step"]] for a in stats["agreement"]],
            )
        )
    out += ["", "Cost (rollouts and tokens the rows cost; generated = rollouts this run drew, after the cache)"]
    out.append(
        table(
            ["stage", "method", "rollouts", "generated", "tokens", "prompt tokens", "seconds"],
            [
                [
                    s["name"],
                    s["cost"]["method"],
                    s["cost"]["rollouts"],
                    s["cost"]["generated_rollouts"],
                    s["cost"]["tokens"],
                    s["cost"]["prompt_tokens"],
                    s["cost"]["seconds"],
                ]
                for s in stages
            ],
        )
    )
    return "\n".join(out) + "\n"
