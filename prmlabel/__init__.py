"""prmlabel: step-level labels for Process Reward Models.

The package is laid out by role, top to bottom (imports only point down; tests/test_layers.py checks):

    cli/        the command line (Typer app, one module per command group)
    launch/     recipes, run plans, local / SLURM / Ray executors
    stages/     one file per stage: where storage meets algorithms
    filters/    export/    inspect/    evaluate/
    labelers/   one paper's labeling rule per file
    engine/     the rollout scheduler and cache
    backends/   policy engines behind one interface (synthetic, llamacpp, openai, vllm)
    synthetic/  verifiers/
    inputs/     reading problems and ready-made responses (files, Hugging Face datasets)
    text/       steps, answers, judge prompts: text handling shared by labelers and backends
    contract/   the data contract: Arrow schemas, the shard store, the frozen config
    runtime/    limited worker processes, seed derivation

docs/architecture.md draws it. Modules that lived at the package root before 0.2 (``prmlabel.answers``,
``prmlabel.store``, ...) still import under their old names, with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__version__ = "0.1.0"

# Old module name -> its home since the package was grouped by role (kept importable for users' code).
MOVED = {
    "prmlabel.cli_common": "prmlabel.cli.common",
    "prmlabel.cli_export": "prmlabel.cli.export",
    "prmlabel.cli_filter": "prmlabel.cli.filter",
    "prmlabel.cli_inspect": "prmlabel.cli.inspect",
    "prmlabel.cli_run": "prmlabel.cli.run",
    "prmlabel.schema": "prmlabel.contract.schema",
    "prmlabel.store": "prmlabel.contract.store",
    "prmlabel.config": "prmlabel.contract.config",
    "prmlabel.seeds": "prmlabel.runtime.seeds",
    "prmlabel.limits": "prmlabel.runtime.limits",
    "prmlabel.records": "prmlabel.inputs.records",
    "prmlabel.rows": "prmlabel.inputs.rows",
    "prmlabel.problems": "prmlabel.inputs.problems",
    "prmlabel.importers": "prmlabel.inputs.importers",
    "prmlabel.import_presets": "prmlabel.inputs.presets",
    "prmlabel.hub": "prmlabel.inputs.hub",
    "prmlabel.steps": "prmlabel.text.steps",
    "prmlabel.answers": "prmlabel.text.answers",
    "prmlabel.answer_rules": "prmlabel.text.answer_rules",
    "prmlabel.answer_mv": "prmlabel.text.answer_mv",
    "prmlabel.labelers.judge_prompts": "prmlabel.text.judge_prompts",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as the module at its new home (the same module object)."""

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        pass  # the module at the new home is already executed


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())
