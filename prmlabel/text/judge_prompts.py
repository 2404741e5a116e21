"""The judge's prompt templates, and reading a rendered prompt back (for the simulated judge).

Two templates, both numbering paragraphs from 0 (as ProcessBench and its ``label`` do, so a verdict
is directly a step index):

- ``qwen`` (default): the shape of the Qwen PRM "Lessons" paper, App. C (Zhang et al., 2025, arXiv
  2501.07301): the problem in ``<math_problem>``, the steps as ``<paragraph_i>``; the judge writes
  ``<analysis_i>`` per paragraph, stops at the first erroneous one and concludes with
  ``<conclusion>Correct</conclusion>`` or ``Incorrect``. The paper leaves the index implied by the
  last analysis; this template also asks for it by name (``<first_error>i</first_error>``, -1 for
  none) so that a judge that skips an analysis tag still names its verdict. The wording is ours,
  written after the paper's description; the structure and tags are the paper's.
- ``processbench``: ProcessBench's critique template (QwenLM/ProcessBench,
  code/templates/critique_template.txt): final answer ``\\boxed{index}``, -1 for none.

The steps are data. Tags the parser reads (``<paragraph_i>``, ``<analysis_i>``, ``<conclusion>``,
``<first_error>``, ``<math_problem>``) are defanged inside the problem and step texts
(``<`` becomes ``&lt;``), so a step cannot close its own paragraph and pose as the judge's format.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

PROMPTS = ("qwen", "processbench")

_RESERVED_TAG_RE = re.compile(r"<(/?\s*(?:paragraph_\d+|analysis_\d+|math_problem|conclusion|first_error)\s*)>", re.I)

_PLACEHOLDER_RE = re.compile(r"\{(marker|head|task|end|example_end|instructions_end|problem|tagged_response)\}")

QWEN_TASK_MARKER = "The following is the math problem and the solution for your task:"

QWEN_TEMPLATE = """I will give you a math problem and a solution to it. They are formatted as follows:

[Math Problem]

<math_problem>
...(the math problem)...
</math_problem>

[Solution]

<paragraph_0>
...(paragraph 0 of the solution)...
</paragraph_0>

...

<paragraph_n>
...(paragraph n of the solution)...
</paragraph_n>

Review the paragraphs of the solution in order: analyze, verify and critique the reasoning of each in \
detail. Write your analyses and your conclusion in this format:

<analysis_0>
...(analysis of paragraph 0)...
</analysis_0>

...

<analysis_n>
...(analysis of paragraph n)...
</analysis_n>

<conclusion>
Correct/Incorrect
</conclusion>

<first_error>index</first_error>

* In the analysis of each paragraph, verify it by recalculation or reflection and say whether it is \
logically and mathematically valid.

* If a paragraph contains an error, describe the error and its cause, and say how to correct it. Once a \
paragraph is found to contain an error, do not analyze the paragraphs after it (they may depend on the \
error): write the conclusion "Incorrect" at once, and put the index of that paragraph in <first_error>. \
If every paragraph is correct, conclude "Correct" and write <first_error>-1</first_error>.

For instance, if a solution has five paragraphs and paragraph 2 contains the first error, reply:

<analysis_0>
...(analysis of paragraph 0)...
</analysis_0>

<analysis_1>
...(analysis of paragraph 1)...
</analysis_1>

<analysis_2>
...(analysis of paragraph 2, with the error found, a critique and how to correct it)...
</analysis_2>

<conclusion>
Incorrect
</conclusion>

<first_error>2</first_error>

{example_end}

{instructions_end}

--------------------------------------------------

{marker}

[Math Problem]

<math_problem>
{problem}
</math_problem>

[Solution]

{tagged_response}"""

PROCESSBENCH_HEAD = (
    "The following is a math problem and a solution (split into paragraphs, enclosed with tags and indexed from 0):"
)
PROCESSBENCH_TASK = "Your task is to review and critique the solution paragraph by paragraph."

QWEN_EXAMPLE_END = "The analyses of paragraphs 3 and 4 are skipped because paragraph 2 contains an error."
QWEN_INSTRUCTIONS_END = "* Reply with your analyses and conclusion directly."
PROCESSBENCH_END = "Please put your final answer (i.e., the index) in \\boxed{}."

PROCESSBENCH_TEMPLATE = """{head}

