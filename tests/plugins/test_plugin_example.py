"""The example plug-in (tests/data/plugin_example) installed with pip, run from outside the package.

pip builds it offline (``--no-index --no-build-isolation``, the venv's setuptools) into a temporary
``--target`` folder put on PYTHONPATH, so the shared venv never holds it. Its labeler and recipe are
found through their entry points; ``prmlabel run`` shards and resumes as for a built-in method.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import REPO
from tests.plugins.example import env_with, install_example


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return install_example(tmp_path_factory.mktemp("plugin"))


def prmlabel(site: Path, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "prmlabel", *args], cwd=cwd, env=env_with(site), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    if check:
        assert proc.returncode == 0, f"prmlabel {' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def run(site, tmp_path_factory) -> Path:
    """`prmlabel run first_low_mc` (the plug-in's recipe) with 2 shards and 2 worker processes."""
    work = tmp_path_factory.mktemp("work")
    prmlabel(site, work, "synthetic", "problems", "--count", "16", "--steps", "3-6", "--seed", "0", "-o", "p.jsonl")
    prmlabel(site, work, "run", "first_low_mc", "-i", "p.jsonl", "-o", "runs/a", "pipeline.num_shards=2",
             "pipeline.workers=2", "--no-progress")  # fmt: skip
    return work / "runs" / "a"


def labels(folder: Path) -> dict[str, dict]:
    rows = [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return {r["response_id"]: r for r in rows}


def test_the_recipe_and_labeler_are_found_by_entry_point(site, tmp_path):
    listed = prmlabel(site, tmp_path, "recipes").stdout
    assert "first_low_mc\n  paper:  example rule" in listed
    without = subprocess.run(  # the shared venv does not hold the plug-in
        [sys.executable, "-m", "prmlabel", "recipes"], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
    )  # fmt: skip
    assert without.returncode == 0 and "first_low_mc" not in without.stdout


def test_run_shards_and_records_the_plugin(run):
    plan = yaml.safe_load((run / "run.yaml").read_text())
    recorded = {(p["kind"], p["name"]): p for p in plan["plugins"]}
    labeler = recorded[("labeler", "first_low_mc")]
    assert labeler["target"] == "plugin_example.rule:FirstLowMC" and labeler["stages"] == ["first_low_mc"]
    assert (labeler["distribution"], labeler["version"]) == ("prmlabel-plugin-example", "0.1.0")
    assert recorded[("recipe", "first_low_mc")]["distribution"] == "prmlabel-plugin-example"
    code = yaml.safe_load((run / "_launch" / "code.json").read_text())
    assert "plugins/prmlabel-plugin-example/plugin_example/rule.py" in code
    for stage in ("generate", "first_low_mc"):
        parts = sorted(p.name for p in (run / stage).glob("part-*.parquet"))
        assert parts == ["part-00000.parquet", "part-00001.parquet"]
    rows = labels(run / "first_low_mc")
    assert len(rows) == 16 * 4 and {r["method"] for r in rows.values()} == {"first_low_mc"}
    for row in rows.values():  # the rule: right up to the first MC < 0.5, unknown after it
        hard, first = row["hard"], row["first_error"]
        assert row["value_kind"] == "probability"
        if first is not None and first >= 0:
            assert hard[first] is False and row["values"][first] < 0.5
            assert all(h is None for h in hard[first + 1 :]) and False not in hard[:first]
    firsts = [r["first_error"] for r in rows.values()]
    assert -1 in firsts and any(f is not None and f > 0 for f in firsts)


def test_resume_redoes_nothing(site, run):
    parts = sorted(run.glob("*/part-*.parquet"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in parts}
    out = prmlabel(site, run.parent.parent, "run", "--resume", "-o", "runs/a", "--no-progress").stdout
    assert "(0 of 2 shards to run)" in out and "(2 of 2" not in out, out
    assert sorted(run.glob("*/part-*.parquet")) == parts
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in parts} == before


def test_method_names_the_class_directly(site, run, tmp_path):
    prmlabel(site, tmp_path, "label", "-i", str(run / "generate"), "-o", "direct", "--backend", "synthetic",
             "--method", "plugin_example.rule:FirstLowMC", "params.k=4", "--no-progress")  # fmt: skip
    direct, by_recipe = labels(tmp_path / "direct"), labels(run / "first_low_mc")
    assert direct.keys() == by_recipe.keys()
    for key, row in direct.items():  # the same rule, seed and backend: the same labels
        assert (row["values"], row["hard"], row["first_error"]) == (
            by_recipe[key]["values"], by_recipe[key]["hard"], by_recipe[key]["first_error"]
        )  # fmt: skip
    missing = prmlabel(site, tmp_path, "label", "-i", str(run / "generate"), "-o", "x", "--backend", "synthetic",
                       "--method", "plugin_example.rule:NoSuchRule", check=False)  # fmt: skip
    assert missing.returncode != 0 and "has no 'NoSuchRule'" in missing.stderr
    assert "prmlabel-plugin-example 0.1.0" in missing.stderr


def test_an_edited_plugin_stops_the_resume_until_accepted(site, tmp_path):
    """The plug-in's files are in the run's code hash: a rule edited after launch is named, not used silently."""
    mine = tmp_path / "site"
    shutil.copytree(site, mine)
    prmlabel(mine, tmp_path, "synthetic", "problems", "--count", "4", "--steps", "3-4", "--seed", "1", "-o", "p.jsonl")
    prmlabel(mine, tmp_path, "run", "first_low_mc", "-i", "p.jsonl", "-o", "runs/b", "--no-progress")
    rule = mine / "plugin_example" / "rule.py"
    rule.write_text(rule.read_text().replace("threshold: float = 0.5", "threshold: float = 0.75"))
    (meta,) = mine.glob("prmlabel_plugin_example-*.dist-info/METADATA")
    meta.write_text(meta.read_text().replace("Version: 0.1.0", "Version: 0.2.0"))
    refused = prmlabel(mine, tmp_path, "run", "--resume", "-o", "runs/b", check=False)
    assert refused.returncode != 0 and "plugins/prmlabel-plugin-example/plugin_example/rule.py" in refused.stderr
    prmlabel(mine, tmp_path, "run", "--resume", "-o", "runs/b", "--accept-code-change", "--no-progress")
    plan = yaml.safe_load((tmp_path / "runs" / "b" / "run.yaml").read_text())
    assert {p["version"] for p in plan["plugins"]} == {"0.2.0"}
