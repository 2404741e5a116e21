"""The ``openai`` backend: any OpenAI-compatible server (``vllm serve``, SGLang, TGI, llama.cpp's server).

Two ways to ask for a continuation of the assistant's prefix:

* ``mode: completions`` (default): raw-prefix continuation through ``/v1/completions``. prmlabel
  renders the chat template itself (``chat_template``: built-in ``chatml``, a Jinja file, or
  ``none``) with ``add_generation_prompt=True``, appends the prefix unchanged, and the server
  continues that text. Exact, and the same prompt the ``llamacpp`` backend builds.
* ``mode: chat``: for servers that only offer ``/v1/chat/completions``. The prefix is sent as a final
  assistant message with ``continue_final_message: true, add_generation_prompt: false``. vLLM,
  SGLang and TGI honour these fields (through transformers, which strips whitespace at the end of the
  prefix); llama.cpp's C++ ``llama-server`` ignores them but continues a final assistant message by
  itself; llama-cpp-python's server and hosted APIs close the prefix as a finished turn and start a
  new one, which is NOT a continuation. See docs/backends.md.

Every completion is its own HTTP request with its own seed (sub-request ``i`` of a request uses
``seed + i``), rather than one request with ``n=k``: servers differ in how they seed the samples of
``n > 1`` (one seed for all, or none), and per-completion seeds make each rollout reproducible alone.
Requests run on a bounded thread pool (``concurrency``); the standard library does the HTTP, so this
backend adds no dependency. Failures that a restart or a busy server explains (HTTP 408/425/429/5xx,
refused, reset or dropped connections, timeouts) are retried with exponential backoff and jitter, up
to ``max_retries`` times; then :class:`~prmlabel.backends.errors.BackendError` says what failed.

Each request sends its own ``stop`` list, so one-step requests (stopping at the step delimiter) and
rollouts share a batch. ``Completion.stop_reason`` is filled from vLLM's ``stop_reason`` field where
the server sends it (``vllm serve``); other servers do not say whether a stop string or the EOS
token ended a ``stop`` choice, and it stays None (see ``_stop_reason``).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

import prmlabel
from prmlabel.backends.base import Completion, GenerationRequest, GenerationResult
from prmlabel.backends.errors import BackendConfigError, BackendError
from prmlabel.backends.llamacpp import render_chat_template, request_messages, resolve_chat_template

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 425, 429}) | frozenset(range(500, 600))
MODES = ("completions", "chat")


def _excerpt(raw: bytes | str, limit: int = 300) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(exc: BaseException) -> str:
    """A connection failure in words, e.g. ``ConnectionRefusedError: [Errno 111] Connection refused``."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        return f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _finish(reason: Any) -> str:
    if reason == "length":
        return "length"
    return "error" if reason in ("content_filter", "error") else "stop"


def _stop_reason(choice: dict[str, Any], finish: str, stop_token_ids: Any) -> str | None:
    """What ended a ``stop`` choice, from vLLM's ``stop_reason`` field; None where a server sends none.

    vLLM's server (``CompletionResponseChoice`` / ``ChatCompletionResponseChoice``) always sends
    ``stop_reason``: the matched stop string, a stop token id, or null when the EOS token ended the
    text. A token id is the model's own end token (vLLM adds a model's extra end tokens as stop
    token ids) unless the caller asked for that id in ``extra_body.stop_token_ids``: then it is
    neither a stop string nor EOS, and None. Servers without the field (OpenAI, llama.cpp's and
    llama-cpp-python's servers) cannot say which of the two ended a ``stop`` choice: None.
    """
    if finish != "stop" or "stop_reason" not in choice:
        return None
    reason = choice["stop_reason"]
    if isinstance(reason, str):
        return reason
    if reason is None:
        return "eos"
    if isinstance(reason, int) and not (isinstance(stop_token_ids, list) and reason in stop_token_ids):
        return "eos"
    return None