[Math Problem]

{problem}

[Solution]

{tagged_response}

{task} Once you identify an error in a paragraph, return the index of the paragraph where the earliest \
error occurs. Otherwise, return the index of -1 (which typically denotes "not found").

{end}"""


# Sentences that end the instructions: a critique that repeats the prompt is read only after them.
ECHO_ENDS = (QWEN_TASK_MARKER, QWEN_EXAMPLE_END, QWEN_INSTRUCTIONS_END, PROCESSBENCH_END)


def defang(text: str) -> str:
    """Neutralise the tags the judge's parser reads, inside data (problem and step texts)."""
    return _RESERVED_TAG_RE.sub(r"&lt;\1>", text)


def tagged_response(steps: Sequence[str]) -> str:
    """ProcessBench's layout: ``<paragraph_i>\\n{step}\\n</paragraph_i>`` blocks, blank-line separated."""
    return "\n\n".join(f"<paragraph_{i}>\n{defang(step.strip())}\n</paragraph_{i}>" for i, step in enumerate(steps))


def render_prompt(prompt: str, problem: str, steps: Sequence[str]) -> str:
    """The judge's user message for ``problem`` and its solution ``steps`` (step separators dropped)."""
    if prompt not in PROMPTS:
        raise ValueError(f"unknown judge prompt {prompt!r}; choose one of: {', '.join(PROMPTS)}")
    values = {
        "marker": QWEN_TASK_MARKER,
        "head": PROCESSBENCH_HEAD,
        "task": PROCESSBENCH_TASK,
        "end": PROCESSBENCH_END,
        "example_end": QWEN_EXAMPLE_END,
        "instructions_end": QWEN_INSTRUCTIONS_END,
        "problem": defang(problem.strip()),
        "tagged_response": tagged_response(steps),
    }
    template = QWEN_TEMPLATE if prompt == "qwen" else PROCESSBENCH_TEMPLATE
    # One pass, so a "{problem}" written inside a step is text, not a placeholder.
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class JudgePrompt:
    """A rendered judge prompt read back: which template, the problem, the steps (stripped, defanged)."""

    prompt: str
    problem: str
    steps: tuple[str, ...]


def parse_judge_prompt(text: str) -> JudgePrompt | None:
    """Recognise a prompt written by :func:`render_prompt` and recover its problem and steps; else None.

    Only the task part is read (after the Qwen marker; the ProcessBench head), so the format example
    in the Qwen instructions is never taken for the solution.
    """
    if not text:
        return None
    at = text.rfind(QWEN_TASK_MARKER)
    if at >= 0:
        task = text[at + len(QWEN_TASK_MARKER) :]
        problem = _between(task, "<math_problem>\n", "\n</math_problem>")
        solution = _after(task, "\n[Solution]\n\n")
        name = "qwen"
    elif PROCESSBENCH_HEAD in text and PROCESSBENCH_TASK in text:
        task = text[text.rfind(PROCESSBENCH_HEAD) + len(PROCESSBENCH_HEAD) :]
        problem = _between(task, "[Math Problem]\n\n", "\n\n[Solution]\n\n")
        solution = _between(task, "[Solution]\n\n", "\n\n" + PROCESSBENCH_TASK)
        name = "processbench"
    else:
        return None
    if problem is None or solution is None:
        return None
    steps = _paragraphs(solution)
    return None if steps is None else JudgePrompt(name, problem, tuple(steps))


def _between(text: str, start: str, end: str) -> str | None:
    i = text.find(start)
    if i < 0:
        return None
    j = text.find(end, i + len(start))
    return None if j < 0 else text[i + len(start) : j]


def _after(text: str, start: str) -> str | None:
    i = text.find(start)
    return None if i < 0 else text[i + len(start) :]


def _paragraphs(solution: str) -> list[str] | None:
    """The ``<paragraph_i>`` bodies in order 0, 1, ...; None if the layout is not the one rendered."""
    steps: list[str] = []
    pos = 0
    while True:
        opening = f"<paragraph_{len(steps)}>\n"
        start = solution.find(opening, pos)
        if start < 0:
            break
        closing = f"\n</paragraph_{len(steps)}>"
        end = solution.find(closing, start + len(opening))
        if end < 0:
            return None
        steps.append(solution[start + len(opening) : end])
        pos = end + len(closing)
    return steps or None
