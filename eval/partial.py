"""Partial runs: a predictions file with fewer lines than its split (a smoke test such as ``make predict-api
API_ARGS="--limit 16"``, a run stopped early) is scored on the first sentences it covers, and says so everywhere.

``metrics.json`` holds ``"partial": {"scored_sentences": N, "split_sentences": M}`` (``null`` for a run over the
whole split). A partial run's scores are of those N sentences only: every table names it partial, ranks it after
the complete runs of its split, and never takes it as the best run or into a mean over seeds.

>>> note({"partial": info(16, 1343)}), note({"partial": None}), is_partial({})
('partial: 16 of 1343 sentences', '', False)
"""

from __future__ import annotations


def info(scored: int, split_sentences: int) -> dict:
    """metrics.json's ``partial``: the first ``scored`` of the split's ``split_sentences`` sentences were scored."""
    return {"scored_sentences": scored, "split_sentences": split_sentences}


def is_partial(metrics: dict) -> bool:
    return isinstance(metrics.get("partial"), dict)


def note(metrics: dict) -> str:
    """``partial: 16 of 1343 sentences`` for a partial run, else ``""``."""
    if not is_partial(metrics):
        return ""
    partial = metrics["partial"]
    return f"partial: {partial.get('scored_sentences')} of {partial.get('split_sentences')} sentences"


def labelled_name(name: str, metrics: dict) -> str:
    """The run's name as a table shows it: ``name (partial: 16 of 1343 sentences)`` for a partial run."""
    return f"{name} ({note(metrics)})" if is_partial(metrics) else name