class OpenAIBackend:
    """Backend protocol over an OpenAI-compatible HTTP server; see the module docstring."""

    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 6,
        timeout: float = 120.0,
        chat_template: str | None = None,
        mode: str = "completions",
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        extra_body: dict[str, Any] | None = None,
        **ignored: Any,
    ) -> None:
        if not base_url:
            raise BackendConfigError(
                "the openai backend needs the server's base_url, e.g. "
                "backend.options.base_url=http://localhost:8000/v1 (vllm serve) or http://localhost:8080/v1"
            )
        if not str(base_url).startswith(("http://", "https://")):
            raise BackendConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
        if mode not in MODES:
            raise BackendConfigError(f"openai backend mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.base_url = str(base_url).rstrip("/")
        self.requested_model = model
        self.api_key_env = api_key_env
        # The key is read from the environment only, so it never lands in a config file or output row.
        self._api_key = os.environ.get(api_key_env) if api_key_env else None
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.timeout = float(timeout)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.mode = mode
        self.extra_body = dict(extra_body or {})
        if mode == "chat":
            if chat_template is not None:
                log.warning("openai backend: chat_template is not used in chat mode (the server renders the chat)")
            self.chat_template: str | None = None
        else:
            if chat_template is None:
                log.warning(
                    "openai backend: no chat_template given, rendering prompts as ChatML; set "
                    "backend.options.chat_template to a Jinja file (or 'none') for other model families"
                )
                chat_template = "chatml"
            self.chat_template = resolve_chat_template(str(chat_template))
        if ignored:
            log.info("openai backend ignores options: %s", ", ".join(sorted(ignored)))
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="prmlabel-openai")
        self._info_lock = threading.Lock()
        self._model: str | None = None
        self._owned_by = ""
        self._jitter = random.Random()
        # One event per running batch, set when the batch fails (or on close) so that the requests
        # still retrying in other threads stop at once instead of using up their own retries.
        self._batches: set[threading.Event] = set()

    # -- HTTP -------------------------------------------------------------------------------------------

    def _headers(self, has_body: bool) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": f"prmlabel/{prmlabel.__version__}"}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter (half fixed, half random), at least a server's Retry-After."""
        delay = min(self.max_backoff, self.backoff * 2**attempt)
        delay = delay / 2 + self._jitter.uniform(0, delay / 2)
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), self.max_backoff))
            except ValueError:  # an HTTP date: keep our own delay
                pass
        return delay

    def _call(
        self, path: str, body: dict[str, Any] | None = None, abort: threading.Event | None = None
    ) -> dict[str, Any]:
        """One JSON request with retries; raises BackendError naming the URL and the last failure."""
        url = self.base_url + path
        data = json.dumps(body).encode("utf-8") if body is not None else None
        method = "POST" if data is not None else "GET"
        last, last_status = "", None
        for attempt in range(self.max_retries + 1):
            if abort is not None and abort.is_set():  # the batch already failed: send nothing more
                raise BackendError(f"{method} {url}: abandoned, the batch failed or the backend closed ({last})")
            retry_after, last_status = None, None
            try:
                req = urllib.request.Request(url, data=data, method=method, headers=self._headers(data is not None))
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    payload = resp.read()
            except urllib.error.HTTPError as exc:
                try:
                    detail = _excerpt(exc.read() or b"")
                except (OSError, http.client.HTTPException):  # the error body itself was cut off
                    detail = "(no body)"
                if exc.code not in RETRY_STATUS:
                    raise BackendError(self._fatal_message(method, url, exc.code, detail), status=exc.code) from None
                last, last_status = f"HTTP {exc.code}: {detail}", exc.code
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                # refused, reset, dropped (RemoteDisconnected), truncated (IncompleteRead), timeouts
                last = _describe(exc)
            else:
                try:
                    return json.loads(payload)
                except json.JSONDecodeError:
                    raise BackendError(
                        f"{method} {url} answered with something that is not JSON: {_excerpt(payload)}; "
                        "is base_url the server's OpenAI-compatible root (usually ending in /v1)?"
                    ) from None
            if attempt < self.max_retries:
                delay = self._delay(attempt, retry_after)
                log.warning(
                    "openai backend: %s %s failed (%s); retry %d/%d in %.1f s",
                    method,
                    url,
                    last,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                if abort is not None and abort.wait(delay):
                    raise BackendError(f"{method} {url}: abandoned, the batch failed or the backend closed ({last})")
                if abort is None:
                    time.sleep(delay)
        raise BackendError(
            f"{method} {url} still failing after {self.max_retries + 1} attempts; last error: {last}. "
            f"Check that the server is running and reachable at {self.base_url} (try: curl {self.base_url}/models); "
            "a server that is only slow or restarting needs a larger max_retries, backoff or timeout",
            status=last_status,
        )

    def _fatal_message(self, method: str, url: str, code: int, detail: str) -> str:
        hint = "the server rejected the request; check model, sampling options and extra_body"
        if code in (401, 403):
            hint = f"set the server's API key in the environment variable {self.api_key_env}"
        elif code == 404:
            hint = "check base_url (the OpenAI-compatible root, usually ending in /v1) and the model name"
        elif code == 400 and self.mode == "chat":
            hint += "; a server without continue_final_message support may need mode=completions"
        return f"{method} {url} failed with HTTP {code}: {detail}; {hint}"

    # -- server and model ---------------------------------------------------------------------------------

    def _ensure_model(self) -> str:
        """The model id to send: the one configured, else the server's only model (from /v1/models)."""
        with self._info_lock:
            if self._model is not None:
                return self._model
            try:
                listing = self._call("/models").get("data") or []
            except BackendError as exc:
                # A server without /v1/models is fine when the model is named; a server that is down is not.
                if not self.requested_model or exc.status is None or exc.status >= 500:
                    raise
                listing = []
            listing = [m for m in listing if isinstance(m, dict)]
            ids = [str(m.get("id")) for m in listing]
            if self.requested_model:
                model = self.requested_model
            elif len(ids) == 1:
                model = ids[0]
            else:
                raise BackendConfigError(f"{self.base_url}/models lists {ids or 'no models'}; name one with --model")
            self._owned_by = next((str(m.get("owned_by") or "") for m in listing if m.get("id") == model), "")
            self._model = model
            return model

    # -- generation ---------------------------------------------------------------------------------------

    def render_prompt(self, request: GenerationRequest) -> str:
        """The text sent to ``/v1/completions``: chat template with generation prompt, then the prefix."""
        # bos_token is left empty: the server's tokenizer adds BOS itself to a completions prompt.
        return render_chat_template(self.chat_template, request_messages(request)) + request.prefix

    def _body(self, request: GenerationRequest, prompt: str | None, seed: int) -> dict[str, Any]:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self._model,
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": seed,
            "n": 1,
        }
        if s.stop:
            body["stop"] = list(s.stop)
        if self.mode == "completions":
            body["prompt"] = prompt
        else:
            messages = request_messages(request)
            if request.prefix:
                messages.append({"role": "assistant", "content": request.prefix})
                body["continue_final_message"] = True
                body["add_generation_prompt"] = False
            # An empty prefix is a fresh answer: an empty final assistant message would be closed as a turn.
            body["messages"] = messages
        body.update(self.extra_body)
        return body

    def _complete(
        self, request: GenerationRequest, prompt: str | None, seed: int, abort: threading.Event
    ) -> Completion:
        if self.mode == "completions":
            data = self._call("/completions", self._body(request, prompt, seed), abort)
            choice = (data.get("choices") or [{}])[0]
            text = choice.get("text")
        else:
            data = self._call("/chat/completions", self._body(request, prompt, seed), abort)
            choice = (data.get("choices") or [{}])[0]
            text = (choice.get("message") or {}).get("content")
        if text is None:
            raise BackendError(f"{self.base_url}: a response without completion text: {_excerpt(json.dumps(data))}")
        usage = data.get("usage") or {}
        finish = _finish(choice.get("finish_reason"))
        return Completion(
            text=str(text),
            finish_reason=finish,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            stop_reason=_stop_reason(choice, finish, self.extra_body.get("stop_token_ids")),
        )

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """Answer the batch in request order; ``seconds`` splits the batch's wall time by completions."""
        if not requests:
            return []
        started = time.perf_counter()
        self._ensure_model()
        prompts = [self.render_prompt(r) if self.mode == "completions" else None for r in requests]
        # Submitted sorted by prompt, so requests that share a prefix reach the server's prefix cache together.
        order = sorted(range(len(requests)), key=lambda j: (prompts[j] or requests[j].question + requests[j].prefix, j))
        futures: dict[tuple[int, int], Future[Completion]] = {}
        abort = threading.Event()
        self._batches.add(abort)
        for j in order:
            r = requests[j]
            for i in range(r.k):
                futures[(j, i)] = self._pool.submit(self._complete, r, prompts[j], r.seed + i, abort)
        try:
            wait(futures.values(), return_when=FIRST_EXCEPTION)
            done = {key: fut.result() for key, fut in futures.items()}
        except BaseException:
            # One request out of retries ends the batch: drop the queued ones, stop the retrying ones.
            abort.set()
            for fut in futures.values():
                fut.cancel()
            raise
        finally:
            self._batches.discard(abort)
        wall = time.perf_counter() - started
        total = sum(r.k for r in requests) or 1
        return [
            GenerationResult(completions=[done[(j, i)] for i in range(r.k)], seconds=wall * r.k / total)
            for j, r in enumerate(requests)
        ]

    def provenance(self) -> dict[str, str]:
        model = self._model or self.requested_model or ""
        return {
            "backend": self.name,
            "model": model,
            "model_hash": "",
            "backend_version": f"openai-compatible {self._owned_by}".strip(),
        }

    def close(self) -> None:
        """Stop the worker threads; requests still queued are dropped, retrying ones give up."""
        for abort in list(self._batches):
            abort.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
