"""The LLM-as-a-judge labeler: one fresh prompt per response, N critiques, majority first error.

Hand-driven programs check the rule; `prmlabel label --method judge` runs end to end on the synthetic
backend's simulated judge (known accuracy, known truth) and on the real llama.cpp engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers import load_labeler
from prmlabel.labelers.judge import JudgeParams, LLMJudge, majority, path_values
from prmlabel.text.judge_prompts import parse_judge_prompt
from tests.labelers.driver import drive

STEPS = ("Step 1: 3 + 4 = 7\n\n", "Step 2: 7 * 2 = 15\n\n", "Step 3: 15 - 1 = 14 The answer is \\boxed{14}.")
PROBLEM = {"question": "Start with 3. Add 4, then multiply by 2, then subtract 1. What is the final number?"}


def view(steps=STEPS) -> ResponseView:
    return ResponseView("q1", "r1", tuple(steps), False, problem=PROBLEM)


def critiques(*texts: str):
    """An outcome answering the judge's one request with these critique texts, in sample order."""

    def outcome(prefix: str, k: int, offset: int):
        assert prefix == "" and k == len(texts) and offset == 0
        return [(text, False, len(text.split())) for text in texts]

    return outcome


def test_one_fresh_prompt_with_the_steps_as_paragraphs():
    labels, rounds, requests = drive(LLMJudge(JudgeParams(votes=3)).label(view()), critiques("\\boxed{1}", *["x"] * 2))
    (request,) = requests
    assert rounds == 1 and request.k == 3 and request.prefix == ""
    read = parse_judge_prompt(request.question)
    assert read is not None and read.prompt == "qwen" and read.problem == PROBLEM["question"]
    assert read.steps == tuple(step.strip() for step in STEPS)


def test_majority_and_the_path_labels_around_it():
    labels, _, _ = drive(
        LLMJudge(JudgeParams(votes=3, prompt="processbench")).label(view()),
        critiques("Paragraph 1 is wrong. \\boxed{1}", "\\boxed{1}", "\\boxed{-1}"),
    )
    assert labels.first_error == 1
    assert labels.values == [1.0, 0.0, None] and labels.hard == [True, False, None]  # after: unknown, not negative
    extra = labels.extra
    assert extra["verdict"] == "error" and extra["support"] == 2 and extra["prompt"] == "processbench"
    assert [v["index"] for v in extra["votes"]] == [1, 1, -1]
    assert extra["rationales"][0] == "Paragraph 1 is wrong. \\boxed{1}"


def test_no_error_labels_every_step_good():
    labels, _, _ = drive(LLMJudge().label(view()), critiques("<conclusion>Correct</conclusion>"))
    assert labels.first_error == -1 and labels.values == [1.0] * 3 and labels.hard == [True] * 3
    assert labels.extra["verdict"] == "no_error"


def test_unparseable_votes_do_not_vote_and_all_unparseable_is_unknown_not_no_error():
    some, _, _ = drive(
        LLMJudge(JudgeParams(votes=4)).label(view()),
        critiques("I cannot do that.", "<first_error>9</first_error>", "blah", "<first_error>2</first_error>"),
    )
    assert some.first_error == 2 and some.extra["support"] == 1
    assert (some.extra["parsed"], some.extra["refused"], some.extra["out_of_range"], some.extra["unparseable"]) == (
        1,
        1,
        1,
        1,
    )
    none, _, _ = drive(LLMJudge(JudgeParams(votes=2)).label(view()), critiques("I'm sorry, I can't.", "no idea"))
    assert none.first_error is None and none.values == [None] * 3 and none.hard == [None] * 3
    assert none.extra["verdict"] == "unparseable" and none.extra["rationales"] == ["I'm sorry, I can't.", "no idea"]


@pytest.mark.parametrize(
    "indices,expected",
    [
        ([2, 2, 0], (2, 2)),
        ([2, 0], (0, 1)),  # tie: the earliest error
        ([-1, 1], (1, 1)),  # tie with "no error": the error (-1 counts as after every step)
        ([-1, -1, 1], (-1, 2)),
        ([], (None, 0)),
    ],
)
def test_majority_ties_go_to_the_earliest_error(indices, expected):
    assert majority(indices) == expected


