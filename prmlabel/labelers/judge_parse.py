"""Reading a judge's critique: which paragraph (0-based) holds the earliest error, -1 for none.

Model text is data: this module only does bounded text scanning (no eval, no regex that can
backtrack badly: every quantifier over free text is bounded or the search is a plain ``find``), and
it reads at most the last :data:`MAX_SCAN_CHARS` characters (a verdict comes at the end).

Rules, in order:

1. **Echoed prompt text is not the judge's word.** A critique that repeats the instructions is read
   only after the last instruction sentence it repeats (the Qwen template's worked example has its
   own ``<first_error>2</first_error>``). Blocks the prompt holds as data (``<math_problem>``,
   ``<paragraph_i>``) are cut out of the critique before anything is read, so a step that says
   ``\\boxed{-1}`` or ``<conclusion>Correct</conclusion>`` cannot pose as the verdict when a judge
   repeats it. An unclosed data block runs to the judge's next own tag (or the end).
2. **Analyses are evidence, not verdicts.** The bodies of ``<analysis_i>`` blocks are not searched
   for a conclusion, an index or a box (a judge quoting a step stays a quote); only their indices
   count, and the last one is the paper's implied error paragraph.
3. **Qwen format** (``prompt="qwen"``): ``<first_error>i</first_error>`` if present (checked against the
   conclusion: ``Correct`` with an index >= 0, or ``Incorrect`` with -1, is contradictory and
   unparseable); else ``<conclusion>Correct</conclusion>`` is -1 (the conclusion is read with the
   bounded phrase list :data:`VERDICT_PHRASES`, negations first: "Not correct" is Incorrect,
   "Correct, no error found" is Correct, "Correct/Incorrect" or a hedge is neither); ``Incorrect`` takes the paragraph
   named in the conclusion ("paragraph_3", "Paragraph 3"), else the last ``<analysis_i>`` (the
   paper's format: the judge stops at the erroneous paragraph), else it is unparseable.
   **ProcessBench format** (``prompt="processbench"``): the last ``\\boxed{...}`` (as ProcessBench's
   own extraction). Each format falls back to the other's markers, then to a sentence naming "the
   earliest/first error ... paragraph N".
4. **An index must be one number.** ``\\boxed{2, 3}`` or a conclusion naming two paragraphs is
   unparseable, never a guess. An index outside ``-1 .. num_steps-1`` is ``out_of_range``.
5. **Nothing found** is ``unparseable``, or ``refused`` if the critique opens with a refusal
   ("I cannot", "I'm sorry", ...). Neither is ever read as "no error".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prmlabel.text.judge_prompts import ECHO_ENDS

MAX_SCAN_CHARS = 100_000
_FIELD_CHARS = 300  # how much text after an opening tag a conclusion or index may use

STATUSES = ("parsed", "unparseable", "refused", "out_of_range")


@dataclass(frozen=True)
class Verdict:
    """``index``: the earliest wrong paragraph (-1 none), None unless ``status == "parsed"``."""

    index: int | None
    status: str
    reason: str


_DATA_OPEN_RE = re.compile(r"<\s*(?:math_problem|paragraph_\d+)\s*>", re.I)
_DATA_CLOSE_RE = re.compile(r"<\s*/\s*(?:math_problem|paragraph_\d+)\s*>", re.I)
_DATA_END_RE = re.compile(r"(?=<\s*/?\s*(?:analysis_\d+|conclusion|first_error)\s*>)", re.I)
_ANALYSIS_OPEN_RE = re.compile(r"<\s*analysis_(\d+)\s*>", re.I)
_ANALYSIS_CLOSE_RE = re.compile(r"<\s*/\s*analysis_\d+\s*>", re.I)
_ANALYSIS_END_RE = re.compile(r"(?=<\s*(?:conclusion|first_error)\s*>)|(?=\\boxed)", re.I)
_CONCLUSION_RE = re.compile(r"<\s*conclusion\s*>|\bconclusion\s*[:：]", re.I)
_FIRST_ERROR_RE = re.compile(r"<\s*first_error\s*>", re.I)
# The verdict phrasings a conclusion may use, as whole words (lower case, apostrophes dropped,
# other punctuation as spaces). Negations and longer phrases come first and use up their words, so
# "not correct" never also counts as "correct" and "no error found" never as "error". A hedge makes
# the conclusion no verdict, and so does a negation this list does not know ("does not contain any
# errors") standing before a verdict word in the same clause.
VERDICT_PHRASES: tuple[tuple[str, str], ...] = (
    ("not sure", "hedge"),
    ("unsure", "hedge"),
    ("unclear", "hedge"),
    ("uncertain", "hedge"),
    ("maybe", "hedge"),
    ("possibly", "hedge"),
    ("probably", "hedge"),
    ("cannot determine", "hedge"),
    ("cannot be determined", "hedge"),
    ("cant tell", "hedge"),
    ("not incorrect", "correct"),
    ("not wrong", "correct"),
    ("nothing wrong", "correct"),
    ("no errors", "correct"),
    ("no error", "correct"),
    ("no mistakes", "correct"),
    ("no mistake", "correct"),
    ("error free", "correct"),
    ("without any errors", "correct"),
    ("without any error", "correct"),
    ("without errors", "correct"),
    ("without error", "correct"),
    ("not correct", "incorrect"),
    ("isnt correct", "incorrect"),
    ("not fully correct", "incorrect"),
    ("not entirely correct", "incorrect"),
    ("not completely correct", "incorrect"),
    ("not valid", "incorrect"),
    ("incorrect", "incorrect"),
    ("wrong", "incorrect"),
    ("erroneous", "incorrect"),
    ("invalid", "incorrect"),
    ("flawed", "incorrect"),
    ("errors", "incorrect"),
    ("error", "incorrect"),
    ("mistakes", "incorrect"),
    ("mistake", "incorrect"),
    ("correct", "correct"),
    ("valid", "correct"),
)
_PHRASE_WORDS = tuple((tuple(phrase.split()), kind) for phrase, kind in VERDICT_PHRASES)
_NEGATIONS = frozenset(
    "not no never nothing none neither nor without cannot dont doesnt isnt arent wasnt werent cant wont "
    "hasnt havent hadnt didnt couldnt shouldnt wouldnt".split()
)
_CLAUSE_RE = re.compile(r"[.;:!?\n]")
_APOSTROPHE_RE = re.compile(r"['\u2019]")
_NON_WORD_RE = re.compile(r"[^a-z0-9]+")
_NUMBER_RE = re.compile(r"-?\d+")
_PARAGRAPH_RE = re.compile(r"\bparagraph[\s_#]{0,3}(-?\d+)", re.I)
_PHRASE_RE = re.compile(
    r"\b(?:earliest|first)\s+(?:error|mistake|incorrect\s+paragraph|wrong\s+paragraph)[^.\n]{0,80}?"
    r"\bparagraph[\s_#]{0,3}(-?\d+)",
    re.I,
)
_NONE_WORDS_RE = re.compile(r"\b(?:none|not\s+found|no\s+error)\b", re.I)
_REFUSAL_RE = re.compile(
    r"\b(?:I\s+(?:cannot|can't|can\s+not|won't|will\s+not|am\s+unable|'m\s+unable|am\s+not\s+able)|"
    r"I\s*(?:'m|am)\s+sorry|as\s+an\s+AI)\b",
    re.I,
)


def parse_verdict(text: str, num_steps: int, prompt: str) -> Verdict:
    """The judge's verdict in ``text`` about a solution of ``num_steps`` paragraphs (see the module rules)."""
    if not text or not text.strip():
        return Verdict(None, "unparseable", "empty critique")
    scanned = text[-MAX_SCAN_CHARS:]
    start = max((at + len(end) for end in ECHO_ENDS if (at := scanned.rfind(end)) >= 0), default=0)
    own = _cut_blocks(scanned[start:])
    outside, analyses = _cut_analyses(own)
    readers = (_qwen, _boxed) if prompt == "qwen" else (_boxed, _qwen)
    for read in (*readers, _phrase):
        found = read(outside, analyses)
        if found is not None:
            index, reason = found
            if index is None:
                return Verdict(None, "unparseable", reason)
            if not -1 <= index < num_steps:
                return Verdict(None, "out_of_range", f"{reason}: index {index} is not in -1..{num_steps - 1}")
            return Verdict(index, "parsed", reason)
    if _REFUSAL_RE.search(own[:500]):
        return Verdict(None, "refused", "the judge refused and named no paragraph")
    return Verdict(None, "unparseable", "no conclusion, first_error tag, boxed index or named paragraph found")


