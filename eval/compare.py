"""Paired comparison of two scored runs on the same sentences: ``python -m eval compare RUN_A RUN_B``.

Both runs are read from their report folders (``reports/<run>/details.jsonl`` and ``metrics.json``, as
``python -m eval score`` wrote them); they must be on the same split and the very same sentences, in the same order,
or it is an error. For each of official macro F1, official micro F1 and span micro F1:

- ``a``, ``b``: the two runs' scores; ``delta`` = a - b;
- ``ci95``: the 95% percentile interval of the delta over ``B`` paired bootstrap resamples -- each resample draws
  ``n`` sentences with replacement and scores *both* runs on those same sentences (:mod:`eval.bootstrap`);
- ``p``: two-sided p-value of "no difference", from the bootstrap distribution of the delta shifted to the null
  (Koehn 2004; Berg-Kirkpatrick et al. 2012): ``p = (1 + #{b : |delta_b - delta| >= |delta|}) / (B + 1)``.
  A run against itself gives delta 0 and p 1; swapping A and B flips the delta and its interval and keeps p.

Significant means ``p < 0.05`` (:data:`ALPHA`). Like the intervals, this covers sentence sampling only: two runs of
one recipe with other seeds can differ significantly on a fixed dev set.

>>> import numpy as np
>>> one = np.zeros((3, 3, 10), dtype=np.int64); one[:, 0, 0] = 1  # every sentence: one true positive of `address`
>>> counts = {"official": one, "span": one}
>>> paired_test(counts, counts)["span.micro_f1"]
{'a': 1.0, 'b': 1.0, 'delta': 0.0, 'ci95': [0.0, 0.0], 'p': 1.0}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cluener.layout import REPORT_FILES, REPORTS_DIR
from .partial import is_partial, note

from .bootstrap import (
    HEADLINE_SECTIONS, METRIC_KEYS, RESAMPLES, SEED, percentile_interval, point_f1, resample_weights, resampled_f1,
    sentences_in,
)  # fmt: skip
from .counting import Sentence, count_all
from .metrics import FAMILY, SCORE

ALPHA = 0.05


class CompareError(ValueError):
    """Runs that cannot be compared (missing report, other split, other sentences). ``str()`` is one line."""


@dataclass
class RunLines:
    """What a report folder says about each sentence of its run (from ``details.jsonl``)."""

    name: str
    split: str
    folder: Path
    metrics: dict
    rows: list[dict]
    _digest: str | None = None
    _counts: dict[str, np.ndarray] | None = None
    _counts_key: str | None = None

    @property
    def labelled(self) -> bool:
        return self.metrics.get("official") is not None

    def sentences_digest(self) -> str:
        """sha256 over the sentences and their gold entities, in order: equal digests = the same scored sentences."""
        if self._digest is None:
            digest = hashlib.sha256()
            for row in self.rows:
                digest.update(json.dumps([row["text"], row.get("gold")], ensure_ascii=False).encode("utf-8") + b"\n")
            self._digest = digest.hexdigest()
        return self._digest

    def counts(self) -> dict[str, np.ndarray]:
        """The per-sentence counts of the families of the headline scores (:mod:`eval.counting`)."""
        if self._counts is None:
            self._counts = count_all([FAMILY[s] for s in HEADLINE_SECTIONS], sentences_of_rows(self.rows))
        return self._counts

    def counts_key(self) -> str:
        """sha256 of :meth:`counts`: equal keys = the same input to a paired test."""
        if self._counts_key is None:
            digest = hashlib.sha256()
            for section, counts in sorted(self.counts().items()):
                counts = np.ascontiguousarray(counts)
                digest.update(section.encode() + str(counts.shape).encode() + counts.tobytes())
            self._counts_key = digest.hexdigest()
        return self._counts_key


def sentences_of_rows(rows: list[dict]) -> list[Sentence]:
    """What the metrics read of each ``details.jsonl`` row: its gold spans (and their strings), predicted strings
    and spans."""
    out = []
    for row in rows:
        gold = [tuple(e) for e in row.get("gold") or ()]
        gold_strings: dict[str, set[str]] = {}
        for label, start, end in gold:
            gold_strings.setdefault(label, set()).add(row["text"][start:end])
        out.append(Sentence(gold_strings, row.get("strings") or {}, gold, [tuple(e) for e in row.get("spans") or ()]))
    return out


_CACHE: dict[tuple, RunLines] = {}  # (folder, metrics and details mtime/size) -> RunLines: each read once


def load_run(name: str, reports_dir: str | Path = REPORTS_DIR, metrics: dict | None = None) -> RunLines:
    """The report folder of ``name`` under ``reports_dir``, or a :class:`CompareError` naming what is missing.
    ``metrics``: the run's metrics dict when it is already read (its metrics.json is then not read again)."""
    folder = Path(reports_dir) / name
    metrics_path, details_path = folder / REPORT_FILES["metrics"], folder / REPORT_FILES["details"]
    for path in (details_path,) if metrics is not None else (metrics_path, details_path):
        if not path.is_file():
            raise CompareError(f"{path}: not found (score the run first: python -m eval score ... --name {name})")
    paths = (details_path,) if metrics is not None else (metrics_path, details_path)
    key = (str(folder.resolve()), metrics is not None, *((p.stat().st_mtime_ns, p.stat().st_size) for p in paths))
    if key not in _CACHE:
        _CACHE[key] = _read_run(name, folder, metrics_path, details_path, metrics)
    return _CACHE[key]


