"""Seeds derived from what a request is about, never from the order work happens in.

A request's seed depends on (run seed, problem, response, prefix, round), so a shard processed
alone, in another order, or again after a crash draws exactly the same samples.
"""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    """A 31-bit seed from the parts' text (31 bits: vLLM and llama.cpp take a signed int32)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF
