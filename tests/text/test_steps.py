"""Tests for prmlabel.text.steps: every mode partitions the text exactly and splits where expected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prmlabel.text.steps import (
    MODES,
    StepSplit,
    clean_step,
    join_steps,
    prefix_text,
    split_steps,
)

ALL_SPLITS = [
    StepSplit("double_newline"),
    StepSplit("newline"),
    StepSplit("step_prefix"),
    StepSplit("regex", pattern=r"\n\n+"),
    StepSplit("regex", pattern=r"(?=Step)"),
    StepSplit("regex", pattern=r";\s*"),
    StepSplit("pieces", pieces=1),
    StepSplit("pieces", pieces=3),
    StepSplit("pieces", pieces=16),
    StepSplit("scan"),
]

_fragments = st.sampled_from(
    ["word", "Step 1:", "step 2.", "x=1;", "\\[", "   ", " ", "\t", "\n", "\n\n", " \n \n", "\r\n", "é"]
    + ["1.5", "**Step 3:**"]
)
_texts = st.one_of(st.lists(_fragments, max_size=40).map("".join), st.text(max_size=200))


@pytest.mark.parametrize("split", ALL_SPLITS, ids=lambda s: s.describe())
@settings(max_examples=200, deadline=None)
@given(text=_texts)
def test_round_trip_and_no_blank_steps(split: StepSplit, text: str) -> None:
    steps = split_steps(text, split)
    assert join_steps(steps) == text
    if text == "":
        assert steps == []
    elif not text.strip():
        assert steps == [text]
    else:
        assert all(step.strip() for step in steps)
    for t in range(len(steps) + 1):
        assert text.startswith(prefix_text(steps, t))


@pytest.mark.parametrize(
    ("split", "text", "expected"),
    [
        ("double_newline", "a\n\nb\n\n\nc", ["a\n\n", "b\n\n\n", "c"]),
        ("double_newline", "a\nb\n \n  c\n", ["a\nb\n \n", "  c\n"]),
        ("double_newline", "\n\n  lead\n\nend\n\n", ["\n\n  lead\n\n", "end\n\n"]),
        ("double_newline", "one step only", ["one step only"]),
        ("newline", "a\nb\n\nc", ["a\n", "b\n\n", "c"]),
        ("newline", "a \n  b", ["a \n", "  b"]),
        (
            "step_prefix",
            "Intro.\nStep 1: x\nmore\nstep 2. y\n**Step 3:** z",
            ["Intro.\nStep 1: x\nmore\n", "step 2. y\n", "**Step 3:** z"],
        ),
        ("step_prefix", "Step 1: a Step 2: b", ["Step 1: a Step 2: b"]),
        ("step_prefix", "Step 1: a\nStep 1.5 is not a marker", ["Step 1: a\nStep 1.5 is not a marker"]),
        ("step_prefix", "no markers\nat all", ["no markers\nat all"]),
        ("regex:;\\s*", "a; b;c;", ["a; ", "b;", "c;"]),
        ("regex:(?=Step)", "Step 1 a Step 2 b", ["Step 1 a ", "Step 2 b"]),
        ("pieces:3", "a b c d e f", ["a b ", "c d ", "e f"]),
        ("pieces:4", "a b c d e f g h i j", ["a b ", "c d e ", "f g ", "h i j"]),
        ("pieces:16", "  a b", ["  a ", "b"]),
        ("pieces:1", "a b c", ["a b c"]),
        ("scan", "a\n\n\\[x\\]\n\nb\n\n   indented\n\nc", ["a\n\n\\[x\\]\n\n", "b\n\n   indented\n\n", "c"]),
        ("scan", "a\n\n  two spaces", ["a\n\n", "  two spaces"]),
        # SCAN splits on exactly "\n\n": the third newline opens the next chunk, which then does not
        # start with 3 spaces, so it is a step of its own (double_newline would merge it here).
        ("scan", "a\n\n\n   b", ["a\n\n\n", "   b"]),
        ("scan", "a\n \nb", ["a\n \nb"]),  # no "\n\n": one step (double_newline cuts it)
        ("scan", "a\n\n\n\n\\[x\\]", ["a\n\n\n\n", "\\[x\\]"]),  # after a blank chunk, \[ starts a step
    ],
)
def test_expected_splits(split: str, text: str, expected: list[str]) -> None:
    assert split_steps(text, StepSplit.parse(split)) == expected


@pytest.mark.parametrize("split", ALL_SPLITS, ids=lambda s: s.describe())
def test_empty_and_whitespace(split: StepSplit) -> None:
    assert split_steps("", split) == []
    assert split_steps(" \n\n \t", split) == [" \n\n \t"]


@pytest.mark.parametrize("split", ALL_SPLITS, ids=lambda s: s.describe())
def test_describe_parse_round_trip(split: StepSplit) -> None:
    assert StepSplit.parse(split.describe()) == split


@pytest.mark.parametrize(
    ("split", "description"),
    [
        (StepSplit(), "double_newline"),
        (StepSplit("newline"), "newline"),
        (StepSplit("step_prefix"), "step_prefix"),
        (StepSplit("regex", pattern="a:b"), "regex:a:b"),
        (StepSplit("pieces"), "pieces:16"),
        (StepSplit("scan"), "scan"),
    ],
)
def test_describe(split: StepSplit, description: str) -> None:
    assert split.describe() == description


def test_parse_pieces_default() -> None:
    assert StepSplit.parse("pieces") == StepSplit("pieces", pieces=16)


@pytest.mark.parametrize("bad", ["paragraphs", "", "Newline"])
def test_bad_mode_lists_valid_modes(bad: str) -> None:
    with pytest.raises(ValueError, match="valid modes") as info:
        StepSplit.parse(bad)
    for mode in MODES:
        assert mode in str(info.value)
    with pytest.raises(ValueError, match="valid modes"):
        StepSplit(mode=bad)


@pytest.mark.parametrize("bad", ["regex", "regex:", "pieces:x", "pieces:0", "newline:3"])
def test_bad_arguments(bad: str) -> None:
    with pytest.raises(ValueError):
        StepSplit.parse(bad)


@pytest.mark.parametrize("pattern", [r"\n*", r"", r"a?", r"(?:x|)", r"$"])
def test_regex_matching_empty_string_rejected(pattern: str) -> None:
    with pytest.raises(ValueError, match="empty string|needs a pattern"):
        StepSplit("regex", pattern=pattern)


def test_invalid_regex_rejected() -> None:
    with pytest.raises(ValueError, match="invalid step separator regex"):
        StepSplit("regex", pattern="(unclosed")


def test_prefix_and_clean() -> None:
    steps = split_steps("First.\n\nSecond.\n\nThird.", StepSplit())
    assert prefix_text(steps, 0) == ""
    assert prefix_text(steps, 2) == "First.\n\nSecond.\n\n"
    assert [clean_step(s) for s in steps] == ["First.", "Second.", "Third."]
    with pytest.raises(ValueError):
        prefix_text(steps, 4)
    with pytest.raises(ValueError):
        prefix_text(steps, -1)


def test_default_split_is_double_newline() -> None:
    assert split_steps("a\n\nb") == ["a\n\n", "b"]


def _scan_reference(response: str) -> list[str]:
    """SCAN's own split, as released (yyDing1/SCAN-PRM @463c201, src/eval_utils/gen_utils.py:137-152,
    Apache-2.0), to compare step boundaries with."""
    steps = []
    now_step = ""
    for step_str in response.split("\n\n"):
        if step_str.startswith("\\[") or step_str.startswith("   "):
            if now_step.strip():
                now_step += "\n"
            now_step += step_str
        else:
            if now_step.strip():
                steps.append(now_step)
            now_step = step_str
    if now_step.strip():
        steps.append(now_step)
    return steps


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "\n", "\n\n", "   ", "  ", " ", "\\[", "x", "\\]", "\t"]), max_size=16))
def test_scan_split_has_scans_boundaries(parts: list[str]) -> None:
    # Same steps as SCAN's code, up to whitespace (SCAN drops separators and rejoins merged chunks with
    # "\n"; our steps keep every character so that they partition the response).
    text = "".join(parts)
    ours = split_steps(text, StepSplit("scan"))
    assert "".join(ours) == text
    if text.strip():
        squash = "".join
        assert [squash(s.split()) for s in ours] == [squash(s.split()) for s in _scan_reference(text)]
