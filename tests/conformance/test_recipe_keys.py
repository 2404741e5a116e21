"""No recipe carries a key that no code reads.

A recipe's parameter that nothing reads is a silent lie: the YAML says "alpha 0.5" and the labels are
made without it (omegaprm once listed its search's alpha, beta, L, c_puct and search_limit while
running the binary search, which reads none of them). Two checks per recipe in ``recipes/``:

- its top-level keys are the recipe's own fields or are used by an interpolation (``${tolerance}``);
- every labeler or filter parameter the recipe sets is read while the recipe runs end to end on the
  simulator (in-process, so reads of the params object are seen; reads by ``__post_init__``
  validation, ``asdict`` for provenance, ``repr`` and ``replace`` do not count as use).
"""

from __future__ import annotations

import re
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import prmlabel.filters
import prmlabel.labelers
from prmlabel.cli import app
from prmlabel.launch.recipe import available_recipes, recipes_dir
from tests.conftest import run_prmlabel

# Fields the launcher itself reads (prmlabel/launch/recipe.py, plan.py).
RECIPE_FIELDS = {"name", "paper", "cost", "pipeline", "stages"}
# What the simulator needs (as in tests/launch/test_recipe.py); none of them sets a labeler parameter.
SIMULATOR = {
    "omegaprm": ["steps_split=double_newline"],
    "qwen_consensus": ["+judge_backend.options.judge_accuracy=0.9"],
}
_NOT_USE = {"__post_init__", "_asdict_inner", "asdict", "__repr__", "__eq__", "__hash__", "replace", "_fields_of"}
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _tracking(params_cls: type, reads: set[str]) -> type:
    names = {f.name for f in fields(params_cls)}

    def __getattribute__(self: Any, name: str) -> Any:  # noqa: N807
        if name in names and sys._getframe(1).f_code.co_name not in _NOT_USE:
            reads.add(name)
        return object.__getattribute__(self, name)

    return type(params_cls.__name__, (params_cls,), {"__getattribute__": __getattribute__})


@pytest.fixture(scope="module")
def problems(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("problems") / "problems.jsonl"
    run_prmlabel(["synthetic", "problems", "--count", "6", "--steps", "3-5", "--seed", "0", "-o", str(path)])
    return path


@pytest.mark.parametrize("recipe", available_recipes())
def test_every_top_level_key_is_read(recipe: str) -> None:
    text = (recipes_dir() / f"{recipe}.yaml").read_text(encoding="utf-8")
    interpolated = set(_INTERPOLATION.findall(text))
    unread = sorted(set(yaml.safe_load(text)) - RECIPE_FIELDS - interpolated)
    assert not unread, f"recipes/{recipe}.yaml: top-level key(s) {unread} are used by no stage (no ${{...}} names them)"


@pytest.mark.parametrize("recipe", available_recipes())
def test_every_parameter_a_recipe_sets_is_read(recipe: str, problems: Path, tmp_path: Path, monkeypatch) -> None:
    built: list[tuple[str, set[str], set[str]]] = []  # (what, keys the recipe set, keys read)
    real = prmlabel.labelers.build_params

    def build_params(params_cls: type, options: dict[str, Any], method: str) -> Any:
        real(params_cls, options, method)  # the same validation (unknown keys named)
        reads: set[str] = set()
        built.append((method, set(options), reads))
        return _tracking(params_cls, reads)(**options)

    monkeypatch.setattr(prmlabel.labelers, "build_params", build_params)
    monkeypatch.setattr(prmlabel.filters, "build_params", build_params)
    args = ["run", recipe, "-i", str(problems), "-o", str(tmp_path / "run"), "backend=synthetic"]
    args += ["pipeline.num_shards=1", *SIMULATOR.get(recipe, []), "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert built, f"{recipe}: no labeler or filter was built"
    # A stage may build the same labeler or filter more than once (to record its parameters, then to
    # run it): a key counts as read if any of them read it.
    set_keys: dict[str, set[str]] = {}
    read_keys: dict[str, set[str]] = {}
    for what, keys, reads in built:
        set_keys.setdefault(what, set()).update(keys)
        read_keys.setdefault(what, set()).update(reads)
    unread = {what: sorted(keys - read_keys[what]) for what, keys in set_keys.items() if keys - read_keys[what]}
    assert not unread, f"recipes/{recipe}.yaml sets parameter(s) that no code read while it ran: {unread}"
