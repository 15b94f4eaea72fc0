"""CLUENER2020 for fine-tuned LLMs: data preparation, target format, parsing, alignment and scoring.

Modules, one job each:

- ``labels``      the 10 entity types and their Chinese names
- ``files``       atomic writes and hashing
- ``cluener``     read and validate raw CLUENER files (``Entity``, ``Example``)
- ``target``      render the model's target string and parse model output back (untrusted text)
- ``align``       map entity strings back to character spans
- ``prompts``     the instructions (default and guided)
- ``build_data``  ``make data``: split, write alpaca files, register them in dataset_info.json
- ``predictions`` read LLaMA-Factory ``generated_predictions.jsonl`` and check it lines up with its gold split
- ``scoring``     one run: parse, align, both metrics, parse statistics, error analysis
- ``report``      report.md, metrics.json, the per-class F1 chart, comparisons (``baselines.json``), reports/README.md
- ``__main__``    ``python -m eval score | report | submit``
"""
