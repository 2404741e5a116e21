"""The report's plots, each a matplotlib figure drawn from `prmlabel stats` numbers (PNG bytes out).

matplotlib runs on the Agg backend (no display); each function returns None when the run has
nothing to draw for it, and the report says so instead of showing an empty frame.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)

GOOD, BAD, UNKNOWN = "#4c9a5b", "#c8553d", "#b8b8b8"


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def label_balance(stages: list[dict[str, Any]]) -> bytes | None:
    rows = [(s["name"], s["balance"]) for s in stages if s.get("balance")]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 1.4 + 0.5 * len(rows)))
    names = [n for n, _ in rows]
    left = [0.0] * len(rows)
    for key, color in (("good", GOOD), ("bad", BAD), ("unknown", UNKNOWN)):
        total = [b["good"] + b["bad"] + b["unknown"] or 1 for _, b in rows]
        share = [b[key] / t for (_, b), t in zip(rows, total, strict=True)]
        ax.barh(names, share, left=left, color=color, label=key)
        left = [a + b for a, b in zip(left, share, strict=True)]
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of labeled steps")
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.1 / len(rows)), fontsize=8, ncols=3, frameon=False)
    ax.set_title("Label balance")
    return _png(fig)


def value_histogram(values: dict[str, list[float]]) -> bytes | None:
    values = {k: v for k, v in values.items() if v}
    if not values:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    bins = [i / 20 for i in range(21)]
    for name, vals in values.items():
        ax.hist([min(max(v, 0.0), 1.0) for v in vals], bins=bins, alpha=0.55, label=name)
    ax.set_xlabel("per-step value (MC estimate; clipped to [0, 1])")
    ax.set_ylabel("steps")
    ax.legend(fontsize=8)
    ax.set_title("Step values")
    return _png(fig)


def first_error_positions(stages: list[dict[str, Any]]) -> bytes | None:
    rows = [(s["name"], dict(s["first_error"])) for s in stages if s.get("first_error")]
    if not rows:
        return None
    positions = sorted({p for _, h in rows for p in h if p is not None})
    if not positions:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    width = 0.8 / len(rows)
    for i, (name, hist) in enumerate(rows):
        total = sum(hist.values()) or 1
        slots = [k + i * width - 0.4 + width / 2 for k in range(len(positions))]
        ax.bar(slots, [hist.get(p, 0) / total for p in positions], width=width, label=name)
    ax.set_xticks(range(len(positions)), ["none" if p == -1 else str(p) for p in positions])
    ax.set_xlabel("first wrong step (0-based; none = every step right)")
    ax.set_ylabel("share of responses")
    ax.legend(fontsize=8)
    ax.set_title("First-error position")
    return _png(fig)


def agreement_matrix(names: list[str], agreement: list[dict[str, Any]]) -> bytes | None:
    if len(names) < 2:
        return None
    index = {n: i for i, n in enumerate(names)}
    matrix = [[1.0 if i == j else float("nan") for j in range(len(names))] for i in range(len(names))]
    for a in agreement:
        value = a["same_first_error"] if a["same_first_error"] is not None else float("nan")
        matrix[index[a["a"]]][index[a["b"]]] = matrix[index[a["b"]]][index[a["a"]]] = value
    size = 1.6 + 0.9 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            if v == v:  # not NaN
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="white" if v < 0.6 else "black")
    fig.colorbar(image, ax=ax, label="same first error (share of common responses)")
    ax.set_title("Agreement between methods")
    return _png(fig)


def cost_per_method(stages: list[dict[str, Any]]) -> bytes | None:
    rows = [s for s in stages if s["kind"] == "labels"]
    if not rows:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.0))
    names = [s["name"] for s in rows]
    per_response = [s["cost"]["rollouts"] / max(s["rows_written"], 1) for s in rows]
    left.bar(names, per_response, color="#3d6fb6")
    left.set_ylabel("rollouts per response")
    right.bar(names, [s["cost"]["tokens"] for s in rows], color="#8a63b3")
    right.set_ylabel("tokens the labels cost")
    for ax in (left, right):
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle("Cost per method")
    return _png(fig)
