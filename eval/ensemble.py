"""Ensembles of scored runs: ``python -m eval ensemble RUN... --name NAME [--min-votes K]``.

Per sentence, each member votes for the entities it predicted; an entity with at least ``K`` votes is kept (default
``K``: a strict majority, ``len(members) // 2 + 1``). The members are read from their report folders
(``details.jsonl``, :mod:`eval.compare`) and must be on the same split and sentences.

What an entity is depends on the members:

- **spans**, when every line of every member carries exact spans (span taggers such as ``encoder_ner``): a vote is
  for ``(type, start, end)``; the ensemble's lines carry the kept spans, scored as they are;
- **strings** otherwise (LLM runs, or a mix): a vote is for ``(type, string)``, the official metric's unit; the kept
  strings are aligned to the sentence like any model output (hallucinated strings that win their vote stay
  hallucinated, i.e. official false positives).

The result is a predictions file (``prompt`` = the sentence, ``predict`` = the kept strings as the target JSON, and
``spans`` in span mode) that the eval package scores like any run, so the ensemble of one run repeated scores
exactly as that run.

>>> rows = [[{"text": "张三在北京", "strings": {"name": ["张三"]}, "spans": [["name", 0, 2]]}],
...         [{"text": "张三在北京", "strings": {"name": ["张三"], "address": ["北京"]},
...           "spans": [["name", 0, 2], ["address", 3, 5]]}]]
>>> vote(rows, min_votes=2, mode="spans")[0]["predict"]
'{"name":["张三"]}'
>>> vote(rows, min_votes=1, mode="strings")[0]["predict"]
'{"name":["张三"],"address":["北京"]}'
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Sequence

from cluener.labels import LABELS
from cluener.layout import ENSEMBLE_PREDICTIONS_FILE, REPORTS_DIR

from .compare import RunLines, check_same_sentences, load_run

SPANS, STRINGS = "spans", "strings"


class EnsembleError(ValueError):
    """An ensemble that cannot be built (bad --min-votes, members on other sentences). ``str()`` is one line."""


def default_min_votes(members: int) -> int:
    """A strict majority."""
    return members // 2 + 1


def member_mode(run: RunLines) -> str:
    """``spans`` when every line of the run was scored on exact predicted spans, else ``strings``."""
    parse = run.metrics.get("parse") or {}
    return SPANS if run.rows and parse.get("span_lines") == len(run.rows) else STRINGS


def _target(kept: Sequence[tuple[str, str]], text: str) -> str:
    """Kept (type, string) pairs as the target JSON: types in first-appearance order, strings once each."""
    order = sorted(kept, key=lambda pair: (text.find(pair[1]) if pair[1] in text else len(text), pair))
    grouped: dict[str, list[str]] = {}
    for label, string in order:
        strings = grouped.setdefault(label, [])
        if string not in strings:
            strings.append(string)
    return json.dumps(grouped, ensure_ascii=False, separators=(",", ":"))


def _grouped(kept: Sequence[tuple[str, str]]) -> str:
    """Kept (type, string) pairs as the target JSON, in the order given: the aligner resolves a string claimed by
    two types by that order, so the first member's order is kept (one run repeated aligns exactly as that run)."""
    grouped: dict[str, list[str]] = {}
    for label, string in kept:
        grouped.setdefault(label, []).append(string)
    return json.dumps(grouped, ensure_ascii=False, separators=(",", ":"))


def vote(members: Sequence[Sequence[dict]], min_votes: int, mode: str) -> list[dict]:
    """Predictions lines of the ensemble: one per sentence, from the members' ``details.jsonl`` rows."""
    if not members:
        raise EnsembleError("no members")
    if not 1 <= min_votes <= len(members):
        raise EnsembleError(f"--min-votes {min_votes}: must be between 1 and the number of members ({len(members)})")
    lines = []
    for rows in zip(*members, strict=True):
        text = rows[0]["text"]
        if mode == SPANS:
            votes = Counter(ent for row in rows for ent in {tuple(e) for e in row.get("spans") or ()})
            kept = sorted((e for e, n in votes.items() if n >= min_votes), key=lambda e: (e[1], e[2], e[0]))
            layout: dict[str, dict[str, list[list[int]]]] = {}
            for label, start, end in kept:
                layout.setdefault(label, {}).setdefault(text[start:end], []).append([start, end - 1])
            pairs = [(label, text[start:end]) for label, start, end in kept]
            lines.append({"prompt": text, "predict": _target(pairs, text), "spans": layout})
        else:
            votes: Counter = Counter()
            for row in rows:  # Counter keeps first-seen order: the first member's order, then the next member's
                pairs = [(label, s) for label, strings in (row.get("strings") or {}).items() for s in strings]
                votes.update(dict.fromkeys(pairs, 1))
            kept = [pair for pair, n in votes.items() if n >= min_votes and pair[0] in LABELS]
            lines.append({"prompt": text, "predict": _grouped(kept)})
    return lines


def build_ensemble(
    names: Sequence[str], reports_dir: str | Path = REPORTS_DIR, min_votes: int | None = None
) -> tuple[list[dict], dict]:
    """(predictions lines, the ``ensemble`` entry of metrics.json) of the members' vote."""
    if not names:
        raise EnsembleError("no members: name at least one run")
    runs = [load_run(name, reports_dir) for name in names]
    check_same_sentences(runs)
    k = default_min_votes(len(runs)) if min_votes is None else min_votes
    mode = SPANS if all(member_mode(run) == SPANS for run in runs) else STRINGS
    lines = vote([run.rows for run in runs], k, mode)
    info = {"members": [run.name for run in runs], "min_votes": k, "unit": mode, "split": runs[0].split}
    return lines, info


def write_ensemble(
    names: Sequence[str],
    name: str,
    reports_dir: str | Path = REPORTS_DIR,
    min_votes: int | None = None,
    data_dir: str | Path = "data",
) -> dict:
    """Vote, write ``reports/<name>/ensemble_predictions.jsonl`` and score it as run ``name`` (its own report, with
    ``"ensemble": {"members", "min_votes", "unit"}`` in metrics.json). Returns the metrics dict."""
    import tempfile

    from cluener.files import atomic_write_bytes, sha256_file
    from cluener.layout import LABELLED_SPLITS, report_dir
    from cluener.splits import gold_of_split, shown_path

    from .report import write_run
    from .runs import score_predictions

    folder = report_dir(name, reports_dir)
    lines, info = build_ensemble(names, reports_dir, min_votes)
    split = info.pop("split")
    if split not in LABELLED_SPLITS:
        raise EnsembleError(
            f"the members are on {split!r}: an ensemble is scored against a project split "
            f"({', '.join(sorted(LABELLED_SPLITS))}); score the members with --split"
        )
    if name in info["members"]:
        raise EnsembleError(f"--name {name}: that is one of the members; give the ensemble a name of its own")
    gold = gold_of_split(split, data_dir)
    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = atomic_write_bytes(Path(tmp) / ENSEMBLE_PREDICTIONS_FILE, data)  # an error names the file
        run, order, _partial = score_predictions(scratch, gold)
        digest = sha256_file(scratch)
    metrics_info = {
        "name": name,
        "split": gold.split,
        "predictions": shown_path(folder / ENSEMBLE_PREDICTIONS_FILE),  # written into the report folder with the report
        "predictions_sha256": digest,
        "gold": gold.description,
        "order_check": order,
        "ensemble": info,
    }
    return write_run(run, metrics_info, reports_dir, extra_files={ENSEMBLE_PREDICTIONS_FILE: data})
