"""`prmlabel stats`: what a run holds, per stage, computed with DuckDB over the stage views.

Per stage: shards and rows in/out/rejected (from the completion records), label balance (steps
labeled good / bad / unknown; soft labels count as good at >= 0.5), decided and undecided steps and
responses per method (an undecided step is null, a response with no first error known has
``first_error`` null), the first-error position histogram, and cost (rollouts, tokens, seconds).
Across label folders: how often two methods agree on the same responses (same first error; same
hard label where both know the step).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import duckdb

from prmlabel.export.scores import first_error_scores
from prmlabel.export.value_kinds import row_value_kind
from prmlabel.inspect.run_folder import StageFolder, connect, quote


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchone() or ()


def accounting(stage: StageFolder) -> dict[str, Any]:
    records = stage.records()
    out: dict[str, Any] = {
        "shards_done": len(records),
        "shards": stage.manifest.get("num_shards"),
        "rows_in": sum(r["rows_in"] for r in records),
        "rows_out": sum(r["rows_out"] for r in records),
        "rows_rejected": sum(r["rows_rejected"] for r in records),
        "rows_written": sum(r["rows_written"] for r in records),
        "seconds": round(sum(r["seconds"] for r in records), 3),
    }
    return out


def cost(stage: StageFolder) -> dict[str, Any]:
    """Rollouts used and generated, tokens and seconds, summed over the shard records (for a labels
    folder, :func:`label_cost` replaces rollouts and tokens with what its rows cost)."""
    totals: dict[str, float] = {}
    for rec in stage.records():
        for key, value in rec.get("cost", {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
    return {
        "method": stage.manifest.get("config", {}).get("method") if stage.kind == "labels" else None,
        "rollouts": int(totals.get("rollouts", 0)),
        "generated_rollouts": int(totals.get("generated_rollouts", totals.get("rollouts", 0))),
        "tokens": int(totals.get("generated_tokens", totals.get("completion_tokens", 0))),
        "prompt_tokens": int(totals.get("prompt_tokens", 0)),
        "seconds": round(sum(r["seconds"] for r in stage.records()), 3),
    }


def label_cost(con: duckdb.DuckDBPyConnection, stage: StageFolder) -> dict[str, int]:
    """What a labels folder's rows cost (``label_cost``), the same whatever the rollout cache held."""
    rollouts, tokens, prompt_tokens = _one(
        con,
        f"SELECT sum(label_cost.rollouts), sum(label_cost.generated_tokens), sum(label_cost.prompt_tokens) "
        f"FROM {quote(stage.name)}",
    )
    return {"rollouts": int(rollouts or 0), "tokens": int(tokens or 0), "prompt_tokens": int(prompt_tokens or 0)}


def label_balance(con: duckdb.DuckDBPyConnection, stage: StageFolder) -> dict[str, int] | None:
    """Steps labeled good, bad and unknown: ``hard`` for labels, kept rows' ``labels_final`` for labeled."""
    view = quote(stage.name)
    if stage.kind == "labels":
        sql = f"SELECT h FROM (SELECT unnest(hard) AS h FROM {view})"
        good, bad, unknown = _one(
            con, f"SELECT count(*) FILTER (h), count(*) FILTER (NOT h), count(*) FILTER (h IS NULL) FROM ({sql})"
        )
    elif stage.kind == "labeled":
        sql = f"SELECT unnest(labels_final) AS v FROM {view} WHERE keep"
        good, bad, unknown = _one(
            con,
            f"SELECT count(*) FILTER (v >= 0.5), count(*) FILTER (v < 0.5), count(*) FILTER (v IS NULL) FROM ({sql})",
        )
    else:
        return None
    return {"good": good, "bad": bad, "unknown": unknown}


def decided(con: duckdb.DuckDBPyConnection, stage: StageFolder) -> list[dict[str, Any]] | None:
    """Per method: steps decided (a label that is not null) and undecided (null, or no labels at all),
    responses with a first error known (-1 or a step) and unknown (null); kept rows only for a labeled
    folder, whose steps are its ``labels_final`` (steps cut after a first error are not counted)."""
    view = quote(stage.name)
    if stage.kind == "labels":
        labels, n_steps, where = "hard", "len(steps)", ""
    elif stage.kind == "labeled":
        labels, n_steps, where = "labels_final", "len(labels_final)", "WHERE keep"
    else:
        return None
    columns = {name for (name, *_) in con.execute(f"DESCRIBE {view}").fetchall()}
    kind = "value_kind" if "value_kind" in columns else "NULL"  # folders from before the column
    known = f"coalesce(list_aggregate({labels}, 'count'), 0)"  # the count aggregate skips nulls
    rows = con.execute(
        f"""SELECT method, {kind}, count(*), count(first_error), count(*) - count(first_error),
                coalesce(sum({known}), 0), coalesce(sum(coalesce({n_steps}, 0) - {known}), 0)
            FROM {view} {where} GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2 NULLS LAST"""
    ).fetchall()
    keys = ["responses", "responses_decided", "responses_undecided", "steps_decided", "steps_undecided"]
    return [
        {
            "method": method,
            "value_kind": row_value_kind(vk, method),
            **{k: int(v) for k, v in zip(keys, rest, strict=True)},
        }
        for method, vk, *rest in rows
    ]


