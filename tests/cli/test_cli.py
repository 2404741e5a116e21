"""The command line as a user meets it: help that teaches, clear errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from prmlabel import __version__
from prmlabel.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", [["generate"], ["import"], ["synthetic", "problems"]])
def test_every_command_help_has_examples(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and f"prmlabel {' '.join(command)}" in result.output


def test_root_help_and_version():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "generate" in result.output and "synthetic problems" in result.output
    assert runner.invoke(app, ["--version"]).output.strip() == f"prmlabel {__version__}"


def test_show_config_prints_overridable_keys():
    result = runner.invoke(app, ["generate", "--show-config", "--samples", "3", "sampling.temperature=0.2"])
    assert result.exit_code == 0
    assert "samples: 3" in result.output and "temperature: 0.2" in result.output


def test_bad_override_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["generate", "-i", "x.jsonl", "-o", str(tmp_path), "no_such=1"])
    assert result.exit_code == 2 and "no_such" in result.output


def test_missing_input_file_names_it(tmp_path):
    result = runner.invoke(
        app, ["generate", "-i", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o"), "--no-progress"]
    )
    assert result.exit_code == 2 and "nope.jsonl" in result.output


def test_unknown_backend_lists_the_choices(tmp_path):
    problems = tmp_path / "p.jsonl"
    runner.invoke(app, ["synthetic", "problems", "--count", "2", "-o", str(problems)])
    result = runner.invoke(
        app, ["generate", "-i", str(problems), "-o", str(tmp_path / "o"), "--backend", "nope", "--no-progress"]
    )
    assert result.exit_code == 2 and "unknown backend 'nope'" in result.output and "synthetic" in result.output


@pytest.mark.parametrize("steps", ["0-3", "5-2", "x"])
def test_synthetic_problems_validates_steps(tmp_path, steps):
    result = runner.invoke(app, ["synthetic", "problems", "--steps", steps, "-o", str(tmp_path / "p.jsonl")])
    assert result.exit_code == 2 and "--steps" in result.output


def test_root_help_quick_start_runs_as_written(tmp_path):
    """The quick start in `prmlabel --help` is printed unwrapped and every line runs as pasted."""
    import shlex

    from tests.conftest import run_prmlabel

    help_text = run_prmlabel(["--help"]).stdout
    commands = [line.strip() for line in help_text.splitlines() if line.strip().startswith("prmlabel ")]
    assert [c.split()[1] for c in commands] == ["synthetic", "generate", "label", "export", "stats"]
    for command in commands:
        run_prmlabel(shlex.split(command)[1:], cwd=tmp_path)
    assert (tmp_path / "runs" / "r1" / "prm_train.parquet").is_file()


@pytest.mark.parametrize("command", ["generate", "label"])
def test_sampling_and_server_flags_set_their_keys_and_overrides_win(command):
    import yaml

    flags = ["--temperature", "0.3", "--top-p", "0.9", "--max-tokens", "77"]
    flags += ["--backend", "openai", "--base-url", "http://localhost:8000/v1", "--api-key-env", "MY_KEY"]
    result = runner.invoke(app, [command, "--show-config", *flags])
    assert result.exit_code == 0, result.output
    cfg = yaml.safe_load(result.output)
    assert cfg["sampling"]["temperature"] == 0.3 and cfg["sampling"]["top_p"] == 0.9
    assert cfg["sampling"]["max_tokens"] == 77
    assert cfg["backend"]["options"] == {"base_url": "http://localhost:8000/v1", "api_key_env": "MY_KEY"}
    # A trailing Hydra override of the same key is explicit: it wins over the flag.
    both = runner.invoke(app, [command, "--show-config", "--temperature", "0.3", "sampling.temperature=1.0"])
    assert yaml.safe_load(both.output)["sampling"]["temperature"] == 1.0


@pytest.mark.parametrize("command", ["generate", "label"])
def test_new_flags_are_in_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    for flag in ("--temperature", "--top-p", "--max-tokens", "--base-url", "--api-key-env"):
        assert flag in result.output
    assert "--base-url http://localhost:8000/v1" in result.output


def test_shell_completion_is_offered():
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.output and "--show-completion" in result.output
