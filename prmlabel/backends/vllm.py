"""The vLLM backend: offline ``vllm.LLM`` on GPU, the main path for real labeling runs.

Why it looks the way it does:

- One ``llm.generate`` call per :meth:`VLLMBackend.generate` batch. The scheduler hands over every
  pending rollout request of a shard in one round; vLLM's continuous batching keeps the device full
  only when it sees them all at once.
- ``enable_prefix_caching=True``: Monte-Carlo estimation re-sends the same question and step prefix
  many times (k continuations per prefix, prefixes that extend each other, repeated rounds), so the
  KV cache of a shared prefix is computed once and reused.
- One ``SamplingParams(n=k, seed=request.seed)`` per request. vLLM splits a request with ``n > 1``
  into children and gives child ``i`` the seed ``seed + i`` (``vllm/v1/engine/parallel_sampling.py``,
  ``ParentRequest._get_child_sampling_params``, checked in vLLM 0.32), exactly the protocol's rule,
  so no request is split by hand. ``max_tokens`` is always set: vLLM's own default is 16.
- Greedy requests (temperature 0) with ``k > 1``: vLLM refuses ``n > 1`` there ("n must be 1 when using
  greedy sampling"). Greedy output does not depend on the seed, so one completion is generated and
  repeated ``k`` times (each copy reports its own token counts, as ``k`` rollouts would cost).
- Continuation, not re-asking: the prompt is the model's chat template with the generation prompt
  added, then the prefix as the assistant's own text. It is tokenized here without special tokens
  (the template already wrote them; a tokenizer that adds BOS would otherwise double it) and sent as
  token ids, which also lets a prompt longer than ``max_model_len`` fail alone (``finish_reason``
  ``error``) instead of failing the whole batch.
- Stop strings are per request (each ``SamplingParams`` carries its own), so one-step requests that
  stop at the step delimiter share a batch with rollouts that do not. ``Completion.stop_reason``
  comes from ``CompletionOutput.stop_reason``: the matched stop string; None with ``finish_reason``
  ``stop`` means the EOS token ended it (``"eos"``), and so does an int, a stop token id, since
  prmlabel sends none and vLLM adds the extra end tokens of the model's generation_config.json as
  stop token ids (``SamplingParams.update_from_generation_config``).

Data parallelism: for models that fit on one GPU, run one engine per GPU (one process each, with
``CUDA_VISIBLE_DEVICES`` set to that GPU) and give each process its own shards (``runtime.shard=I/N``);
rollouts are many short independent requests, so N independent engines beat one tensor-parallel
group. Use ``tensor_parallel_size`` only when the model does not fit on one GPU. The launcher that
starts the per-GPU processes is a separate component.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from prmlabel.backends.base import Completion, GenerationRequest, GenerationResult, Usage
from prmlabel.backends.errors import BackendConfigError

log = logging.getLogger(__name__)

INSTALL_HINT = "the vllm backend needs vLLM: pip install 'prmlabel[vllm]'"

# vLLM treats a temperature below this as greedy (vllm.sampling_params._SAMPLING_EPS).
_GREEDY_EPS = 1e-5
# Files whose bytes decide what a local model folder generates: weights, configs, tokenizer files.
_HASHED_SUFFIXES = (".safetensors", ".json")
_HASH_CACHE: dict[tuple[Any, ...], str] = {}


def _import_vllm() -> Any:
    """Import vLLM only when the backend is built, so prmlabel runs without it."""
    try:
        import vllm
    except ImportError as err:
        raise BackendConfigError(f"{INSTALL_HINT} ({err})") from err
    return vllm


def _hash_cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "prmlabel" / "model-hashes.json"


def folder_hash(folder: str | Path) -> str:
    """SHA-256 over the names and bytes of a local model folder's weight, config and tokenizer files.

    Hashing a 7B model's weights takes tens of seconds, and every engine of a data-parallel run would
    redo it, so the digest is cached in memory and on disk, keyed by path, file sizes and mtimes (a
    changed file changes the key).
    """
    root = Path(folder).resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _HASHED_SUFFIXES)
    stats = tuple((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(root), stats)
    if key in _HASH_CACHE:
        return _HASH_CACHE[key]
    disk_key = hashlib.sha256(json.dumps(key).encode()).hexdigest()
    cache_file = _hash_cache_file()
    try:
        disk = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        disk = {}
    digest = disk.get(disk_key)
    if not isinstance(digest, str):
        h = hashlib.sha256()
        for path, (name, _, _) in zip(files, stats, strict=True):
            h.update(name.encode() + b"\0")
            with path.open("rb") as fh:
                for chunk in iter(functools.partial(fh.read, 1 << 20), b""):
                    h.update(chunk)
        digest = "sha256:" + h.hexdigest()
        disk[disk_key] = digest
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(disk, indent=1))
            tmp.replace(cache_file)
        except OSError as err:  # a read-only home only costs a re-hash next time
            log.debug("cannot write %s: %s", cache_file, err)
    _HASH_CACHE[key] = digest
    return digest


def hub_revision(model: str, revision: str | None) -> str:
    """The commit of a Hub model as the local Hugging Face cache holds it (no network call).

    vLLM downloads into that cache, so after the engine starts the snapshot folder's name is the
    commit hash. Falls back to the requested revision (a branch or tag name) when it cannot tell.
    """
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model, "config.json", revision=revision)
    except Exception as err:  # provenance must never stop a run
        log.debug("cannot resolve the revision of %s: %s", model, err)
        found = None
    if isinstance(found, str):
        parts = Path(found).parts
        if "snapshots" in parts:
            return parts[parts.index("snapshots") + 1]
    return revision or ""


def _stop_reason(finish_reason: str | None, stop_reason: int | str | None) -> str | None:
    """``CompletionOutput.stop_reason`` in the protocol's terms (see the module docstring)."""
    if finish_reason != "stop":
        return None
    if isinstance(stop_reason, str):
        return stop_reason
    # None: the model's EOS token; an int: a stop token id, which prmlabel never sends, so one of the
    # model's extra end tokens that vLLM takes from generation_config.json (e.g. <|eot_id|>).
    return "eos"


