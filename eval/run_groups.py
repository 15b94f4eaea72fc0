"""Group runs by recipe and configuration: mean ± sd over seeds; and select-on-val, the one rule that chooses a
configuration (:func:`select_on_val`, also what ``scripts/sweep.py`` selects with).

Runs are grouped from their run cards (``metrics.json``'s ``run_card``, :mod:`eval.run_card`): same recipe, same
overrides apart from those that only name the run or its seed (:data:`NOT_CONFIG`). Within a group, the runs of each
split are averaged (sample standard deviation over seeds). Per recipe, the configuration with the best mean **val**
official macro F1 is the selected one; dev is shown beside it and never used to choose.

>>> card = {"recipe": "r.yaml", "overrides": ["seed=1", "learning_rate=1e-4"], "seed": 1}
>>> config_key(card)
'learning_rate=1e-4'
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Hashable, Iterable, Mapping, Sequence, TypeVar

from cluener.layout import REPORTING_SPLIT, SELECTION_SPLIT, recipe_label
from eval.metrics import HEADLINE
from eval.partial import is_partial

NOT_CONFIG = ("seed", "output_dir", "name")
SELECT_METRIC = ("official", "macro_f1")  # the score a configuration is chosen by, on SELECTION_SPLIT (val)
Key = TypeVar("Key", bound=Hashable)


def select_on_val(configs: Mapping[Key, Iterable[dict]]) -> Key | None:
    """Of ``{configuration: metrics dicts of its runs}``, the configuration whose runs on the selection split (val)
    have the best mean official macro F1 (the first one on a tie); runs of any other split are never looked at, so
    dev cannot choose. None when no configuration has a scored val run.

    >>> run = lambda split, f1: {"split": split, "official": {"macro_f1": f1}}
    >>> select_on_val({"a": [run("val", 0.5), run("dev", 0.9)], "b": [run("val", 0.6), run("dev", 0.1)]})
    'b'
    """
    section, key = SELECT_METRIC
    means = {}
    for config, runs in configs.items():
        scores = [r[section][key] for r in runs if r.get("split") == SELECTION_SPLIT and r.get(section)]
        if scores:
            means[config] = statistics.fmean(scores)
    return max(means, key=means.__getitem__) if means else None
COLUMNS = tuple((score.section, score.name, score.label) for score in HEADLINE)  # declared in eval.metrics


def config_key(card: dict) -> str:
    overrides = card.get("overrides")
    if not isinstance(overrides, list):
        return "unknown overrides"
    kept = [o for o in overrides if isinstance(o, str) and o.partition("=")[0].strip() not in NOT_CONFIG]
    return " ".join(kept) or "the recipe as is"


@dataclass
class Group:
    recipe: str
    config: str
    runs: dict[str, list[dict]] = field(default_factory=dict)  # split -> metrics of each run

    def seeds(self, split: str) -> list:
        return [(r.get("run_card") or {}).get("seed", "unknown") for r in self.runs.get(split, [])]

    def mean_sd(self, split: str, section: str, key: str) -> tuple[float, float | None, int] | None:
        """(mean, sample sd, n) over the seeds; sd is None for one seed (no spread to measure)."""
        values = [r[section][key] for r in self.runs.get(split, []) if r.get(section)]
        if not values:
            return None
        return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None), len(values)


def group_runs(runs: Sequence[dict]) -> dict[str, list[Group]]:
    """``{recipe: [Group, ...]}`` for runs with a known recipe and gold labels."""
    groups: dict[tuple[str, str], Group] = {}
    for run in runs:
        card = run.get("run_card")
        if not isinstance(card, dict) or not isinstance(card.get("recipe"), str) or card["recipe"] == "unknown":
            continue
        if run.get("official") is None or "ensemble" in run or is_partial(run):  # partial: other sentences
            continue
        key = (recipe_label(card["recipe"]), config_key(card))  # the same recipe however its path was written
        group = groups.setdefault(key, Group(*key))
        group.runs.setdefault(run["split"], []).append(run)
    out: dict[str, list[Group]] = {}
    for (recipe, _), group in sorted(groups.items()):
        out.setdefault(recipe, []).append(group)
    return out


def selected(groups: Sequence[Group]) -> Group | None:
    """The group selected on val (:func:`select_on_val`); None without val runs."""
    chosen = select_on_val({i: [r for runs in g.runs.values() for r in runs] for i, g in enumerate(groups)})
    return None if chosen is None else groups[chosen]


def _cell(ms: tuple[float, float | None, int] | None) -> str:
    """``0.8123 ± 0.0040`` over seeds; one seed is ``0.8123 (n = 1)``, never a ``± 0.0000`` it did not measure.

    >>> _cell((0.5, None, 1)), _cell((0.5, 0.01, 3))
    ('0.5000 (n = 1)', '0.5000 ± 0.0100')
    """
    if ms is None:
        return "—"
    return f"{ms[0]:.4f} (n = 1)" if ms[1] is None else f"{ms[0]:.4f} ± {ms[1]:.4f}"


def render_groups(runs: Sequence[dict], md=str) -> list[str]:
    """The ``reports/README.md`` section (Markdown lines); empty when no recipe has two runs of one split."""
    grouped = group_runs(runs)
    interesting = {
        recipe: groups
        for recipe, groups in grouped.items()
        if len(groups) > 1 or any(len(v) > 1 for g in groups for v in g.runs.values())
    }
    if not interesting:
        return []
    lines = [
        "## Seeds and configurations",
        "",
        "Runs of one recipe grouped by configuration (the overrides apart from seed, name and output folder): "
        "mean ± sd over seeds (sample sd). The configuration marked *selected* has the best mean **val** official "
        "macro F1; dev is reported, never used to choose. Seeds measure training randomness, which the 95% "
        "intervals of each run (sentence sampling) do not cover.",
        "",
    ]
    for recipe, groups in interesting.items():
        chosen = selected(groups)
        lines += [f"### {md(recipe)}", ""]
        header = ["configuration", "split", "seeds", *(name for _, _, name in COLUMNS)]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for group in groups:
            for split in sorted(group.runs, key=lambda s: {SELECTION_SPLIT: 0, REPORTING_SPLIT: 1}.get(s, 2)):
                mark = " (**selected on val**)" if group is chosen else ""
                cells = [f"{md(group.config)}{mark}", split, ", ".join(map(str, group.seeds(split)))]
                cells += [_cell(group.mean_sd(split, section, key)) for section, key, _ in COLUMNS]
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        if chosen is None:
            lines += ["No val runs: no configuration is selected (select on val, never on dev).", ""]
        else:
            dev = chosen.mean_sd(REPORTING_SPLIT, *SELECT_METRIC)
            lines += [
                f"Selected on val: {md(chosen.config)} (val official macro F1 "
                f"{_cell(chosen.mean_sd(SELECTION_SPLIT, *SELECT_METRIC))}; dev {_cell(dev)}).",
                "",
            ]
    return lines
