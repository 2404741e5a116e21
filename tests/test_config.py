from __future__ import annotations

import pytest

from prmlabel.config import ConfigError, compose_config, config_diff, fingerprint, to_container


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