def test_path_values():
    assert path_values(0, 3) == ([0.0, None, None], [False, None, None])
    assert path_values(2, 3) == ([1.0, 1.0, 0.0], [True, True, False])
    assert path_values(None, 2) == ([None, None], [None, None])


def test_sampling_defaults_and_overrides():
    assert LLMJudge().sampling().temperature == 0.0 and LLMJudge().sampling().max_tokens == 4096
    assert LLMJudge(JudgeParams(votes=5)).sampling().temperature == 0.7
    custom = LLMJudge(JudgeParams(votes=5, temperature=1.0, top_p=0.9, max_tokens=100)).sampling()
    assert (custom.temperature, custom.top_p, custom.max_tokens, custom.stop) == (1.0, 0.9, 100, ())


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="votes >= 1"):
        load_labeler("judge", {"votes": 0})
    with pytest.raises(ValueError, match="qwen, processbench"):
        load_labeler("judge", {"prompt": "mine"})


# -- end to end: `prmlabel label --method judge` ------------------------------------------------------


def _rows(folder: Path) -> list[dict]:
    return [row for path in sorted(folder.glob("part-*.parquet")) for row in pq.read_table(path).to_pylist()]


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory) -> Path:
    from tests.conftest import run_prmlabel

    root = tmp_path_factory.mktemp("judge")
    run_prmlabel(
        ["synthetic", "problems", "--count", "25", "--steps", "3-7", "--seed", "1", "-o", str(root / "p.jsonl")]
    )
    run_prmlabel(
        ["generate", "-i", str(root / "p.jsonl"), "-o", str(root / "rollouts"), "--backend", "synthetic"]
        + ["--samples", "4", "--no-progress", "backend.options.slip_rate=0.25"]
    )
    return root / "rollouts"


def test_a_perfect_simulated_judge_reproduces_the_truth_and_a_useless_one_never(prmlabel, rollouts, tmp_path):
    runs = {}
    for prompt, accuracy in (("qwen", 1.0), ("processbench", 1.0), ("qwen", 0.0)):
        out = tmp_path / f"judge-{prompt}-{accuracy}"
        prmlabel(
            ["label", "-i", str(rollouts), "-o", str(out), "--method", "judge", "--backend", "synthetic"]
            + ["--no-progress", f"params.prompt={prompt}", f"backend.options.judge_accuracy={accuracy}"]
        )
        runs[prompt, accuracy] = _rows(out)
    useless = runs["qwen", 0.0]
    for perfect in (runs["qwen", 1.0], runs["processbench", 1.0]):
        assert len(perfect) == len(useless) == 100  # 25 problems x 4 responses: every row accounted for
        assert {r["gold_first_error"] for r in perfect} >= {-1, 0}  # both kinds of truth are present
        assert all(r["first_error"] == r["gold_first_error"] for r in perfect)
        assert all(json.loads(r["label_extra"])["parsed"] == 1 for r in perfect)
    assert not any(r["first_error"] == r["gold_first_error"] for r in useless)
    assert all(json.loads(r["label_extra"])["parsed"] == 1 for r in useless)
    row = runs["qwen", 1.0][0]
    assert row["method"] == "judge" and row["label_provenance"]["sampling"]["temperature"] == 0.0


def test_votes_take_the_majority_and_the_cost_counts_every_critique(prmlabel, rollouts, tmp_path):
    out = tmp_path / "judge3"
    proc = prmlabel(
        ["label", "-i", str(rollouts), "-o", str(out), "--method", "judge", "--votes", "3"]
        + ["--backend", "synthetic", "--no-progress", "backend.options.judge_accuracy=0.6"]
    )
    assert "responses labeled      100" in proc.stdout
    rows = _rows(out)
    assert len(rows) == 100
    for row in rows:
        extra = json.loads(row["label_extra"])
        assert len(extra["votes"]) == len(extra["rationales"]) == 3 and row["label_cost"]["rollouts"] == 3
        assert row["first_error"] == majority([v["index"] for v in extra["votes"] if v["index"] is not None])[0]
        assert row["values"] == path_values(row["first_error"], len(row["steps"]))[0]
    provenance = rows[0]["label_provenance"]
    assert json.loads(provenance["params"])["votes"] == 3 and provenance["sampling"]["temperature"] == 0.7
    assert any(json.loads(r["label_extra"])["support"] < 3 for r in rows)  # the votes really differ


