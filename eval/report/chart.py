"""The per-class F1 chart of a run (PNG): both metrics per class (a class without gold is marked n/a, never drawn
as a 0 bar), the best BERT-family baseline on a dev run, and beside it the four headline scores with their 95%
intervals as error bars."""

from __future__ import annotations

import io

from cluener.labels import LABELS

from eval.metrics import SCORES

from .tables import no_gold_classes


def _headline(metrics: dict) -> list[tuple[str, float, list[float] | None]]:
    """(label, F1, 95% interval or None) of each headline score."""
    out = []
    for score in SCORES:
        scores = metrics[score.section]
        out.append((score.label, scores[score.name], scores.get(f"{score.name}_ci95")))
    return out


def render_chart(metrics: dict, baselines: dict | None = None) -> bytes:
    """PNG: per-class F1 on both metrics (and the best BERT-family dev baseline on a dev run), headline scores."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    no_gold = set(no_gold_classes(metrics["official"]))
    fig = Figure(figsize=(13, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [4, 1.3]})
    x = np.arange(len(LABELS))
    width = 0.38
    for offset, section, name in (
        (-width / 2, "official", "official (string sets)"),
        (width / 2, "span", "span (type, start, end)"),
    ):
        values = [np.nan if lb in no_gold else metrics[section]["per_class"][lb]["f1"] for lb in LABELS]
        bars = ax.bar(x + offset, values, width, label=name)
        ax.bar_label(bars, labels=["" if np.isnan(v) else f"{v:.2f}" for v in values], fontsize=7, padding=1)
    for i, label in enumerate(LABELS):
        if label in no_gold:
            ax.text(i, 0.05, "n/a\n(no gold)", ha="center", va="bottom", fontsize=8, color="dimgray")
    if baselines and metrics.get("split") == baselines["span_dev"]["split"]:
        best = max(baselines["span_dev"]["models"], key=lambda m: m["micro_f1"])
        ref = [best["per_class"][label]["f1"] for label in LABELS]
        ax.scatter(x + width / 2, ref, marker="_", s=400, color="black", zorder=3, label=f"{best['model']} span (dev)")
    ax.set_xticks(x, LABELS, rotation=25, ha="right")
    ax.set_ylim(0, 1.22)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("F1")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{metrics['name']} ({metrics['split']}): per-class F1", fontsize=10)
    ax.legend(loc="upper center", ncol=3, fontsize=8, frameon=False)

    headline = _headline(metrics)
    values = [v for _, v, _ in headline]
    y = np.arange(len(headline))
    side.barh(y, values, color=["C0", "C0", "C1", "C1"], alpha=0.85)
    with_ci = [(i, v, ci) for i, (_, v, ci) in enumerate(headline) if ci]
    if with_ci:  # a score without an interval gets no error bar (not a zero-width one)
        side.errorbar([v for _, v, _ in with_ci], [i for i, _, _ in with_ci], fmt="none", ecolor="black", capsize=4,
                      xerr=[[v - ci[0] for _, v, ci in with_ci], [ci[1] - v for _, v, ci in with_ci]])  # fmt: skip
    for i, (_, v, ci) in enumerate(headline):
        side.text(0.02, i, f"{v:.4f}" + ("" if ci else " (no interval)"), va="center", fontsize=8, color="white")
    side.set_yticks(y, [label for label, _, _ in headline], fontsize=8)
    side.invert_yaxis()
    side.set_xlim(0, 1.08)
    side.set_xlabel("F1, 95% interval (sentence bootstrap)", fontsize=8)
    side.grid(axis="x", alpha=0.3)
    side.set_title("headline scores", fontsize=10)
    if no_gold:  # the official macro is kept as CLUENER defines it: say what it counts
        side.set_xlabel(f"F1, 95% interval (sentence bootstrap)\nofficial macro: mean over all 10 types,\n"
                        f"{', '.join(sorted(no_gold))} (no gold) counted 0", fontsize=8)  # fmt: skip
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