Found = tuple[int | None, str] | None  # None: nothing of this kind; (None, why): found but unusable


def _qwen(text: str, analyses: list[int]) -> Found:
    explicit = _tag_field(text, _FIRST_ERROR_RE)
    conclusion = _tag_field(text, _CONCLUSION_RE)
    verdict = _classify(conclusion) if conclusion is not None else None
    if explicit is not None:
        index, why = _one_index(explicit)
        if index is None:
            return None, f"first_error tag: {why}"
        if verdict == "correct" and index != -1:
            return None, f"contradictory: conclusion Correct but first_error {index}"
        if verdict == "incorrect" and index == -1:
            return None, "contradictory: conclusion Incorrect but first_error -1"
        return index, "first_error tag"
    if verdict == "correct":
        return -1, "conclusion Correct"
    if verdict == "incorrect":
        named = {int(n) for n in _PARAGRAPH_RE.findall(conclusion or "")}
        if len(named) > 1:
            return None, f"conclusion Incorrect names several paragraphs {sorted(named)}"
        if named:
            return named.pop(), "conclusion Incorrect, paragraph named in it"
        if analyses:
            return analyses[-1], "conclusion Incorrect, index of the last analysis"
        return None, "conclusion Incorrect without an index or any analysis"
    if conclusion is not None:
        return None, f"conclusion is neither Correct nor Incorrect: {conclusion.strip()[:40]!r}"
    return None


