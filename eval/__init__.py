"""Model output -> entities -> scores -> reports, for CLUENER2020. It reads data through :mod:`cluener` and never
downloads, talks to servers or builds datasets.

Modules, one job each:

- ``predictions`` read LLaMA-Factory ``generated_predictions.jsonl`` and check it lines up with its gold split
- ``align``       map entity strings back to character spans
- ``metrics``     the official (string sets) and span metrics
- ``scoring``     one run: parse, align, both metrics, parse statistics, error analysis
- ``bootstrap``   sentence bootstrap: the 95% intervals of a run, the resampled F1 of the paired tests
- ``partial``     a run of fewer lines than its split: scored on the sentences it covers, and said so everywhere
- ``quoting``     how much untrusted text (model output) a report or an error line quotes, and saying it was cut
- ``run_record``  ``python -m eval.run_record``: how a training run was started (``run_command.json``, by make train)
- ``run_card``    how a scored run was made, read from what its training left beside its predictions
- ``runs``        score a predictions file into reports/<run>/, find the runs under saves/ and score those without an
                  up-to-date report (the run pass of ``make report``), a submission file
- ``compare``     the paired bootstrap of two runs, and of every run against the best run of its split
- ``ensemble``    the per-sentence vote of scored runs, scored as a run of its own
- ``run_groups``  runs grouped by recipe and configuration (mean ± sd over seeds), and select-on-val
- ``report/``     report.md (sections, tables), metrics.json and the per-class F1 chart of one run, from that run
                  alone; reports/README.md, the index of every run with the significance against the best
                  (``baselines.json``: the published figures)
- ``process``     how a command stops (stop signals) and writes to a closed stdout
- ``__main__``    ``python -m eval score | index | report | compare | ensemble | submit`` (argument parsing, exit
                  codes)

A new metric goes into ``metrics`` (and its field into ``metrics.json`` through ``scoring.Run``); a new report
section is a function in ``report/sections.py``.
"""