def _read_run(name: str, folder: Path, metrics_path: Path, details_path: Path, metrics: dict | None) -> RunLines:
    if metrics is None:
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CompareError(f"{metrics_path}: not valid JSON ({exc})") from None
    if not isinstance(metrics, dict) or "split" not in metrics:
        raise CompareError(f"{metrics_path}: not a metrics.json written by `python -m eval score`")
    rows = []
    with details_path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                row = json.loads(raw)
            except ValueError:
                raise CompareError(f"{details_path}:{number}: not valid JSON") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise CompareError(f"{details_path}:{number}: not a details line (no 'text')")
            rows.append(row)
    if len(rows) != metrics.get("lines", len(rows)):
        raise CompareError(f"{details_path}: {len(rows)} lines, but {metrics_path} says {metrics.get('lines')}")
    return RunLines(metrics.get("name", name), metrics["split"], folder, metrics, rows)


def check_same_sentences(runs: list[RunLines]) -> None:
    """Every run on the first run's split and sentences (same text and gold, same order), all labelled."""
    first = runs[0]
    for run in runs:
        if not run.labelled:
            raise CompareError(f"{run.folder}: run {run.name} has no gold labels ({run.split}): nothing to compare")
    for run in runs[1:]:
        if run.split != first.split:
            raise CompareError(f"runs {first.name} and {run.name} are on different splits ({first.split}, {run.split})")
        if len(run.rows) != len(first.rows):
            raise CompareError(
                f"runs {first.name} and {run.name} have {len(first.rows)} and {len(run.rows)} sentences"
            )
        if run.sentences_digest() != first.sentences_digest():
            line = next(
                i + 1
                for i, (a, b) in enumerate(zip(first.rows, run.rows, strict=True))
                if (a["text"], a.get("gold")) != (b["text"], b.get("gold"))
            )
            raise CompareError(
                f"runs {first.name} and {run.name} differ at sentence {line} (text or gold): not the same sentences"
            )


def _p_value(deltas: np.ndarray, observed: float) -> float:
    """Two-sided, bootstrap distribution shifted to the null (see the module docstring); add-one smoothed."""
    extreme = np.abs(deltas - observed) >= abs(observed) - 1e-12
    return float((1 + extreme.sum()) / (len(deltas) + 1))


def paired_test(
    counts_a: dict[str, np.ndarray],
    counts_b: dict[str, np.ndarray],
    resamples: int = RESAMPLES,
    seed: int = SEED,
    digits: int = 4,
    boot_b: dict | None = None,
) -> dict[str, dict]:
    """``{metric: {"a", "b", "delta", "ci95", "p"}}`` for :data:`eval.bootstrap.METRIC_KEYS` (A - B).
    ``boot_b``: B's :func:`resampled_f1` on these resamples when already known (one best run against many)."""
    if sentences_in(counts_a) != sentences_in(counts_b):
        raise ValueError(f"paired_test: {sentences_in(counts_a)} and {sentences_in(counts_b)} sentences")
    weights = resample_weights(sentences_in(counts_a), resamples, seed)
    point_a, point_b = point_f1(counts_a), point_f1(counts_b)
    boot_a = resampled_f1(counts_a, weights)
    boot_b = resampled_f1(counts_b, weights) if boot_b is None else boot_b
    out = {}
    for key in METRIC_KEYS:
        a, b = point_a[key], point_b[key]
        deltas = boot_a[key] - boot_b[key]
        out[key] = {
            "a": round(a, digits),
            "b": round(b, digits),
            "delta": round(a - b, digits) + 0.0,  # + 0.0: no "-0.0"
            "ci95": [round(v, digits) + 0.0 for v in percentile_interval(deltas)],
            "p": round(_p_value(deltas, a - b), digits),
        }
    return out


def significant(result: dict) -> bool:
    return result["p"] < ALPHA


def compare_runs(
    name_a: str, name_b: str, reports_dir: str | Path = REPORTS_DIR, resamples: int = RESAMPLES, seed: int = SEED
) -> dict[str, dict]:
    runs = [load_run(name_a, reports_dir), load_run(name_b, reports_dir)]
    check_same_sentences(runs)
    return paired_test(runs[0].counts(), runs[1].counts(), resamples, seed)


