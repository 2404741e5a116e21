"""Configurable, recorded step splitting whose steps join back to the exact response.

Contract relied on by rollouts and labelers: the steps PARTITION the text, ``"".join(steps) == text``.
Each step keeps the separator whitespace that follows it, so the first t steps are exactly what the model
wrote up to that point and can be handed back to the model to continue. A step never consists of
whitespace only (leading whitespace joins the first step, trailing whitespace the last). The split is
described by a short string (``StepSplit.describe()``) so that every dataset records how it was cut.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

MODES = ("double_newline", "newline", "step_prefix", "regex", "pieces", "scan")

# A line that opens a new step: "Step 3:", "step 3." (optionally indented or in markdown "**Step 3:**",
# "## Step 3."); "Step 1.5" is not a marker.
_STEP_MARKER_RE = re.compile(r"^[ \t]*(?:[#*>]+[ \t]*)?step[ \t]*\d+[ \t]*(?::|\.(?!\d))", re.I | re.M)
_WHITESPACE_RUN_RE = re.compile(r"\s+")
_TOKEN_RE = re.compile(r"\S+")


@dataclass(frozen=True)
class StepSplit:
    """How a response is cut into steps.

    ``mode`` is one of :data:`MODES`; ``pattern`` is the separator regex for ``regex`` mode; ``pieces``
    is the number of chunks for ``pieces`` mode (OmegaPRM-style equal-length cutting).
    """

    mode: str = "double_newline"
    pattern: str | None = None
    pieces: int = 16

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown step split mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        if self.mode == "regex":
            if not self.pattern:
                raise ValueError("step split mode 'regex' needs a pattern, e.g. 'regex:\\n\\n+'")
            _compile_separator(self.pattern)
        if self.mode == "pieces" and self.pieces < 1:
            raise ValueError(f"step split mode 'pieces' needs pieces >= 1, got {self.pieces}")

    def describe(self) -> str:
        """Short text recorded with every labeled dataset; ``StepSplit.parse`` reads it back."""
        if self.mode == "regex":
            return f"regex:{self.pattern}"
        if self.mode == "pieces":
            return f"pieces:{self.pieces}"
        return self.mode

    @classmethod
    def parse(cls, description: str) -> StepSplit:
        """Inverse of :meth:`describe`: ``"newline"``, ``"regex:<pattern>"``, ``"pieces:16"``, ..."""
        mode, sep, arg = description.partition(":")
        mode = mode.strip()
        if mode not in MODES:
            raise ValueError(f"unknown step split mode {mode!r}; valid modes: {', '.join(MODES)}")
        if mode == "regex":
            if not sep or not arg:
                raise ValueError("step split 'regex' needs a pattern: 'regex:<pattern>'")
            return cls(mode="regex", pattern=arg)
        if mode == "pieces":
            if not sep:
                return cls(mode="pieces")
            try:
                n = int(arg.strip())
            except ValueError:
                raise ValueError(f"step split 'pieces:<n>' needs an integer, got {arg!r}") from None
            return cls(mode="pieces", pieces=n)
        if sep:
            raise ValueError(f"step split mode {mode!r} takes no argument, got {description!r}")
        return cls(mode=mode)


@functools.lru_cache(maxsize=64)
def _compile_separator(pattern: str) -> re.Pattern[str]:
    """Compile a separator regex, rejecting patterns that match the empty string.

    A separator that matches "" would cut between every character (or nowhere useful); a zero-width
    pattern like ``(?=Step)`` is still allowed because it does not match the empty string on its own.
    """
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid step separator regex {pattern!r}: {exc}") from None
    if rx.search("") is not None:
        raise ValueError(f"step separator regex {pattern!r} matches the empty string; it must consume text")
    return rx


# --------------------------------------------------------------------------------------------------------
# Cut positions per mode: indexes where a new step starts.
# --------------------------------------------------------------------------------------------------------


def _newline_run_cuts(text: str, min_newlines: int) -> list[int]:
    """Cut right after the last newline of every whitespace run that holds >= ``min_newlines`` newlines.

    The run goes with the preceding step; indentation on the new line stays with the new step.
    """
    cuts = []
    for m in _WHITESPACE_RUN_RE.finditer(text):
        run = m.group()
        if run.count("\n") >= min_newlines:
            cuts.append(m.start() + run.rfind("\n") + 1)
    return cuts


def _step_prefix_cuts(text: str) -> list[int]:
    # The first marker does not cut: text before it (a preamble) joins the first step.
    return [m.start() for m in _STEP_MARKER_RE.finditer(text)][1:]


def _regex_cuts(text: str, pattern: str) -> list[int]:
    return [m.end() for m in _compile_separator(pattern).finditer(text)]


def _pieces_cuts(text: str, pieces: int) -> list[int]:
    """Start positions of tokens that open each of ``pieces`` chunks of about equal token count."""
    starts = [m.start() for m in _TOKEN_RE.finditer(text)]
    n = len(starts)
    k = min(pieces, n)
    if k <= 1:
        return []
    return [starts[(i * n) // k] for i in range(1, k)]


def _slice(text: str, cuts: list[int]) -> list[str]:
    """Slice at the cuts, then fold whitespace-only pieces into a neighbour so no step is blank."""
    bounds = sorted({c for c in cuts if 0 < c < len(text)})
    edges = [0, *bounds, len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(edges)]
    steps: list[str] = []
    pending = ""  # leading whitespace waiting for the first real step
    for piece in pieces:
        if piece.strip():
            steps.append(pending + piece)
            pending = ""
        elif steps:
            steps[-1] += piece
        else:
            pending += piece
    if pending:  # whitespace-only text
        steps.append(pending)
    return steps


def _scan_cuts(text: str) -> list[int]:
    """SCAN's split (yyDing1/SCAN-PRM, src/eval_utils/gen_utils.py:137-152), as cut positions.

    SCAN splits on every "\\n\\n" (``str.split``: left to right, not overlapping) and merges a chunk that
    opens with display math ``\\[`` or a 3-space indent into the step being built; a blank chunk closes
    the step, so a ``\\[`` chunk right after one starts a step of its own; whitespace-only steps are
    dropped. A step here starts where its first chunk starts; the separators and any dropped blank
    chunks stay with the step before, so the steps still partition the text. (SCAN rejoins a merged
    chunk with "\\n"; we keep the text as written: the boundaries are the same.)
    """
    starts: list[int] = []  # where each step's first non-blank chunk starts
    group_start: int | None = None  # the step being built; None while it holds only whitespace
    position = 0
    for chunk in text.split("\n\n"):
        if not (chunk.startswith("\\[") or chunk.startswith("   ")):
            if group_start is not None:
                starts.append(group_start)
            group_start = None
        if group_start is None and chunk.strip():
            # Newlines that open the chunk ("\n\n\n" leaves one) stay with the step before; indentation stays.
            lead = chunk[: len(chunk) - len(chunk.lstrip())]
            group_start = position + lead.rfind("\n") + 1
        position += len(chunk) + 2
    if group_start is not None:
        starts.append(group_start)
    return starts[1:]


def split_steps(text: str, split: StepSplit | None = None) -> list[str]:
    """Cut ``text`` into steps that partition it (``"".join(result) == text``).

    ``""`` gives ``[]``; whitespace-only text gives one step.
    """
    split = split or StepSplit()
    if text == "":
        return []
    mode = split.mode
    if mode == "double_newline":
        cuts = _newline_run_cuts(text, 2)
    elif mode == "scan":
        cuts = _scan_cuts(text)
    elif mode == "newline":
        cuts = _newline_run_cuts(text, 1)
    elif mode == "step_prefix":
        cuts = _step_prefix_cuts(text)
    elif mode == "regex":
        assert split.pattern is not None  # checked in StepSplit.__post_init__
        cuts = _regex_cuts(text, split.pattern)
    elif mode == "pieces":
        cuts = _pieces_cuts(text, split.pieces)
    else:  # pragma: no cover - StepSplit validates the mode
        raise ValueError(f"unknown step split mode {mode!r}; valid modes: {', '.join(MODES)}")
    return _slice(text, cuts)


def join_steps(steps: list[str]) -> str:
    """The response the steps came from (steps carry their own separators)."""
    return "".join(steps)


def clean_step(step: str) -> str:
    """A step without its surrounding whitespace, for display and export only (not for prefixes)."""
    return step.strip()


def prefix_text(steps: list[str], t: int) -> str:
    """Exactly the text of the first ``t`` steps, ready to be continued by the model."""
    if not 0 <= t <= len(steps):
        raise ValueError(f"prefix length t={t} outside 0..{len(steps)}")
    return "".join(steps[:t])
