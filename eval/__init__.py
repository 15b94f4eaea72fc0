"""Model output -> entities -> scores -> reports, for CLUENER2020. It reads data through :mod:`cluener` and never
downloads, talks to servers or builds datasets.

Modules, one job each:

- ``predictions`` read LLaMA-Factory ``generated_predictions.jsonl`` and check it lines up with its gold split
- ``align``       map entity strings back to character spans
- ``counting``    the one counting core: each metric family counts every sentence once, into an integer array
                  (sentence x ... x type); point scores, bootstrap resamples and paired tests are sums of it
- ``metrics``     the metric families, registered once (``FAMILIES``): official (string sets), span, semeval; and the
                  score names every table reads (``SCORES``, ``HEADLINE``)
- ``semeval``     the SemEval-2013 span schemes of nervaluate (strict, exact, partial, ent_type)
- ``bootstrap``   95% sentence-bootstrap intervals of the headline scores (``compare``: paired tests of two runs)
- ``scoring``     one run: parse, align, every metric family, parse statistics, error analysis
- ``runs``        score a predictions file into reports/<run>/, find the runs under saves/, a submission file
- ``quoting``     how much untrusted text (model output) a report or an error line quotes, and saying it was cut
- ``report/``     report.md (sections, tables), metrics.json, the per-class F1 chart, reports/README.md
                  (``baselines.json``: the published figures)
- ``__main__``    ``python -m eval score | report | compare | ensemble | submit`` (argument parsing, exit codes)

A new metric family is one module with a ``counting.Family`` (how it counts a sentence, its formula, its
``metrics.json`` section, its score fields and report tables; ``semeval`` is the example) and its line in
``metrics.FAMILIES``; scoring, metrics.json, report.md, refreshed reports, and (for a headline score) the intervals,
paired tests, seed groups and the sweep summary pick it up from there; ``python -m eval report --refresh`` adds its
section to the reports written before it (from their ``details.jsonl``). A new report section is a function in
``report/sections.py``.
"""
