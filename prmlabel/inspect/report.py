"""`prmlabel report`: one self-contained HTML page about a run, and the same plots as PNG files.

The page needs nothing but itself: plots are PNGs inlined as base64, the style is inline, and there
is no script. It shows the per-stage table of `prmlabel stats`, label balance, step values, the
first-error position, the methods' agreement matrix, cost per method, and each stage's config.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from prmlabel import __version__
from prmlabel.inspect import plots
from prmlabel.inspect.run_folder import connect, quote
from prmlabel.inspect.stats import run_stats

# (element id, title, what the plot shows) in page order.
PLOTS = [
    ("label-balance", "Label balance", "Share of steps labeled good, bad and unknown, per stage."),
    ("value-histogram", "Step values", "Per-step values (Monte-Carlo estimates and the like) of each labels folder."),
    ("first-error", "First-error position", "Where responses go wrong first, per labels folder."),
    (
        "agreement",
        "Agreement between methods",
        "Share of common responses on which two methods name the same first error.",
    ),
    ("cost", "Cost per method", "Rollouts per response and tokens generated, from the shard records."),
]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 0.2em 0.7em; border-bottom: 1px solid #eee; }
th { text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; } img { max-width: 100%; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.empty { color: #888; font-style: italic; }
"""


def step_values(run: str | Path) -> dict[str, list[float]]:
    con, stages = connect(run)
    out = {
        s.name: [
            v for (v,) in con.execute(f"SELECT unnest(values) AS v FROM {quote(s.name)}").fetchall() if v is not None
        ]
        for s in stages
        if s.kind == "labels" and s.has_rows
    }
    con.close()
    return out


def make_plots(run: str | Path, stats: dict[str, Any]) -> dict[str, bytes | None]:
    stages = stats["stages"]
    label_names = [s["name"] for s in stages if s["kind"] == "labels" and s.get("details")]
    return {
        "label-balance": plots.label_balance(stages),
        "value-histogram": plots.value_histogram(step_values(run)),
        "first-error": plots.first_error_positions([s for s in stages if s["kind"] == "labels"]),
        "agreement": plots.agreement_matrix(label_names, stats["agreement"]),
        "cost": plots.cost_per_method(stages),
    }


def _stage_table(stats: dict[str, Any]) -> str:
    head = ["stage", "kind", "shards", "rows in", "rows out", "rejected", "rows written", "seconds"]
    rows = []
    for s in stats["stages"]:
        cells = [
            s["name"],
            s["kind"],
            f"{s['shards_done']}/{s['shards']}",
            s["rows_in"],
            s["rows_out"],
            s["rows_rejected"],
            s["rows_written"],
            s["seconds"],
        ]
        rows.append(
            "<tr>"
            + "".join(
                f'<td class="n">{html.escape(str(c))}</td>'
                if isinstance(c, int | float)
                else f"<td>{html.escape(str(c))}</td>"
                for c in cells
            )
            + "</tr>"
        )
    header = "".join(f"<th>{h}</th>" for h in head)
    return f'<table id="stages"><tr>{header}</tr>{"".join(rows)}</table>'


def render_html(run: str | Path, stats: dict[str, Any], images: dict[str, bytes | None]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>prmlabel report: {html.escape(str(run))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>prmlabel report: {html.escape(str(run))}</h1>",
        f"<p>{len(stats['stages'])} stage folders; written by prmlabel {__version__}. "
        "Every number here comes from the run folder "
        "(try <code>prmlabel stats</code> and <code>prmlabel sql</code>).</p>",
        "<h2>Stages</h2>",
        _stage_table(stats),
    ]
    for plot_id, title, caption in PLOTS:
        parts.append(f"<h2>{html.escape(title)}</h2>")
        png = images.get(plot_id)
        if png is None:
            parts.append(f'<p class="empty" id="{plot_id}-empty">Nothing to plot in this run.</p>')
            continue
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img id="plot-{plot_id}" class="plot" alt="{html.escape(title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
    parts.append("<h2>Configs</h2>")
    for s in stats["stages"]:
        config = Path(s["path"]) / "config.yaml"
        text = config.read_text(encoding="utf-8") if config.exists() else "(no config.yaml)"
        parts.append(f'<h3>{html.escape(s["name"])}</h3><pre class="config">{html.escape(text)}</pre>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(run: str | Path, output: str | Path, png_dir: str | Path | None = None) -> dict[str, Any]:
    stats = run_stats(run)
    images = make_plots(run, stats)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(run, stats, images), encoding="utf-8")
    written = [str(output)]
    if png_dir is not None:
        folder = Path(png_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for plot_id, png in images.items():
            if png is not None:
                (folder / f"{plot_id}.png").write_bytes(png)
                written.append(str(folder / f"{plot_id}.png"))
    return {"written": written, "plots": [k for k, v in images.items() if v is not None]}