def render_comparison(name_a: str, name_b: str, result: dict[str, dict], resamples: int = RESAMPLES) -> str:
    """A Markdown table of :func:`compare_runs`' result."""
    lines = [
        f"A = {name_a}, B = {name_b}: paired bootstrap over sentences ({resamples} resamples), delta = A - B",
        "",
        "| metric | A | B | delta | 95% interval of delta | p | significant (p < 0.05) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in result.items():
        lines.append(
            f"| {key} | {r['a']:.4f} | {r['b']:.4f} | {r['delta']:+.4f} | {r['ci95'][0]:+.4f} – {r['ci95'][1]:+.4f} "
            f"| {r['p']:.4f} | {'yes' if significant(r) else 'no'} |"
        )
    return "\n".join(lines) + "\n"


# Paired tests already made in this process, by what they depend on: the two runs' per-sentence counts, the
# resamples and the seed (about 50 ms each on dev): the index written again in one process makes only the new ones.
_PAIRED: dict[tuple[str, str, int, int], dict] = {}


def versus_best(
    names: list[str],
    best: str,
    reports_dir: str | Path = REPORTS_DIR,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    metrics: dict[str, dict] | None = None,
) -> dict[str, dict | str]:
    """Each run of ``names`` against ``best``: the :func:`paired_test` result with A = the run, B = the best run,
    or a one-line reason why it cannot be compared (other sentences, report unreadable). ``metrics``: metrics dicts
    by run name, already read from their metrics.json (each is read once)."""
    metrics = metrics or {}

    def get(name: str) -> RunLines:
        return load_run(name, reports_dir, metrics.get(name))

    try:
        best_run = get(best)
        best_counts = best_run.counts()
    except CompareError as exc:
        return {name: f"not compared: {exc}" for name in names if name != best}
    digest, best_key = best_run.sentences_digest(), best_run.counts_key()
    boot_best = None  # the best run's resampled F1, computed once when a test is not known yet
    out: dict[str, dict | str] = {}
    for name in names:
        if name == best:
            continue
        try:
            run = get(name)
            if not run.labelled or run.split != best_run.split or run.sentences_digest() != digest:
                out[name] = "not compared: other sentences than the best run"
                continue
            key = (run.counts_key(), best_key, resamples, seed)
            if key not in _PAIRED:
                if boot_best is None:
                    boot_best = resampled_f1(best_counts, resample_weights(sentences_in(best_counts), resamples, seed))
                _PAIRED[key] = paired_test(run.counts(), best_counts, resamples, seed, boot_b=boot_best)
            out[name] = _PAIRED[key]
        except CompareError as exc:
            out[name] = f"not compared: {exc}"
    return out


def significance_note(result: dict | str) -> str:
    """``"official macro −0.0123 (p 0.004*)"``-style summary of a :func:`versus_best` entry; * = p < 0.05."""
    if isinstance(result, str):
        return result
    return ", ".join(
        f"{SCORE[key].short} {r['delta']:+.4f} (p {r['p']:.3f}{'*' if significant(r) else ''})"
        for key, r in result.items()
    )


BEST = "best run"


def significance_vs_best(runs: list[dict], reports_dir: str | Path = REPORTS_DIR) -> dict[str, str]:
    """For every labelled run (``metrics.json`` dicts), per split: ``"best run"`` for the run with the best official
    macro F1 of its split, else :func:`significance_note` of its paired test against that run."""
    by_split: dict[str, list[dict]] = {}
    for run in runs:
        if run.get("official") is not None:
            by_split.setdefault(run["split"], []).append(run)
    notes: dict[str, str] = {}
    for split_runs in by_split.values():
        # a partial run (eval/partial.py) is the best run only of a split that has no complete run
        best = max(split_runs, key=lambda r: (not is_partial(r), r["official"]["macro_f1"], r["name"]))
        notes[best["name"]] = BEST
        others = versus_best(
            [r["name"] for r in split_runs],
            best["name"],
            reports_dir,
            metrics={r["name"]: r for r in split_runs},
        )
        notes.update({name: significance_note(result) for name, result in others.items()})
        if not is_partial(best):  # a partial run has other sentences than a complete best run: say which
            notes.update({r["name"]: f"not compared: {note(r)}" for r in split_runs if is_partial(r)})
    return notes


SIGNIFICANCE_LEGEND = (
    "Against the best run of the split (best official macro F1): this run − best on official macro / micro and span "
    "micro F1, two-sided paired bootstrap p-value over the same resampled sentences (1000 resamples); "
    "`*` = significant at p < 0.05. It covers sentence sampling, not training randomness."
)
