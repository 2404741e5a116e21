"""Install the example plug-in (tests/data/plugin_example) with pip into a folder of its own.

pip builds it offline (``--no-index --no-build-isolation``: the venv's setuptools, no download) into
``--target``; put that folder on PYTHONPATH to use it. The shared venv never holds the plug-in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, TEST_DATA

EXAMPLE = TEST_DATA / "plugin_example"


def install_example(root: Path) -> Path:
    """Build and install the example into ``root/site``; returns that folder."""
    source = root / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__"))  # the build writes beside it
    target = root / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "plugin_example" / "rule.py").is_file()
    return target


def env_with(site: Path) -> dict[str, str]:
    """The environment of a prmlabel subprocess that sees the installed example."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "COLUMNS": "200"}