def _boxed(text: str, analyses: list[int]) -> Found:
    at = text.rfind("\\boxed")
    if at < 0:
        return None
    rest = text[at + len("\\boxed") : at + len("\\boxed") + _FIELD_CHARS].lstrip()
    if rest.startswith("{"):
        depth, end = 0, -1
        for i, ch in enumerate(rest):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                end = i
                break
        if end < 0:
            return None, "unclosed \\boxed{"
        content = rest[1:end]
    else:
        m = _NUMBER_RE.match(rest)
        if m is None:
            return None, "\\boxed without a value"
        content = m.group(0)
    index, why = _one_index(content)
    return (index, "boxed index") if index is not None else (None, f"boxed: {why}")


def _phrase(text: str, analyses: list[int]) -> Found:
    named = {int(m.group(1)) for m in _PHRASE_RE.finditer(text[-4000:])}
    if not named:
        return None
    if len(named) > 1:
        return None, f"several paragraphs named as the earliest error {sorted(named)}"
    return named.pop(), "sentence naming the earliest error"


def _one_index(field: str) -> tuple[int | None, str]:
    numbers = {int(n) for n in _NUMBER_RE.findall(field[:_FIELD_CHARS])}
    if len(numbers) == 1:
        return numbers.pop(), ""
    if len(numbers) > 1:
        return None, f"several numbers {sorted(numbers)}"
    if _NONE_WORDS_RE.search(field):
        return -1, ""
    return None, f"no index in {field.strip()[:40]!r}"


def _classify(field: str) -> str | None:
    """Correct, Incorrect, or None: neither, both (an echoed "Correct/Incorrect"), hedged, or negated.

    The field (at most :data:`_FIELD_CHARS` characters) is read clause by clause against
    :data:`VERDICT_PHRASES` in order; the words of each match are used up.
    """
    kinds: set[str] = set()
    for clause in _CLAUSE_RE.split(_APOSTROPHE_RE.sub("", field[:_FIELD_CHARS].lower())):
        words: list[str | None] = list(_NON_WORD_RE.sub(" ", clause).split())
        last_hit = 0
        for phrase, kind in _PHRASE_WORDS:
            size = len(phrase)
            for at in range(len(words) - size + 1):
                if tuple(words[at : at + size]) == phrase:
                    words[at : at + size] = [None] * size
                    kinds.add(kind)
                    last_hit = max(last_hit, at)
        if any(word in _NEGATIONS for word in words[:last_hit]):
            return None
    if len(kinds) != 1 or "hedge" in kinds:
        return None
    return kinds.pop()


def _tag_field(text: str, opening: re.Pattern[str]) -> str | None:
    """The text after the LAST opening tag, up to the next tag (``<``) or :data:`_FIELD_CHARS`."""
    last = None
    for match in opening.finditer(text):
        last = match
    if last is None:
        return None
    field = text[last.end() : last.end() + _FIELD_CHARS]
    cut = field.find("<")
    return field if cut < 0 else field[:cut]


def _cut_blocks(text: str) -> str:
    """``text`` without the data blocks (``<math_problem>``, ``<paragraph_i>``) a judge echoed.

    A block ends at its closing tag if it has one before the next block opens (so a quoted
    ``<conclusion>`` inside a closed step stays inside); an unclosed one ends at the judge's next own
    tag, or where the next block opens, or at the end.
    """
    kept: list[str] = []
    pos = 0
    while (m := _DATA_OPEN_RE.search(text, pos)) is not None:
        kept.append(text[pos : m.start()])
        following = _DATA_OPEN_RE.search(text, m.end())
        limit = following.start() if following else len(text)
        end = _DATA_CLOSE_RE.search(text, m.end(), limit) or _DATA_END_RE.search(text, m.end(), limit)
        pos = end.end() if end else limit
    kept.append(text[pos:])
    return "".join(kept)


def _cut_analyses(text: str) -> tuple[str, list[int]]:
    """The text outside ``<analysis_i>`` bodies, and the analysis indices in the order written.

    A body ends at its ``</analysis_i>`` if it has one before the next analysis opens (so a quoted
    ``<conclusion>`` inside it stays inside); an unclosed one ends at the judge's next own tag.
    """
    kept: list[str] = []
    indices: list[int] = []
    pos = 0
    while (m := _ANALYSIS_OPEN_RE.search(text, pos)) is not None:
        kept.append(text[pos : m.start()])
        indices.append(int(m.group(1)))
        following = _ANALYSIS_OPEN_RE.search(text, m.end())
        limit = following.start() if following else len(text)
        end = _ANALYSIS_CLOSE_RE.search(text, m.end(), limit) or _ANALYSIS_END_RE.search(text, m.end(), limit)
        pos = end.end() if end else limit
    kept.append(text[pos:])
    return "".join(kept), indices
