"""A real llama.cpp OpenAI-compatible server for the faulty-server tests (as tests/backends starts it)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends.conftest import LlamaServer, free_port, gguf_path, skip_or_fail  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def llama_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:  # noqa: F811
    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("sse_starlette") is None:
        skip_or_fail("llamacpp", "llama_cpp.server needs the server extra: pip install 'llama-cpp-python[server]'")
    server = LlamaServer(gguf_path, free_port(), tmp_path_factory.mktemp("llama_server") / "server.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
