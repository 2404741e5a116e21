"""`prmlabel label`: rollouts -> per-step labels by one method, through the rollout scheduler.

Shard i of the input becomes shard i of the output (the same problem-id hash), so a cluster array
can generate and label shard by shard. Continuations use the prompt the rollouts were generated
with (from the input folder's config) unless the config names another.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from prmlabel import __version__
from prmlabel.backends import Backend, LazyBackend, Sampling
from prmlabel.contract.schema import LABELS, NODES, ROLLOUTS, table_from_rows
from prmlabel.contract.store import ShardStore, StoreError, part_name
from prmlabel.engine.cache import PersistentRolloutCache, RolloutCache
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import ResponseView, StepLabels, TreeLabels
from prmlabel.labelers import load_labeler
from prmlabel.stages.label_trees import check_tree, is_tree_labeler, question_jobs, tree_rows
from prmlabel.stages.runner import ShardOutput, ShardPlan, StageInputs, load_planned, plan_by_problem

DEFAULT_PROMPT = {
    "system": None,
    "template": "{question}\n\nPlease reason step by step, with the steps separated by a blank line, "
    "and put your final answer within \\boxed{}.",
}


class _NoRollouts:
    """The backend of a method that never asks for continuations; being asked is a labeler bug."""

    name = "none"

    def generate(self, requests: list[Any]) -> list[Any]:
        raise RuntimeError("this method declared uses_rollouts = False but asked for continuations")

    def provenance(self) -> dict[str, str]:
        return {"backend": "none", "model": "", "model_hash": "", "backend_version": ""}

    def close(self) -> None:
        pass


NO_ROLLOUTS = _NoRollouts()


def read_input_manifest(folder: str) -> dict[str, Any]:
    manifest = ShardStore(folder).read_manifest()
    if manifest is None:
        raise StoreError(
            f"{folder} is not a finished prmlabel folder (no manifest.json); "
            "point --input at the output of `prmlabel generate` or `prmlabel import`"
        )
    return manifest


class LabelStage:
    name = "label"
    schema = LABELS

    @staticmethod
    def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
        """Fill what the input folder decides: shard count, prompt, and its fingerprint (so a changed
        input is a changed config)."""
        manifest = read_input_manifest(config["input"])
        config = dict(config)
        if config.get("num_shards") is None:
            config["num_shards"] = manifest["num_shards"]
        if config.get("prompt") is None:
            config["prompt"] = manifest.get("config", {}).get("prompt") or DEFAULT_PROMPT
        config["input_fingerprint"] = manifest["fingerprint"]
        params = dict(config.get("params") or {})
        if config.get("rollouts_per_estimate") is not None:
            params["k"] = int(config["rollouts_per_estimate"])
        config["params"] = params
        return config

    def __init__(self, config: dict[str, Any], fingerprint: str):
        self.config = config
        self.fingerprint = fingerprint
        self.labeler = load_labeler(config["method"], config.get("params"))
        s = config["sampling"]
        self.sampling = Sampling(
            float(s["temperature"]), float(s["top_p"]), int(s["max_tokens"]), tuple(s["stop"] or ())
        )
        if hasattr(self.labeler, "sampling"):
            # A labeler that prompts a model afresh (the judge) samples by its own params, not the policy's.
            _refuse_policy_sampling(s, config["method"])
            self.sampling = self.labeler.sampling()
        self._backend = LazyBackend(config["backend"])
        self._plan: ShardPlan = {}  # filled by plan(), read by load_shard()

    @property
    def backend(self) -> Backend:
        # A method that checks steps without rollouts (a verifier) starts no engine at all.
        return self._backend.get() if getattr(self.labeler, "uses_rollouts", True) else NO_ROLLOUTS

    def plan(self, num_shards: int) -> dict[int, int]:
        """Where every input row goes (by problem_id); rows per output shard."""
        self._plan = plan_by_problem(sorted(Path(self.config["input"]).glob("part-*.parquet")), num_shards)
        return {index: sum(len(p) for _, p in files) for index, files in self._plan.items()}

    def load_shard(self, index: int) -> StageInputs:
        return load_planned(self._plan, index, ROLLOUTS.names)

    def sort_key(self, row: dict[str, Any]) -> Any:
        return (row["problem_id"], row["response_id"])

    def process(self, items: list[tuple[str, int, dict[str, Any]]], progress: tqdm, shard: int = 0) -> ShardOutput:
        prompt = self.config["prompt"]
        pass_rate = _pass_rates([row for _, _, row in items])
        tree = is_tree_labeler(self.labeler)
        views: list[tuple[tuple[str, int, dict[str, Any]], ResponseView]] = []
        rows: list[dict[str, Any]] = []
        rejects: list[dict[str, Any]] = []
        for path, row_number, row in items:
            if not row.get("steps"):
                rejects.append(_reject(path, row_number, row, "steps", "the response has no steps to label"))
                progress.update(1)
                continue
            views.append(((path, row_number, row), _view(row, pass_rate)))
        template = prompt["template"]
        if tree:
            jobs = question_jobs(views, self.labeler, template, getattr(self.labeler, "step_delimiter", "\n\n"))
        else:
            jobs = [
                Job(
                    question=template.replace("{question}", row["question"]),
                    reference=row.get("reference_answer"),
                    domain=row.get("domain") or "math",
                    program=self.labeler.label(view),
                    payload=item,
                    group=row["problem_id"],
                )
                for item, view in views
                for row in (item[2],)
            ]
        model_key = self._model_key()
        scheduler = Scheduler(
            self.backend,
            self.sampling,
            seed=int(self.config["seed"]),
            model_key=model_key,
            system=prompt.get("system"),
            max_batch=int(self.config["runtime"].get("batch_size") or 1024),
            cache=self._cache(model_key, shard),
            token_budget=self.config.get("token_budget"),
        )
        stats = scheduler.run(jobs, on_done=lambda job: progress.update(len(job.payload) if tree else 1))
        provenance = self._provenance()
        nodes: list[dict[str, Any]] = []
        tree_cost = {"questions": len(jobs) if tree else 0, "questions_dropped": 0, "tree_paths": 0}
        for job in jobs:
            if tree:
                self._tree_result(job, provenance, rows, nodes, rejects, tree_cost)
                continue
            path, row_number, row = job.payload
            if job.error is not None or job.result is None:
                rejects.append(_reject(path, row_number, row, "method", job.error or "no labels"))
                continue
            labels = job.result
            rows.append(
                {
                    **row,
                    "method": self.labeler.name,
                    "values": labels.values,
                    "value_kind": self.labeler.value_kind,
                    "hard": labels.hard,
                    "first_error": labels.first_error,
                    "label_extra": json.dumps(labels.extra, sort_keys=True),
                    "label_cost": job.cost.as_dict(),
                    "label_provenance": provenance,
                }
            )
        cost = {
            "rounds": stats.rounds,
            "backend_calls": stats.backend_calls,
            "backend_requests": stats.backend_requests,
            "rollouts": sum(j.cost.rollouts for j in jobs),
            "undecided_rollouts": sum(j.cost.undecided_rollouts for j in jobs),
            "unlabeled_steps": sum(h is None for r in rows for h in r["hard"]),
            "unknown_first_error": sum(r["first_error"] is None for r in rows),
            # verifier calls cut off by their time or memory limit (their steps are null, never right)
            "verifier_timeouts": sum(
                job.result.extra.get("timeouts", 0) for job in jobs if isinstance(job.result, StepLabels)
            ),
            "generated_rollouts": stats.generated_rollouts,
            "cache_hits": stats.cache_hits,
            "generated_tokens": stats.generated_tokens,
            "prompt_tokens": stats.prompt_tokens,
            "backend_seconds": round(stats.backend_seconds, 3),
            "engine_seconds": round(stats.engine_seconds, 3),
        }
        side = {}
        if tree:
            cost.update(tree_cost, nodes=len(nodes))
            nodes.sort(key=lambda n: (n["problem_id"], n["node_id"]))
            side["nodes"] = table_from_rows(nodes, NODES)
        cost["provenance"] = provenance  # method, model, file hash or revision, engine version
        rows_out = len(items) - len(rejects)
        return ShardOutput(rows=rows, rejects=rejects, rows_out=rows_out, cost=cost, side=side)

    def _tree_result(
        self,
        job: Job,
        provenance: dict[str, Any],
        rows: list[dict[str, Any]],
        nodes: list[dict[str, Any]],
        rejects: list[dict[str, Any]],
        tree_cost: dict[str, int],
    ) -> None:
        if job.error is None and isinstance(job.result, TreeLabels) and job.result.dropped is None:
            try:
                check_tree(job.group, job.result.nodes)
            except ValueError as exc:  # a labeler bug in one question must not sink the shard
                job.error = f"labeler error: {exc}"
        elif isinstance(job.result, TreeLabels) and job.result.dropped is not None:
            tree_cost["questions_dropped"] += 1
        s = self.config["sampling"]
        sampling = {**s, "stop": list(s.get("stop") or [])}
        new_rows, new_nodes, rejected = tree_rows(job, self.labeler, provenance, sampling, int(self.config["seed"]))
        rows.extend(new_rows)
        nodes.extend(new_nodes)
        tree_cost["tree_paths"] += len(job.result.paths) if isinstance(job.result, TreeLabels) and not rejected else 0
        for (path, row_number, row), reason in rejected:
            rejects.append(_reject(path, row_number, row, "method", reason))

    def _cache(self, model_key: str, shard: int) -> RolloutCache:
        """The shard's rollout cache: on disk beside the output unless ``runtime.rollout_cache=none``."""
        where = (self.config.get("runtime") or {}).get("rollout_cache", "auto")
        if where in (None, "none", False):
            return RolloutCache()
        root = Path(self.config["output"]).parent / "_rollout_cache" if where == "auto" else Path(where)
        digest = hashlib.sha256(model_key.encode()).hexdigest()[:16]
        return PersistentRolloutCache(root / digest / f"n{self.config['num_shards']}-{part_name(shard)}")

    def _model_key(self) -> str:
        prov = self.backend.provenance()
        return json.dumps(
            [prov.get("model"), prov.get("model_hash"), self.sampling.to_dict(), int(self.config["seed"])],
            sort_keys=True,
        )

    def _provenance(self) -> dict[str, Any]:
        prov = self.backend.provenance()
        return {
            "method": self.labeler.name,
            "paper": self.labeler.paper,
            "params": json.dumps(self.labeler.params(), sort_keys=True),
            "backend": prov.get("backend", self.config["backend"]["name"]),
            "model": prov.get("model", ""),
            "model_hash": prov.get("model_hash", ""),
            "backend_version": prov.get("backend_version", ""),
            "sampling": self.sampling.to_dict(),
            "seed": int(self.config["seed"]),
            "prmlabel_version": __version__,
            "config_fingerprint": self.fingerprint,
        }

    def close(self) -> None:
        self._backend.close()


