"""The data build, ``make data``: the official CLUENER2020 release -> alpaca files registered for LLaMA-Factory.

It reads and writes through the shared vocabulary of :mod:`cluener` (names and paths, files, reader, prompts,
target) and imports no scoring, inference or training package. Modules, one job each:

- ``download``  locate or download the official release, verified against its pinned sha256 (``python -m
                dataprep.download --url MIRROR`` fetches it from a mirror)
- ``publish``   publish the files all-or-nothing (one symlink switch) and register them in dataset_info.json
- ``build``     ``make data``: split train / val (seeded), write the alpaca files of every prompt variant, publish,
                then check the round trip gold -> target -> parse
"""
