"""The docs' copy-paste examples run as written: quickstart commands, then the DuckDB cookbook."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, TEST_DATA

BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def blocks(doc: str, kind: str) -> list[str]:
    return [body for lang, body in BLOCK.findall((REPO / "docs" / doc).read_text()) if lang == kind]


def commands(doc: str) -> list[tuple[str, str | None]]:
    """(command, expected error text or None) for each command line of the doc's console blocks."""
    out: list[tuple[str, str | None]] = []
    for body in blocks(doc, "console"):
        for line in body.splitlines():
            if line.startswith("# error:") and out:
                out[-1] = (out[-1][0], line.removeprefix("# error:").split("(")[0].strip())
            elif line.strip() and not line.startswith("#"):
                out.append((line, None))
    return out


def run_doc_command(line: str, cwd: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(line.split("  #")[0])
    if argv[0] == "prmlabel":
        argv = [sys.executable, "-m", "prmlabel", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def quickstart_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    work = root / "work"
    work.mkdir()
    (root / "shared").mkdir()
    (root / "shared" / "data").symlink_to(TEST_DATA)  # the docs' ../shared/data/... read the test slices
    for line, error in commands("quickstart.md"):
        proc = run_doc_command(line, work)
        if error is None:
            assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        else:
            assert proc.returncode != 0 and error.split(":")[0] in proc.stderr, f"{line}\n{proc.stderr}"
    return work


def test_quickstart_runs_as_written(quickstart_dir):
    assert (quickstart_dir / "runs" / "r1" / "rollouts" / "part-00003.parquet").exists()
    assert (quickstart_dir / "runs" / "r3" / "rollouts" / "part-00001.parquet").exists()


# The node-table queries read a search tree's folder: tests/export/test_nodes.py runs them on a hand-built one.
@pytest.mark.parametrize("query", [q for q in blocks("output.md", "sql") if "/nodes/" not in q])
def test_output_doc_queries_run(quickstart_dir, query):
    cwd = os.getcwd()
    os.chdir(quickstart_dir)
    try:
        rows = duckdb.sql(query).fetchall()
    finally:
        os.chdir(cwd)
    if "rejects" not in query:
        assert rows, query


def test_readme_quickstart_commands_match_the_issue():
    readme = (REPO / "README.md").read_text()
    assert "prmlabel synthetic problems --count 200 --steps 4-12 --seed 0 -o problems.jsonl" in readme
    assert "make demo" in readme and "make test" in readme


# Pages whose console blocks run top to bottom in a fresh folder, each command as written.
RUNNABLE_PAGES = ["filters.md", "labelers/judge.md"]


@pytest.mark.parametrize("doc", RUNNABLE_PAGES)
def test_page_commands_run_as_written(doc, tmp_path):
    for line, error in commands(doc):
        proc = run_doc_command(line, tmp_path)
        if error is None:
            assert proc.returncode == 0, f"{doc}: {line}\n{proc.stdout}\n{proc.stderr}"
        else:
            assert proc.returncode != 0 and error.split(":")[0] in proc.stderr, f"{doc}: {line}\n{proc.stderr}"


# docs/extending.md: the worked example is the example plug-in's own files, and its blocks run.
EXAMPLE_PLUGIN = TEST_DATA / "plugin_example"


def test_extending_example_is_the_plugin_as_written():
    """The page prints the plug-in's rule, pyproject and recipe; tests/plugins installs and runs those files."""
    assert blocks("extending.md", "python")[0] == (EXAMPLE_PLUGIN / "plugin_example" / "rule.py").read_text()
    assert blocks("extending.md", "toml") == [(EXAMPLE_PLUGIN / "pyproject.toml").read_text()]
    recipe = EXAMPLE_PLUGIN / "plugin_example" / "recipes" / "first_low_mc.yaml"
    assert blocks("extending.md", "yaml") == [recipe.read_text()]
    rule = blocks("extending.md", "python")[0]
    assert len(rule.splitlines()) < 60


def test_extending_synthetic_check_runs_as_written():
    """The page's test of the rule against the synthetic truth, run from the repository root."""
    (block,) = blocks("extending.md", "python")[1:]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(EXAMPLE_PLUGIN)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    proc = subprocess.run([sys.executable, "-c", block], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "first error right on" in proc.stdout


def test_extending_commands_run_with_the_plugin_installed(tmp_path):
    from tests.plugins.example import env_with, install_example

    env = env_with(install_example(tmp_path / "plugin"))
    work = tmp_path / "work"
    work.mkdir()
    outputs = []
    for line, _ in commands("extending.md"):
        argv = shlex.split(line)
        assert argv[0] == "prmlabel", line
        proc = subprocess.run([sys.executable, "-m", "prmlabel", *argv[1:]], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        outputs.append(proc.stdout)
    resumed = next(out for line, out in zip(commands("extending.md"), outputs, strict=True) if "--resume" in line[0])
    assert resumed.count("(0 of 2 shards to run)") == 2, resumed
    assert len(list((work / "runs" / "flm" / "direct").glob("part-*.parquet"))) == 2
