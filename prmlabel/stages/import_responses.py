"""`prmlabel import`: ready-made step-by-step responses -> rollouts.

Rows keep the file's human first-error label in ``gold_first_error`` so labels made later can be
scored against it. Nothing is generated, so the cost columns are zero and provenance names the file.
"""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from prmlabel import __version__
from prmlabel.contract.config import compose_defaults
from prmlabel.contract.schema import ROLLOUTS
from prmlabel.inputs.hub import with_preset
from prmlabel.inputs.identity import content_digest
from prmlabel.inputs.importers import ResponseFieldMap, load_responses
from prmlabel.stages.runner import ShardOutput, StageInputs


class ImportStage:
    name = "import"
    schema = ROLLOUTS

    @staticmethod
    def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
        """Pick the preset a Hub name implies (hf://Qwen/ProcessBench -> processbench) where none was
        chosen; identify the response file by its content (the fingerprint then ignores where it lies)."""
        config = with_preset(config, "import", compose_defaults("import")["fields"])
        return {**config, "input_fingerprint": content_digest(config["input"])}

    def __init__(self, config: dict[str, Any], fingerprint: str):
        self.config = config
        self.fingerprint = fingerprint

    def load(self) -> StageInputs:
        preset = self.config.get("preset")
        fieldmap = None
        if not preset:
            fields = dict(self.config.get("fields") or {})
            fieldmap = ResponseFieldMap(**fields, domain=self.config.get("domain") or "math")
        loaded = load_responses(self.config["input"], preset, fieldmap, split=self.config.get("split"))
        return StageInputs(
            items=[(row["problem_id"], row) for row in loaded.rows],
            rejects=[(r.get("problem_id") or f"{r['file']}:{r['row']}", r) for r in loaded.rejects],
            rows_in=loaded.rows_in,
        )

    def sort_key(self, row: dict[str, Any]) -> Any:
        return (row["problem_id"], row["sample_index"])

    def process(self, items: list[dict[str, Any]], progress: tqdm, shard: int = 0) -> ShardOutput:
        provenance = {
            "backend": "import",
            "model": "",
            "model_hash": "",
            "backend_version": "",
            "prmlabel_version": __version__,
            "config_fingerprint": self.fingerprint,
        }
        rows = []
        for item in items:
            row = {key: item.get(key) for key in ROLLOUTS.names}
            row["domain"] = row.get("domain") or self.config.get("domain") or "math"
            row["prompt_tokens"] = row["prompt_tokens"] or 0
            row["completion_tokens"] = row["completion_tokens"] or 0
            row["provenance"] = {**provenance, "model": item.get("policy") or ""}
            rows.append(row)
            progress.update(1)
        labeled = sum(1 for r in rows if r["gold_first_error"] is not None)
        return ShardOutput(
            rows=rows, rejects=[], rows_out=len(items), cost={"responses": len(rows), "with_gold": labeled}
        )

    def close(self) -> None:
        pass


def summary_rows(totals: dict[str, Any]) -> dict[str, Any]:
    cost = totals["cost"]
    return {
        "responses in": totals["rows_in"],
        "responses rejected": totals["rows_rejected"],
        "rollouts written": totals["rows_written"],
        "with a human first-error label": int(cost.get("with_gold", 0)),
    }
