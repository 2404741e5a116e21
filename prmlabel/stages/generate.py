"""`prmlabel generate`: problems -> rollouts (``--samples`` responses per problem).

Each problem becomes one backend request for k = samples completions of an empty prefix; sample j
of a problem draws with seed ``derive_seed(seed, problem_id) + j`` (vLLM's ``n > 1`` rule), so a
shard's rows do not depend on batch size, shard count or which other problems ran beside it.

Two options leave responses out before any labeling, each one to the rejects with its reason
(problems in + responses left out = problems out + rejects):

- ``require_answer``: SCAN drops a response that states no answer, i.e. contains none of "boxed",
  "he answer is", "final answer is" (yyDing1/SCAN-PRM, src/eval_prm/main_datasyn.py:172-178).
- ``select_paths``: GenPRM's balanced choice of paths per question (see
  :mod:`prmlabel.filters.genprm_select`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tqdm import tqdm

from prmlabel import __version__
from prmlabel.backends import Backend, GenerationRequest, LazyBackend, Sampling
from prmlabel.contract.config import compose_defaults
from prmlabel.contract.schema import ROLLOUTS
from prmlabel.filters.genprm_select import select_paths
from prmlabel.inputs.hub import with_preset
from prmlabel.inputs.identity import content_digest
from prmlabel.inputs.problems import PRESETS, FieldMap, load_problems
from prmlabel.inputs.records import read_records
from prmlabel.runtime.seeds import derive_seed
from prmlabel.stages.runner import ShardOutput, StageInputs
from prmlabel.synthetic.truth import gold_first_error_for
from prmlabel.text.answers import check_answer
from prmlabel.text.steps import StepSplit, split_steps

# SCAN's test for "the response states an answer" (main_datasyn.py:172-176), substrings as written there.
ANSWER_MARKERS = ("boxed", "he answer is", "final answer is")
NO_ANSWER = "require_answer: the response states no answer (none of 'boxed', 'he answer is', 'final answer is')"


def states_answer(text: str) -> bool:
    return any(marker in text for marker in ANSWER_MARKERS)


# The `fields` block of conf/generate.yaml as shipped: a user who changed none of it gets auto-detection.
DEFAULT_FIELDS = {
    "id": None,
    "question": "question",
    "answer": "answer",
    "answer_from": "field",
    "domain": "math",
    "source": None,
}


NATIVE_KEYS = {"problem_id", "question", "reference_answer"}


def looks_native(path: str, split: str | None = None) -> bool:
    """Is the first readable record in prmlabel's own problems format?"""
    for record in read_records(path, split):
        if record.data is not None:
            return NATIVE_KEYS <= set(record.data)
    return False


# What a preset implies beyond its field mapping, applied only where the user kept the shipped default:
# formal steps are one per line, and their instructions are already in the question.
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    "folio_formal": {("steps", "split"): "newline", ("prompt", "template"): "{question}"},
}


def fieldmap_from_config(config: dict[str, Any]) -> tuple[FieldMap, str | None]:
    """The preset's field map; without one, prmlabel's own format if the file is in it, else ``fields``."""
    preset = config.get("preset")
    if not preset and config.get("fields") == DEFAULT_FIELDS and looks_native(config["input"], config.get("split")):
        preset = "prmlabel"
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of: {', '.join(sorted(PRESETS))}")
        fieldmap = PRESETS[preset]
        if config.get("domain"):
            fieldmap = dataclasses.replace(fieldmap, domain=config["domain"])
        return fieldmap, (None if preset == "prmlabel" else preset)
    fields = {k: v for k, v in (config.get("fields") or {}).items() if v is not None or k in ("id", "answer")}
    if config.get("domain"):
        fields["domain"] = config["domain"]
    return FieldMap(**fields), None


