"""The package's layers: imports only point down, and the package root holds only packages.

FLOORS lists prmlabel's packages from the top (the command line) to the ground (plumbing). A module
may import its own package and any package on a lower floor, never one on its own floor or above:
that is what keeps a labeler ignorant of stages and a backend ignorant of labelers. Lazy imports
inside functions count too (they are parsed, not run). docs/architecture.md draws the same floors.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "prmlabel"
FLOORS: list[set[str]] = [
    {"cli"},
    {"launch"},
    {"stages"},
    {"inspect", "evaluate"},
    {"filters", "export"},
    {"labelers"},
    {"engine"},
    {"backends"},
    {"synthetic"},
    {"inputs"},
    {"verifiers"},
    {"text"},
    {"contract"},
    {"runtime"},
]
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported prmlabel package) for every absolute import of a prmlabel module in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "prmlabel" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def test_every_package_has_a_floor():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(FLOOR), f"give these a floor in FLOORS (and docs/architecture.md): {packages ^ set(FLOOR)}"


def test_the_package_root_holds_only_packages():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert not loose, f"modules at the package root: {loose}; put each in the package of its role"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path):
    own = path.relative_to(PACKAGE).parts[0]
    upward = [
        f"line {line}: prmlabel.{target} (floor {FLOOR.get(target)}) from {own} (floor {FLOOR[own]})"
        for line, target in _imports(path)
        if target != own and (target not in FLOOR or FLOOR[target] <= FLOOR[own])
    ]
    assert not upward, f"{path.relative_to(PACKAGE.parent)} imports up or sideways: " + "; ".join(upward)


def test_old_module_names_still_import_as_the_moved_module():
    import importlib
    import sys
    import warnings

    sys.modules.pop("prmlabel.answers", None)  # as in a fresh interpreter
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module("prmlabel.answers")
    new = importlib.import_module("prmlabel.text.answers")
    assert old is new
    assert any(issubclass(w.category, DeprecationWarning) and "prmlabel.text.answers" in str(w.message) for w in caught)