def _refuse_policy_sampling(sampling: dict[str, Any], method: str) -> None:
    """The stage's ``sampling.*`` keys are the policy's; a method with its own sampling must not ignore them."""
    from prmlabel.contract.config import compose_defaults

    shipped = compose_defaults("label")["sampling"]
    changed = sorted(key for key in shipped if sampling.get(key) != shipped[key])
    if changed:
        raise ValueError(
            f"--method {method} samples with its own settings, so sampling.{', sampling.'.join(changed)} would be "
            f"ignored: set params.temperature, params.top_p or params.max_tokens instead "
            f"(see `prmlabel label --method {method} --show-config`)"
        )


def _view(row: dict[str, Any], pass_rate: dict[str, float | None]) -> ResponseView:
    return ResponseView(
        problem_id=row["problem_id"],
        response_id=row["response_id"],
        steps=tuple(row["steps"]),
        is_correct=None if row.get("is_correct") is None else bool(row["is_correct"]),
        problem_pass_rate=pass_rate[row["problem_id"]],
        tokens=row.get("completion_tokens"),
        problem={
            "question": row["question"],
            "reference_answer": row.get("reference_answer"),
            "domain": row.get("domain"),
            "source": row.get("source"),
            "meta": json.loads(row["meta"]) if row.get("meta") else {},
        },
    )


