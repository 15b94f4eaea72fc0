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
- ``split_match`` the split of a predictions file that names none: the one whose sentences its prompts hold
- ``partial``     a run of fewer lines than its split: scored on the sentences it covers, and said so everywhere
- ``quoting``     how much untrusted text (model output) a report or an error line quotes, and saying it was cut
- ``run_card``    how a scored run was made, read from what its training left beside its predictions
- ``run_logs``    a run's tracker logs (its TensorBoard event folders), linked from the run card
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

A new metric family is one module with a ``counting.Family`` (how it counts a sentence, its formula, its
``metrics.json`` section, its score fields and report tables; ``semeval`` is the example) and its line in
``metrics.FAMILIES``; scoring, metrics.json, report.md, refreshed reports, and (for a headline score) the intervals,
paired tests, seed groups and the sweep summary pick it up from there; ``python -m eval report --refresh`` adds its
section to the reports written before it (from their ``details.jsonl``). A new report section is a function in
``report/sections.py``.
"""