class GenerateStage:
    name = "generate"
    schema = ROLLOUTS

    @staticmethod
    def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
        """Apply the preset's implied settings where the user left the shipped defaults; identify the
        problem file by its content (the fingerprint then ignores where it lies)."""
        config = with_preset(config, "generate", DEFAULT_FIELDS)  # hf://openai/gsm8k -> gsm8k
        defaults = compose_defaults("generate")
        for (section, key), value in PRESET_DEFAULTS.get(config.get("preset") or "", {}).items():
            if config[section][key] == defaults[section][key]:
                config = {**config, section: {**config[section], key: value}}
        return {**config, "input_fingerprint": content_digest(config["input"])}

    def __init__(self, config: dict[str, Any], fingerprint: str):
        self.config = config
        self.fingerprint = fingerprint
        self.split = StepSplit.parse(config["steps"]["split"])
        sampling = config["sampling"]
        self.sampling = Sampling(
            temperature=float(sampling["temperature"]),
            top_p=float(sampling["top_p"]),
            max_tokens=int(sampling["max_tokens"]),
            stop=tuple(sampling.get("stop") or ()),
        )
        self._backend = LazyBackend(config["backend"])
        self.require_answer = bool(config.get("require_answer"))
        self.select_paths = int(config.get("select_paths") or 0)
        if self.select_paths < 0:
            raise ValueError(f"select_paths must be >= 0 (0 = off), got {self.select_paths}")

    @property
    def backend(self) -> Backend:
        return self._backend.get()

    def load(self) -> StageInputs:
        fieldmap, preset = fieldmap_from_config(self.config)
        loaded = load_problems(self.config["input"], fieldmap, source=preset, split=self.config.get("split"))
        return StageInputs(
            items=[(p["problem_id"], p) for p in loaded.problems],
            rejects=[(r.get("problem_id") or f"{r['file']}:{r['row']}", r) for r in loaded.rejects],
            rows_in=loaded.rows_in,
        )

    def sort_key(self, row: dict[str, Any]) -> Any:
        return (row["problem_id"], row["sample_index"])

    def process(self, items: list[dict[str, Any]], progress: tqdm, shard: int = 0) -> ShardOutput:
        samples = int(self.config["samples"])
        batch_size = int((self.config.get("runtime") or {}).get("batch_size") or 64)
        template = self.config["prompt"]["template"]
        system = self.config["prompt"].get("system")
        # Step forcing (GenPRM §3.2.1): the answer starts with this text, which becomes part of the response.
        prefill = self.config["prompt"].get("prefill") or ""
        rows: list[dict[str, Any]] = []
        rejects: list[dict[str, Any]] = []
        correct = undecided = 0  # over every response drawn, including those left out
        cost = {
            "rollouts": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "backend_calls": 0,
            "backend_seconds": 0.0,
        }
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            requests = [
                GenerationRequest(
                    question=template.replace("{question}", p["question"]),
                    prefix=prefill,
                    k=samples,
                    sampling=self.sampling,
                    seed=derive_seed(self.config["seed"], p["problem_id"]),
                    system=system,
                )
                for p in batch
            ]
            results = self.backend.generate(requests)
            cost["backend_calls"] += 1
            provenance = self._provenance()
            for problem, request, result in zip(batch, requests, results, strict=True):
                cost["backend_seconds"] += result.seconds
                drawn = []
                for j, completion in enumerate(result.completions):
                    drawn.append(self._row(problem, request, j, completion, provenance, prefill))
                    cost["rollouts"] += 1
                    cost["prompt_tokens"] += completion.prompt_tokens
                    cost["completion_tokens"] += completion.completion_tokens
                correct += sum(1 for r in drawn if r["is_correct"] is True)
                undecided += sum(1 for r in drawn if r["is_correct"] is None)
                rows.extend(self._leave_out(drawn, rejects))
                progress.update(1)
        cost["backend_seconds"] = round(cost["backend_seconds"], 3)
        cost["correct"] = correct
        cost["undecided"] = undecided
        cost["left_out"] = len(rejects)
        for reject in rejects:
            key = f"left_out/{reject['reason'].split(' ')[0].rstrip(':')}"
            cost[key] = cost.get(key, 0) + 1
        if items:  # the model behind the shard (name, file hash or revision, engine version) in its record
            cost["provenance"] = self._provenance()
        return ShardOutput(rows=rows, rejects=rejects, rows_out=len(items), cost=cost, dropped=len(rejects))

    def _leave_out(self, drawn: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One problem's responses minus those ``require_answer`` and ``select_paths`` leave out (to ``rejects``)."""
        kept = drawn
        if self.require_answer:
            kept = []
            for row in drawn:
                if states_answer(row["response"]):
                    kept.append(row)
                else:
                    rejects.append(self._reject(row, NO_ANSWER))
        if self.select_paths and kept:
            chosen, left_out = select_paths(kept, self.select_paths, int(self.config["seed"]))
            rejects.extend(self._reject(r, left_out[r["response_id"]]) for r in kept if r["response_id"] in left_out)
            kept = chosen
        return kept

    def _reject(self, row: dict[str, Any], reason: str) -> dict[str, Any]:
        return {
            "file": str(self.config["input"]),
            "row": None,
            "field": "response",
            "reason": reason,
            "problem_id": row["problem_id"],
            "raw": json.dumps({"response_id": row["response_id"], "is_correct": row["is_correct"]}),
        }

    def _provenance(self) -> dict[str, Any]:
        prov = dict(self.backend.provenance())
        return {
            "backend": prov.get("backend", self.config["backend"]["name"]),
            "model": prov.get("model", ""),
            "model_hash": prov.get("model_hash", ""),
            "backend_version": prov.get("backend_version", ""),
            "prmlabel_version": __version__,
            "config_fingerprint": self.fingerprint,
        }

    def _row(
        self,
        problem: dict[str, Any],
        request: GenerationRequest,
        j: int,
        completion: Any,
        provenance: dict[str, Any],
        prefill: str = "",
    ) -> dict[str, Any]:
        text = prefill + completion.text
        steps = split_steps(text, self.split)
        domain = problem.get("domain") or "math"
        check = check_answer(text, problem.get("reference_answer"), domain=domain)
        # A truncated completion never counts as correct (an anchor's bug); a backend failure and an
        # answer the checker cannot decide are unknown (null), never wrong.
        is_correct: bool | None = check.is_correct
        if completion.finish_reason == "error":
            is_correct = None
        elif completion.finish_reason != "stop":
            is_correct = False
        return {
            **problem,
            "response_id": f"{problem['problem_id']}/r{j}",
            "sample_index": j,
            "policy": provenance["model"],
            "steps": steps,
            "step_split": self.split.describe(),
            "response": text,
            "final_answer": check.final_answer,
            "is_correct": is_correct,
            "finish_reason": completion.finish_reason,
            "sampling": self.sampling.to_dict(),
            "seed": request.seed + j,
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "gold_first_error": gold_first_error_for(problem, steps),
            "provenance": provenance,
        }

    def close(self) -> None:
        self._backend.close()


def summary_rows(totals: dict[str, Any]) -> dict[str, Any]:
    cost = totals["cost"]
    rollouts = cost.get("rollouts", 0)
    decided = rollouts - cost.get("undecided", 0)
    left_out = int(cost.get("left_out", 0))
    out = {
        "problems in": totals["rows_in"] - left_out,
        "problems rejected": totals["rows_rejected"] - left_out,
        "responses": totals["rows_written"],
        "accuracy": f"{cost.get('correct', 0) / decided:.3f}" if decided else "n/a",
        "undecided answers": int(cost.get("undecided", 0)),  # backend failure or an answer the checker cannot judge
        "prompt tokens": int(cost.get("prompt_tokens", 0)),
        "generated tokens": int(cost.get("completion_tokens", 0)),
    }
    if left_out:  # responses left out before labeling, by rule (require_answer, select:hard, ...)
        out["responses left out"] = left_out
        for key in sorted(k for k in cost if k.startswith("left_out/")):
            out[f"  {key[9:]}"] = int(cost[key])
    return out
