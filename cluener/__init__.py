"""CLUENER2020 for fine-tuned LLMs: raw CLUENER -> alpaca files (no scoring, no servers).

Modules, one job each:

- ``layout``    names and paths: splits, dataset names, data files, predictions and report folders, run names,
                recipe files (``python -m cluener.layout ...`` answers the Makefile)
- ``labels``    the 10 entity types and their Chinese names
- ``files``     atomic writes, hashing, numbered lines
- ``reader``    read and validate raw CLUENER files (``Entity``, ``Example``) with ``file:line`` errors
- ``download``  locate, download and verify (sha256) the official release
- ``splits``    train / val / dev / test and where their gold lives (``Gold``)
- ``prompts``   the instructions (default and guided) and the user turn a model sees (``build_prompt``)
- ``target``    the target format: render it from gold, parse it back from (untrusted) model output
- ``build``     ``make data``: split, write alpaca files, register them in dataset_info.json

A new prompt variant is one entry in ``prompts.PROMPTS``; ``make data`` writes and registers its datasets.
"""