def test_a_judge_that_cannot_answer_leaves_the_first_error_null(prmlabel, tmp_path):
    # Problems the simulator cannot read (not synthetic): every critique comes back as an error.
    items = [
        {"id": f"pb-{i}", "generator": "x", "problem": f"How many apples are there in basket {i}?"}
        | {"steps": ["There are 3.", "So \\boxed{3}."], "final_answer_correct": True, "label": -1}
        for i in range(3)
    ]
    source = tmp_path / "pb.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in items))
    prmlabel(["import", "-i", str(source), "--preset", "processbench", "-o", str(tmp_path / "r"), "--no-progress"])
    prmlabel(
        ["label", "-i", str(tmp_path / "r"), "-o", str(tmp_path / "j"), "--method", "judge"]
        + ["--backend", "synthetic", "--no-progress"]
    )
    rows = _rows(tmp_path / "j")
    assert len(rows) == 3
    for row in rows:
        assert row["first_error"] is None and row["values"] == [None, None] and row["hard"] == [None, None]
        assert json.loads(row["label_extra"])["verdict"] == "unparseable"


def test_the_policys_sampling_keys_are_refused_for_the_judge(prmlabel, rollouts, tmp_path):
    proc = prmlabel(
        ["label", "-i", str(rollouts), "-o", str(tmp_path / "j"), "--method", "judge", "--backend", "synthetic"]
        + ["sampling.temperature=1.0"],
        check=False,
    )
    assert proc.returncode == 2 and "params.temperature" in proc.stderr and "sampling.temperature" in proc.stderr


def test_on_the_real_llama_cpp_engine_every_row_is_accounted_for(prmlabel, tmp_path):
    """SmolLM2-135M is far too small to judge; what matters is that each critique is kept and read as a
    verdict or recorded as unparseable, never lost and never taken for "no error"."""
    from tests.backends.conftest import require_llama_cpp, skip_or_fail

    require_llama_cpp()  # skips without llama-cpp-python; CI (PRMLABEL_REQUIRE_BACKENDS) makes it fail
    from prmlabel.backends.errors import BackendConfigError
    from prmlabel.backends.llamacpp import default_gguf_path

    try:
        default_gguf_path()
    except BackendConfigError as exc:
        skip_or_fail("llamacpp", str(exc))
    prmlabel(["synthetic", "problems", "--count", "2", "--steps", "2", "--seed", "0", "-o", str(tmp_path / "p.jsonl")])
    prmlabel(
        ["generate", "-i", str(tmp_path / "p.jsonl"), "-o", str(tmp_path / "r"), "--backend", "synthetic"]
        + ["--samples", "1", "--no-progress"]
    )
    prmlabel(
        ["label", "-i", str(tmp_path / "r"), "-o", str(tmp_path / "j"), "--method", "judge", "--backend", "llamacpp"]
        + ["--no-progress", "params.prompt=processbench", "params.max_tokens=24", "backend.options.n_threads=1"]
    )
    rows = _rows(tmp_path / "j")
    assert len(rows) == 2 and all(r["label_provenance"]["backend"] == "llamacpp" for r in rows)
    for row in rows:
        extra = json.loads(row["label_extra"])
        (vote,) = extra["votes"]
        (critique,) = extra["rationales"]
        assert critique.strip() and row["label_cost"]["generated_tokens"] > 0  # the model's text is kept
        if vote["status"] == "parsed":
            assert row["first_error"] == vote["index"] and -1 <= vote["index"] < len(row["steps"])
        else:
            assert vote["status"] in ("unparseable", "refused", "out_of_range") and vote["reason"]
            assert row["first_error"] is None and extra["verdict"] == "unparseable"
