"""Step text as the trainer formats lay it out: stripped steps, and the Math-Shepherd tagged text.

Our steps keep the separator that follows them (``"".join(steps) == response``); trainer formats
add their own separator, so each step is written stripped.
"""

from __future__ import annotations

# Math-Shepherd's step tag, which OpenRLHF reads as its placeholder token (`--placeholder_token ки`).
PLACEHOLDER = "ки"


def stripped(steps: list[str]) -> list[str]:
    return [step.strip() for step in steps]


def tagged_text(question: str, steps: list[str], tags: list[str]) -> str:
    """``"<question> <step 1> <tag 1>\\n<step 2> <tag 2>..."``, Math-Shepherd's layout (tag after a space)."""
    return question.strip() + " " + "\n".join(f"{step} {tag}" for step, tag in zip(stripped(steps), tags, strict=True))
