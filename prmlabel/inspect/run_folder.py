"""A run folder (``runs/r1/``) as DuckDB views: one per stage folder, by the folder's name.

Each stage folder ``<name>`` (any folder holding ``manifest.json`` or ``part-*.parquet``) becomes
the view ``<name>`` over its shards, ``<name>_rejects`` over ``rejects/`` and ``<name>_records``
over ``_records/``; the table ``stages`` lists them with their kind (rollouts, labels, labeled).
A single stage folder works too: it is a run of one stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from prmlabel.contract.store import StoreError
from prmlabel.export.source import folder_kind

KIND_ORDER = {"problems": 0, "rollouts": 1, "labels": 2, "labeled": 3}


@dataclass
class StageFolder:
    name: str  # the view name: the folder's name
    path: Path
    kind: str  # rollouts, labels, labeled, ...
    manifest: dict[str, Any]

    @property
    def stage(self) -> str:
        return str(self.manifest.get("stage", self.kind))

    @property
    def has_rows(self) -> bool:
        return any(self.path.glob("part-*.parquet"))

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((self.path / "_records").glob("*.json"))]


def _is_stage_folder(path: Path) -> bool:
    return (path / "manifest.json").exists() or any(path.glob("part-*.parquet"))


def find_stages(run: str | Path) -> list[StageFolder]:
    """The stage folders of a run (its subfolders, or the folder itself), in pipeline order."""
    run = Path(run)
    if not run.is_dir():
        raise StoreError(f"{run} is not a folder; pass a run folder such as runs/r1 (it holds rollouts/, labels/, ...)")
    candidates = [run] if _is_stage_folder(run) else sorted(p for p in run.iterdir() if p.is_dir())
    stages: list[StageFolder] = []
    for path in candidates:
        if path.name.startswith((".", "_")) or not _is_stage_folder(path):
            continue  # e.g. _rollout_cache
        manifest_path = path / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
        stages.append(StageFolder(path.name, path, folder_kind(path), manifest))
    if not stages:
        raise StoreError(
            f"{run} holds no stage folders (folders with manifest.json or part-*.parquet); "
            "pass the folder that holds rollouts/, labels/, ... (e.g. runs/r1)"
        )
    return sorted(stages, key=lambda s: (KIND_ORDER.get(s.kind, 9), s.name))


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def connect(run: str | Path) -> tuple[duckdb.DuckDBPyConnection, list[StageFolder]]:
    """An in-memory DuckDB with a view per stage folder (and its rejects, nodes and records) and ``stages``."""
    stages = find_stages(run)
    con = duckdb.connect(":memory:")
    for s in stages:
        if s.has_rows:
            # union_by_name: a folder resumed over shards written before a column was added still reads
            parts = sql_path(s.path / "part-*.parquet")
            con.execute(f"CREATE VIEW {quote(s.name)} AS SELECT * FROM read_parquet({parts}, union_by_name = true)")
        if any((s.path / "rejects").glob("*.parquet")):
            glob = sql_path(s.path / "rejects" / "*.parquet")
            con.execute(f"CREATE VIEW {quote(s.name + '_rejects')} AS SELECT * FROM read_parquet({glob})")
        if any((s.path / "nodes").glob("*.parquet")):  # a tree method's search trees (docs/output.md)
            glob = sql_path(s.path / "nodes" / "*.parquet")
            con.execute(f"CREATE VIEW {quote(s.name + '_nodes')} AS SELECT * FROM read_parquet({glob})")
        if any((s.path / "_records").glob("*.json")):
            glob = sql_path(s.path / "_records" / "*.json")
            con.execute(
                f"CREATE VIEW {quote(s.name + '_records')} AS SELECT * FROM read_json_auto({glob}, union_by_name=true)"
            )
    con.execute("CREATE TABLE stages (name VARCHAR, kind VARCHAR, stage VARCHAR, path VARCHAR, num_shards INT)")
    for s in stages:
        con.execute(
            "INSERT INTO stages VALUES (?, ?, ?, ?, ?)",
            [s.name, s.kind, s.stage, str(s.path), s.manifest.get("num_shards")],
        )
    return con, stages


def view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The views and tables a query can name, in creation order."""
    views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
    return ["stages", *views]
