"""What identifies an input, for resume: a run folder refuses to go on over changed input data."""

from __future__ import annotations

import hashlib
from pathlib import Path

from prmlabel.inputs.hub import revision_digest


def content_digest(path: str | Path) -> str | None:
    """sha256 of a data file's bytes, or of every file under a folder (names and bytes, in order);
    None when the path does not exist (loading it reports that, with the next step to take).
    A Hub dataset (``hf://owner/name``) is identified by the revision ``datasets`` resolves."""
    if str(path).startswith("hf:/"):
        return revision_digest(path)
    root = Path(path)
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    else:
        return None
    digest = hashlib.sha256()
    for file in files:
        if file != root:  # inside a folder, a renamed file is another input
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()[:32]
