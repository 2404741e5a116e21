"""The synthetic (SIMULATED) backend behind the backend protocol."""

from __future__ import annotations

import subprocess
import sys

from prmlabel import __version__
from prmlabel.backends import load_backend
from prmlabel.backends.base import Backend, GenerationRequest, Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.synthetic.policy import gold_first_error, split_solution
from prmlabel.synthetic.problems import make_problems, parse_question

ROWS = make_problems(20, (3, 6), seed=0)
TEMPLATE = "Solve the problem.\n\n{q}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."


def _request(i: int = 0, prefix: str = "", k: int = 4, seed: int = 100, **sampling: object) -> GenerationRequest:
    return GenerationRequest(
        question=TEMPLATE.format(q=ROWS[i]["question"]),
        prefix=prefix,
        k=k,
        sampling=Sampling(**sampling),
        seed=seed,
    )


def _texts(backend: SyntheticBackend, requests: list[GenerationRequest]) -> list[list[str]]:
    return [[c.text for c in r.completions] for r in backend.generate(requests)]


def test_implements_protocol_and_registry() -> None:
    backend = load_backend("synthetic", slip_rate=0.2, base_url="http://ignored", model="x")
    assert isinstance(backend, Backend) and backend.name == "synthetic"
    assert backend.ignored_options == {"base_url": "http://ignored"}
    assert backend.provenance() == {
        "backend": "synthetic",
        # the simulated judge's accuracy is part of the model: critiques at another accuracy never share a cache
        "model": "synthetic-policy(slip=0.2,recovery=0.2,abandon=0)+synthetic-judge(accuracy=0.8,seed=0)",
        "model_hash": "",
        "backend_version": __version__,
    }
    backend.close()


def test_k_completions_well_formed_with_costs() -> None:
    backend = SyntheticBackend(slip_rate=0.3)
    requests = [_request(i, k=5) for i in range(5)]
    results = backend.generate(requests)
    assert len(results) == 5
    for req, res in zip(requests, results, strict=True):
        assert len(res.completions) == 5
        problem = parse_question(req.question)
        for c in res.completions:
            assert c.finish_reason == "stop" and c.text.startswith("Step 1:")
            assert c.prompt_tokens == len(req.question.split())
            assert c.completion_tokens == len(c.text.split())
            assert -1 <= gold_first_error(problem, split_solution(c.text)) < len(problem.ops)
        assert res.prompt_tokens == 5 * len(req.question.split())


def test_deterministic_across_instances_and_seeds_differ() -> None:
    requests = [_request(i, seed=7 * i) for i in range(10)]
    a = _texts(SyntheticBackend(slip_rate=0.4), requests)
    b = _texts(SyntheticBackend(slip_rate=0.4), requests)
    assert a == b
    other = _texts(SyntheticBackend(slip_rate=0.4), [_request(i, seed=7 * i + 1000) for i in range(10)])
    assert other != a
    # Within a request, sub-requests use different seeds.
    assert any(len(set(texts)) > 1 for texts in a)


def test_sub_request_i_uses_seed_plus_i() -> None:
    backend = SyntheticBackend(slip_rate=0.4)
    together = _texts(backend, [_request(seed=50, k=3)])[0]
    alone = [_texts(backend, [_request(seed=50 + i, k=1)])[0][0] for i in range(3)]
    assert together == alone


def test_deterministic_across_processes() -> None:
    code = (
        "from prmlabel.backends.synthetic import SyntheticBackend\n"
        "from tests.backends.test_synthetic import _request, _texts\n"
        "print(repr(_texts(SyntheticBackend(slip_rate=0.4), [_request(i) for i in range(5)])))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == repr(_texts(SyntheticBackend(slip_rate=0.4), [_request(i) for i in range(5)]))


def test_continues_prefix() -> None:
    backend = SyntheticBackend(slip_rate=0.0)
    full = _texts(backend, [_request(k=1)])[0][0]
    steps = split_solution(full)
    prefix = "".join(steps[:2])
    result = backend.generate([_request(prefix=prefix, k=2)])[0]
    for c in result.completions:
        assert prefix + c.text == full
        question = TEMPLATE.format(q=ROWS[0]["question"])
        assert c.prompt_tokens == len(question.split()) + len(prefix.split())


def test_max_tokens_truncation() -> None:
    result = SyntheticBackend().generate([_request(k=3, max_tokens=7)])[0]
    for c in result.completions:
        assert c.finish_reason == "length" and c.completion_tokens == 7
        assert len(c.text.split()) == 7 and "\\boxed" not in c.text
    roomy = SyntheticBackend().generate([_request(k=3, max_tokens=10_000)])[0]
    assert all(c.finish_reason == "stop" for c in roomy.completions)


def test_stop_string_cuts_one_step() -> None:
    result = SyntheticBackend(slip_rate=0.0).generate([_request(k=1, stop=("\n\n",))])[0]
    text = result.completions[0].text
    assert text.startswith("Step 1:") and "\n" not in text and result.completions[0].finish_reason == "stop"


def test_unparseable_question_gives_error_completions() -> None:
    request = GenerationRequest(question="What is the capital of France?", prefix="", k=3, sampling=Sampling(), seed=0)
    result = SyntheticBackend().generate([request])[0]
    assert [c.finish_reason for c in result.completions] == ["error"] * 3
    assert all(c.text == "" and c.completion_tokens == 0 for c in result.completions)


def test_one_step_reports_the_stop_string_and_eos_ends_the_last_step() -> None:
    backend = SyntheticBackend(slip_rate=0.0)
    [whole] = backend.generate([_request(k=1)])[0].completions
    steps = whole.text.split("\n\n")
    assert len(steps) >= 3 and whole.stop_reason == "eos", "no stop strings: the text ended by itself"
    before_last = "\n\n".join(steps[:-1]) + "\n\n"
    # One batch, mixed stop lists: one-step requests (first and last step) beside a plain rollout.
    first, rollout, last = backend.generate(
        [_request(k=1, stop=("\n\n",)), _request(k=1), _request(prefix=before_last, k=1, stop=("\n\n",))]
    )
    assert first.completions[0].text == steps[0] and first.completions[0].stop_reason == "\n\n"
    assert rollout.completions[0].text == whole.text and rollout.completions[0].stop_reason == "eos"
    # The last step has no delimiter after it: the simulated model ends it, which it reports as "eos".
    assert last.completions[0].text == steps[-1] and last.completions[0].stop_reason == "eos"
    assert last.completions[0].finish_reason == "stop"


def test_stop_reason_is_the_earliest_stop_string_and_none_when_truncated() -> None:
    backend = SyntheticBackend(slip_rate=0.0)
    [c] = backend.generate([_request(k=1, stop=("\n\n", ":", " 1"))])[0].completions
    assert c.text == "Step" and c.stop_reason == " 1" and c.finish_reason == "stop"
    [c] = backend.generate([_request(k=1, stop=("\n\n",), max_tokens=2)])[0].completions
    assert c.finish_reason == "length" and c.stop_reason is None and c.completion_tokens == 2
