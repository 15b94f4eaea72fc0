"""The per-class F1 chart of a run (PNG): both metrics, and the best BERT-family baseline on a dev run."""

from __future__ import annotations

import io

from cluener.labels import LABELS


def render_chart(metrics: dict, baselines: dict | None = None) -> bytes:
    """PNG bar chart of per-class F1 on both metrics (and the best BERT-family dev baseline on a dev run)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    official = [metrics["official"]["per_class"][label]["f1"] for label in LABELS]
    span = [metrics["span"]["per_class"][label]["f1"] for label in LABELS]
    fig = Figure(figsize=(11, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = np.arange(len(LABELS))
    width = 0.38
    for offset, values, name in (
        (-width / 2, official, "official (string sets)"),
        (width / 2, span, "span (type, start, end)"),
    ):
        bars = ax.bar(x + offset, values, width, label=name)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1)
    if baselines and metrics.get("split") == baselines["span_dev"]["split"]:
        best = max(baselines["span_dev"]["models"], key=lambda m: m["micro_f1"])
        ref = [best["per_class"][label]["f1"] for label in LABELS]
        ax.scatter(x + width / 2, ref, marker="_", s=400, color="black", zorder=3, label=f"{best['model']} span (dev)")
    ax.set_xticks(x, LABELS, rotation=25, ha="right")
    ax.set_ylim(0, 1.22)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("F1")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(
        f"{metrics['name']} ({metrics['split']}): per-class F1 - official macro "
        f"{metrics['official']['macro_f1']:.4f}, span micro {metrics['span']['micro_f1']:.4f}"
    )
    ax.legend(loc="upper center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
