from __future__ import annotations

import pytest

from prmlabel.contract.config import ConfigError, compose_config, config_diff, fingerprint, to_container
from prmlabel.inputs.identity import content_digest


def test_overrides_and_options_compose():
    cfg = to_container(compose_config("generate", ["sampling.temperature=1.0"], {"samples": 8, "seed": None}))
    assert cfg["sampling"]["temperature"] == 1.0
    assert cfg["samples"] == 8
    assert cfg["seed"] == 0  # None options leave the default alone


def test_bad_override_names_the_problem():
    with pytest.raises(ConfigError, match="no_such_key"):
        compose_config("generate", ["no_such_key=1"])


def test_fingerprint_ignores_runtime_settings_only():
    base = to_container(compose_config("generate", []))
    runtime = to_container(compose_config("generate", ["runtime.batch_size=7", "output=elsewhere"]))
    seeded = to_container(compose_config("generate", ["seed=1"]))
    assert fingerprint(base) == fingerprint(runtime)
    assert fingerprint(base) != fingerprint(seeded)
    assert config_diff(base, seeded) == ["seed: 0 -> 1"]


def test_an_identified_input_counts_by_content_not_by_path(tmp_path):
    base = to_container(compose_config("label", ["input=runs/r1/rollouts", "+input_fingerprint=abc"]))
    moved = {**base, "input": "/abs/runs/r1/rollouts"}
    changed = {**base, "input_fingerprint": "def"}
    assert fingerprint(base) == fingerprint(moved)
    assert fingerprint(base) != fingerprint(changed)
    # the refusal names the input path as well as its changed identity
    assert config_diff(base, {**changed, "input": "other"}) == [
        "input: 'runs/r1/rollouts' -> 'other'",
        "input_fingerprint: 'abc' -> 'def'",
    ]
    # without an identity, the path is all there is
    bare = {k: v for k, v in base.items() if k != "input_fingerprint"}
    assert fingerprint(bare) != fingerprint({**bare, "input": "other"})


def test_content_digest_of_files_and_folders(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"q": 1}\n')
    b.write_text('{"q": 1}\n')
    assert content_digest(a) == content_digest(b)
    b.write_text('{"q": 2}\n')
    assert content_digest(a) != content_digest(b)
    folder = tmp_path / "ds"
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "data-00000-of-00001.arrow").write_bytes(b"x")
    before = content_digest(folder)
    (folder / "train" / "data-00000-of-00001.arrow").rename(folder / "train" / "data-renamed.arrow")
    assert content_digest(folder) != before  # names count inside a folder
    assert content_digest(tmp_path / "missing") is None
