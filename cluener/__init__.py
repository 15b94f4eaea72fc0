"""The shared vocabulary of the CLUENER2020 format: what every package of this repository reads and names things
with (the data build, inference, scoring, the encoder baselines, the doctor). It builds nothing, scores nothing and
talks to no server; it imports no other package of the repository.

Modules, one job each:

- ``layout``       names and paths: splits, dataset names, data files, predictions and report folders, run names,
                   recipe files (``python -m cluener.layout ...`` answers the Makefile)
- ``labels``       the 10 entity types and their Chinese names
- ``files``        atomic writes, hashing, numbered lines
- ``reader``       read and validate raw CLUENER files (``Entity``, ``Example``) with ``file:line`` errors
- ``release``      the official release: the pinned sha256 of its files, which split a file is, a verified folder
- ``splits``       the project's splits and where their gold lives (``Gold``, ``load_split``, ``data/manifest.json``)
- ``prompts``      the instructions (default and guided) and the user turn a model sees (``build_prompt``)
- ``target``       the target format: render it from gold, parse it back from (untrusted) model output
- ``lenient_json`` the forgiving JSON reader the target parser uses
- ``yaml_files``   the one reader of recipes, configs and ``key=value`` overrides

A new prompt variant is one entry in ``prompts.PROMPTS``; ``make data`` (:mod:`dataprep`) writes and registers its
datasets.
"""
