"""Export formats, one trainer's file per module, registered by name and imported when chosen.

Beside the built-ins below, a plug-in package adds formats through the ``prmlabel.exports`` entry
point group (``name = "pkg.module"``: the module is the format), and ``--format pkg.module`` names
one directly when it holds a ``:`` (``pkg.module:obj``). docs/extending.md lists what a format has.
"""

from __future__ import annotations

from typing import Any

from prmlabel.runtime import plugins

# name -> the module that writes it
FORMATS: dict[str, str] = {
    "trl": "prmlabel.export.trl",
    "openrlhf": "prmlabel.export.openrlhf",
    "math-shepherd": "prmlabel.export.math_shepherd",
    "fover": "prmlabel.export.fover",
    "jsonl": "prmlabel.export.jsonl",
    "hf": "prmlabel.export.hf",
    "values": "prmlabel.export.values",  # node tables only (`export --nodes`): (prefix, value) rows
}

# What a format module (or object) must have; PLACEHOLDER (a text the format cannot hold) is optional.
INTERFACE = {
    "NAME": "str: the format's name",
    "BOOL_ONLY": "bool: True when it holds only true/false step labels (soft ones need --threshold)",
    "WRITES_UNKNOWN": "bool: True when it writes an undecided step as null; False cuts the row before it",
    "schema": "function schema(float_labels: bool) -> pyarrow.Schema",
    "record": "function record(row: ExportRow, labels: list) -> dict, one row of the file",
}


def available_formats() -> list[str]:
    return sorted(plugins.targets("export format", FORMATS))


def format_target(name: str) -> plugins.Target:
    def unknown(known: str) -> str:
        return f"--format {name!r} is not one of: {known} (or a package.module:object)"

    return plugins.resolve("export format", name, FORMATS, unknown)


def plugin_info(name: str) -> dict[str, Any] | None:
    """What a run plan records of ``--format name``: None for a built-in, else the plug-in's origin."""
    target = format_target(name)
    return None if target.builtin else plugins.origin(target)


def format_module(name: str) -> Any:
    """The module (or object) that writes format ``name``: ``NAME``, ``BOOL_ONLY``, ``schema``, ``record``..."""
    target = format_target(name)
    module = plugins.load(target)
    if not target.builtin:
        plugins.require(target, module, INTERFACE)
    return module