def _pass_rates(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Fraction of each problem's decided responses that are correct (all of a problem's responses share
    a shard); a response whose outcome is unknown counts on neither side, a problem with none decided
    has no pass rate (None)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        c = counts[row["problem_id"]]
        if row.get("is_correct") is not None:
            c[0] += bool(row["is_correct"])
            c[1] += 1
    return {pid: (c / n if n else None) for pid, (c, n) in counts.items()}


def _reject(path: str, row_number: int, row: dict[str, Any], field: str, reason: str) -> dict[str, Any]:
    return {
        "file": path,
        "row": row_number,
        "field": field,
        "reason": reason,
        "problem_id": row.get("problem_id"),
        "raw": json.dumps({"response_id": row.get("response_id")}),
    }


def summary_rows(totals: dict[str, Any]) -> dict[str, Any]:
    cost = totals["cost"]
    responses = max(totals["rows_out"], 1)
    out = {
        "responses in": totals["rows_in"],
        "responses labeled": totals["rows_out"],
        "responses rejected": totals["rows_rejected"],
        "rollouts used": int(cost.get("rollouts", 0)),
        "rollouts generated": int(cost.get("generated_rollouts", 0)),
        "cache hits": int(cost.get("cache_hits", 0)),
        "rollouts per response": f"{cost.get('rollouts', 0) / responses:.1f}",
        "backend rounds": int(cost.get("rounds", 0)),
        "generated tokens": int(cost.get("generated_tokens", 0)),
        # Unknown stays unknown, and is shown: continuations left out of every estimate (a backend
        # failure, an answer the checker cannot judge), steps without a label (undecided, or after a
        # first error), responses whose first error is unknown (null, never "no error").
        "undecided rollouts": int(cost.get("undecided_rollouts", 0)),
        "unlabeled steps": int(cost.get("unlabeled_steps", 0)),
        "unknown first errors": int(cost.get("unknown_first_error", 0)),
        "verifier timeouts": int(cost.get("verifier_timeouts", 0)),
    }
    if cost.get("questions"):  # a tree method: one search tree per question
        out["labels rows written"] = int(totals.get("rows_written", 0))  # labeled responses and tree paths
        out["questions searched"] = int(cost["questions"] - cost.get("questions_dropped", 0))
        out["questions dropped by the method"] = int(cost.get("questions_dropped", 0))
        out["tree nodes (nodes/)"] = int(cost.get("nodes", 0))
        out["paths read off the trees"] = int(cost.get("tree_paths", 0))
    return out
