"""Model output -> entities -> scores -> reports, for CLUENER2020. It reads data through :mod:`cluener` and never
downloads, talks to servers or builds datasets.

Modules, one job each:

- ``predictions`` read LLaMA-Factory ``generated_predictions.jsonl`` and check it lines up with its gold split
- ``align``       map entity strings back to character spans
- ``metrics``     the official (string sets) and span metrics
- ``scoring``     one run: parse, align, both metrics, parse statistics, error analysis
- ``runs``        score a predictions file into reports/<run>/, find the runs under saves/, a submission file
- ``quoting``     how much untrusted text (model output) a report or an error line quotes, and saying it was cut
- ``report/``     report.md (sections, tables), metrics.json, the per-class F1 chart, reports/README.md
                  (``baselines.json``: the published figures)
- ``__main__``    ``python -m eval score | report | compare | ensemble | submit`` (argument parsing, exit codes)

A new metric goes into ``metrics`` (and its field into ``metrics.json`` through ``scoring.Run``); a new report
section is a function in ``report/sections.py``.
"""
