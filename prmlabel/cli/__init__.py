"""The command line: ``app`` (the Typer application) and ``main`` (the ``prmlabel`` script).

``app.py`` holds the root and the stage commands that share most options (generate, import, label,
synthetic); each other group lives in its own module with a ``register(app)``: ``filter``, ``run``
(recipes, run, status, task), ``export``, ``inspect`` (stats, sql, eval, report). ``common`` is what
they share: typed options, running a configured stage, the summary table, user errors.
"""

from prmlabel.cli.app import app, main

__all__ = ["app", "main"]