def _is_greedy(request: GenerationRequest) -> bool:
    return request.sampling.temperature < _GREEDY_EPS


class VLLMBackend:
    """Backend protocol over an offline ``vllm.LLM`` engine.

    Options (``backend.options`` on the command line): ``tensor_parallel_size``,
    ``gpu_memory_utilization``, ``dtype``, ``max_model_len``, ``enforce_eager``, ``seed`` (the
    engine's global seed; every request also carries its own), ``revision``, ``chat_template`` (a
    Jinja string for tokenizers that have none), ``use_tqdm``, and ``engine_kwargs``: any further
    ``vllm.LLM`` keyword (e.g. ``kv_cache_memory_bytes``, ``max_num_seqs``, ``quantization``), passed
    through unchanged and winning over the named options.
    """

    name = "vllm"

    def __init__(
        self,
        model: str | None = None,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        dtype: str = "auto",
        max_model_len: int | None = None,
        enforce_eager: bool = False,
        seed: int = 0,
        revision: str | None = None,
        chat_template: str | None = None,
        use_tqdm: bool = False,
        engine_kwargs: dict[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            # A typo in backend.options would otherwise be silently ignored for a whole GPU run.
            raise BackendConfigError(
                f"unknown vllm backend options: {', '.join(sorted(unknown))}; "
                "pass further vllm.LLM arguments as engine_kwargs={...}"
            )
        if not model:
            raise BackendConfigError("the vllm backend needs a model: --model <Hugging Face id or local folder>")
        vllm = _import_vllm()
        local = Path(model).expanduser()
        self.model = str(local) if local.is_dir() else model
        self.revision = revision
        self.chat_template = chat_template
        self.use_tqdm = use_tqdm
        self.vllm_version: str = getattr(vllm, "__version__", "unknown")
        self.engine_args: dict[str, Any] = {
            "model": self.model,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "dtype": dtype,
            "max_model_len": max_model_len,
            "enforce_eager": enforce_eager,
            "seed": seed,
            "revision": revision,
            "enable_prefix_caching": True,
            **(engine_kwargs or {}),
        }
        started = time.perf_counter()
        self.llm = vllm.LLM(**self.engine_args)
        self.startup_seconds = time.perf_counter() - started
        self.tokenizer = self.llm.get_tokenizer()
        self.max_model_len: int = int(self.llm.model_config.max_model_len)
        self.usage = Usage(extra={"batches": 0, "cached_prompt_tokens": 0, "too_long": 0})
        self._sampling_params_cls = vllm.SamplingParams
        self._tokens_prompt_cls = vllm.TokensPrompt
        self._header = functools.lru_cache(maxsize=4096)(self._render_header)
        self._model_hash: str | None = None
        log.info("vllm %s engine for %s started in %.1f s", self.vllm_version, model, self.startup_seconds)

    # -- prompts -------------------------------------------------------------------------------------

    def _render_header(self, question: str, system: str | None) -> str:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": question})
        kwargs = {"chat_template": self.chat_template} if self.chat_template else {}
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)
        except ValueError as err:  # transformers raises ValueError when there is no template
            raise BackendConfigError(
                f"{self.model} has no chat template; pass backend.options.chat_template='<jinja>' ({err})"
            ) from err

    def render_prompt(self, request: GenerationRequest) -> str:
        """The exact text the model continues: chat template up to the assistant header, then the prefix."""
        return self._header(request.question, request.system) + request.prefix

    def _sampling_params(self, request: GenerationRequest) -> Any:
        s = request.sampling
        return self._sampling_params_cls(
            n=1 if _is_greedy(request) else request.k,
            seed=request.seed,
            temperature=s.temperature,
            top_p=s.top_p,
            max_tokens=s.max_tokens,
            stop=list(s.stop) or None,
        )

    # -- protocol ------------------------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """Answer ``requests`` in order with one ``llm.generate`` call (one scheduler round).

        A request with ``k == 0`` gets no completions; one whose prompt does not fit ``max_model_len``
        gets ``k`` empty ``error`` completions (it can never count as correct). The round's wall time
        is shared equally among the requests that went to the engine, so the per-result ``seconds``
        add up to the time spent.
        """
        started = time.perf_counter()
        results: list[GenerationResult | None] = [None] * len(requests)
        prompts: list[Any] = []
        params: list[Any] = []
        sent: list[int] = []
        for i, request in enumerate(requests):
            ids = self.tokenizer.encode(self.render_prompt(request), add_special_tokens=False)
            if request.k <= 0:
                results[i] = GenerationResult(completions=[])
            elif len(ids) >= self.max_model_len:
                log.warning("prompt of %d tokens does not fit max_model_len=%d", len(ids), self.max_model_len)
                self.usage.extra["too_long"] += 1
                results[i] = GenerationResult(completions=[Completion("", "error", len(ids), 0)] * request.k)
            else:
                prompts.append(self._tokens_prompt_cls(prompt_token_ids=ids))
                params.append(self._sampling_params(request))
                sent.append(i)
        outputs = self.llm.generate(prompts, params, use_tqdm=self.use_tqdm) if prompts else []
        if len(outputs) != len(sent):
            raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(sent)} prompts")
        seconds = time.perf_counter() - started
        share = seconds / len(sent) if sent else 0.0
        for i, output in zip(sent, outputs, strict=True):
            prompt_tokens = len(output.prompt_token_ids)
            ordered = sorted(output.outputs, key=lambda c: c.index)
            completions = [
                Completion(
                    text=c.text,
                    finish_reason=c.finish_reason if c.finish_reason in ("stop", "length") else "error",
                    prompt_tokens=prompt_tokens,
                    completion_tokens=len(c.token_ids),
                    stop_reason=_stop_reason(c.finish_reason, getattr(c, "stop_reason", None)),
                )
                for c in ordered
            ]
            if len(completions) == 1 and requests[i].k > 1:  # greedy: see the module docstring
                completions = completions * requests[i].k
            results[i] = GenerationResult(completions=completions, seconds=share)
            self.usage.extra["cached_prompt_tokens"] += int(getattr(output, "num_cached_tokens", 0) or 0)
        final = [r if r is not None else GenerationResult(completions=[]) for r in results]
        self.usage.requests += len(requests)
        self.usage.completions += sum(len(r.completions) for r in final)
        self.usage.prompt_tokens += sum(r.prompt_tokens for r in final)
        self.usage.completion_tokens += sum(r.completion_tokens for r in final)
        self.usage.seconds += seconds
        self.usage.extra["batches"] += 1
        return final

    def provenance(self) -> dict[str, str]:
        if self._model_hash is None:
            local = Path(self.model).expanduser()
            self._model_hash = folder_hash(local) if local.is_dir() else hub_revision(self.model, self.revision)
        return {
            "backend": self.name,
            "model": self.model,
            "model_hash": self._model_hash,
            "backend_version": self.vllm_version,
        }

    def close(self) -> None:
        """Shut the engine down so its worker processes and (GPU) memory are released."""
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        self.llm = None
        shutdown = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        try:
            if shutdown is not None and hasattr(shutdown, "shutdown"):
                shutdown.shutdown()
        except Exception as err:  # closing must not mask the run's own error
            log.debug("vLLM shutdown: %s", err)
        del llm
