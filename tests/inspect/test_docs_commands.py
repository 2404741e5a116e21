"""The commands in docs/export/*.md and docs/inspect.md run as written against a small run."""

from __future__ import annotations

import os
import shlex

import pytest
from typer.testing import CliRunner

from prmlabel.cli import app
from tests.conftest import REPO


def doc_commands() -> list[tuple[str, str]]:
    pages = sorted((REPO / "docs" / "export").glob("*.md")) + [REPO / "docs" / "inspect.md"]
    out = []
    for page in pages:
        # A command continued over lines with a trailing backslash is one command, as the shell reads it.
        lines = page.read_text().replace("\\\n", " ").splitlines()
        for line in lines:
            # --push-to-hub and a Hub tokenizer name need the Hub: tests/export/test_hf.py checks the push
            # with a stand-in, tests/export/test_placeholder.py the tokenizer check with a local tokenizer.json.
            # --nodes reads a search tree: tests/export/test_nodes.py runs those commands on a hand-built one.
            skip = ("../shared", "runs/pb", "--push-to-hub", "--tokenizer", "--nodes")
            if line.startswith("prmlabel ") and not any(s in line for s in skip):
                out.append((page.name, line.split("  #")[0].split(" > ")[0].strip()))  # no shell here
    return out


COMMANDS = doc_commands()


@pytest.mark.parametrize(("page", "command"), COMMANDS, ids=[f"{p}:{i}" for i, (p, _) in enumerate(COMMANDS)])
def test_doc_command_runs(run_folder, page, command, tmp_path):
    cwd = os.getcwd()
    os.chdir(run_folder.parent.parent)  # the folder that holds runs/r1
    try:
        result = CliRunner().invoke(app, shlex.split(command)[1:], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, f"{page}: {command}\n{result.output}"