def first_error_histogram(con: duckdb.DuckDBPyConnection, stage: StageFolder) -> list[tuple[int | None, int]]:
    """(first_error, responses), -1 = no error, None = unknown; kept rows only for a labeled folder."""
    where = "WHERE keep" if stage.kind == "labeled" else ""
    return [
        (fe, n)
        for fe, n in con.execute(
            f"SELECT first_error, count(*) FROM {quote(stage.name)} {where} GROUP BY 1 ORDER BY 1 NULLS LAST"
        ).fetchall()
    ]


def stage_details(con: duckdb.DuckDBPyConnection, stage: StageFolder) -> dict[str, Any]:
    view = quote(stage.name)
    if stage.kind == "rollouts":
        n, problems, acc, steps, tokens = _one(
            con,
            f"SELECT count(*), count(DISTINCT problem_id), avg(is_correct::INT), avg(len(steps)), "
            f"sum(completion_tokens) FROM {view}",
        )
        return {"responses": n, "problems": problems, "accuracy": acc, "mean_steps": steps, "tokens": tokens}
    if stage.kind == "labels":
        methods = [m for (m,) in con.execute(f"SELECT DISTINCT method FROM {view} ORDER BY 1").fetchall()]
        n, with_error, unknown_fe = _one(
            con,
            f"SELECT count(*), count(*) FILTER (first_error >= 0), count(*) FILTER (first_error IS NULL) FROM {view}",
        )
        details: dict[str, Any] = {"methods": methods, "responses": n, "with_error": with_error}
        details["unknown_first_error"] = unknown_fe
        gold = con.execute(
            f"SELECT first_error, gold_first_error FROM {view} WHERE gold_first_error IS NOT NULL "
            "AND first_error IS NOT NULL"
        ).fetchall()
        if gold:
            scores = first_error_scores([p for p, _ in gold], [g for _, g in gold])
            details["vs_gold"] = {"n": len(gold), "acc_error": scores.acc_error, "acc_correct": scores.acc_correct}
            details["vs_gold"]["f1"] = scores.f1
        return details
    if stage.kind == "labeled":
        kept, dropped = _one(con, f"SELECT count(*) FILTER (keep), count(*) FILTER (NOT keep) FROM {view}")
        reasons = con.execute(
            f"SELECT keep, reason, count(*) FROM {view} GROUP BY 1, 2 ORDER BY 1 DESC, 3 DESC, 2"
        ).fetchall()
        kinds = dict(con.execute(f"SELECT label_kind, count(*) FROM {view} WHERE keep GROUP BY 1").fetchall())
        return {"kept": kept, "dropped": dropped, "reasons": reasons, "label_kinds": kinds}
    return {}


def agreement(con: duckdb.DuckDBPyConnection, a: StageFolder, b: StageFolder) -> dict[str, Any]:
    """Two label folders on their common responses: same first error, and same hard label per step
    where both know it."""
    sql = f"""
        WITH j AS (
            SELECT x.response_id, x.first_error AS fa, y.first_error AS fb, x.hard AS ha, y.hard AS hb
            FROM {quote(a.name)} x JOIN {quote(b.name)} y USING (response_id))
        SELECT count(*), avg((fa = fb)::INT) FILTER (fa IS NOT NULL AND fb IS NOT NULL),
            (SELECT avg((s.a = s.b)::INT) FROM (
                SELECT unnest(ha[1:least(len(ha), len(hb))]) AS a, unnest(hb[1:least(len(ha), len(hb))]) AS b
                FROM j) s WHERE s.a IS NOT NULL AND s.b IS NOT NULL)
        FROM j"""
    n, same_first_error, same_step = _one(con, sql)
    return {"a": a.name, "b": b.name, "responses": n, "same_first_error": same_first_error, "same_step": same_step}


def run_stats(run: str | Path) -> dict[str, Any]:
    con, stages = connect(run)
    out: dict[str, Any] = {"run": str(run), "stages": [], "agreement": []}
    for s in stages:
        entry: dict[str, Any] = {"name": s.name, "kind": s.kind, "stage": s.stage, "path": str(s.path)}
        entry.update(accounting(s))
        entry["cost"] = cost(s)
        if s.kind == "labels" and s.has_rows:
            entry["cost"].update(label_cost(con, s))
        if s.has_rows:
            entry["details"] = stage_details(con, s)
            entry["balance"] = label_balance(con, s)
            if s.kind in ("labels", "labeled"):
                entry["first_error"] = first_error_histogram(con, s)
                entry["decided"] = decided(con, s)
        out["stages"].append(entry)
    label_stages = [s for s in stages if s.kind == "labels" and s.has_rows]
    for a, b in combinations(label_stages, 2):
        out["agreement"].append(agreement(con, a, b))
    con.close()
    return out
