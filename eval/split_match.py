"""Which split a predictions file belongs to, read from its lines, for files that name none: LLaMA Board's
Evaluate & Predict runs (``saves/<model>/<method>/<run>/``), ``scripts/vllm_infer.py``'s output, any
``generated_predictions.jsonl`` passed by path.

Every line of such a file holds its prompt (LLaMA-Factory decodes the model input into ``prompt``; a CLUENER-format
line has its ``text``), and the prompt holds the sentence. The file belongs to split S when line i's prompt holds
sentence i of S for every line, compared as :func:`eval.predictions.check_alignment` compares them (NFKC, no
whitespace); a file shorter than S (``max_samples``, a run stopped early) matches S's first sentences, and is then
scored as partial. Exactly one split must match: none or several is one line that says to give the split.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

from cluener.layout import SPLITS
from cluener.splits import Gold

from .predictions import Prediction, normalise
from .quoting import quote_repr


class SplitUnknown(ValueError):
    """A predictions file whose split cannot be told from its lines (names the file and what to do)."""


GIVE_IT = "give the split: make report PRED=<file> SPLIT=<split>, or python -m eval score <file> --split <split>"


def _holds(predictions: Sequence[Prediction], gold: Gold) -> bool:
    examples = gold.examples
    if len(predictions) > len(examples):
        return False
    return all(normalise(ex.text) in normalise(p.prompt) for p, ex in zip(predictions, examples))


def match_split(
    predictions: Sequence[Prediction], load_gold: Callable[[str], Gold], path: str | os.PathLike, splits=SPLITS
) -> str:
    """The one split of ``splits`` (each loaded by ``load_gold``) whose sentences the predictions hold in order;
    else :class:`SplitUnknown`."""
    if not predictions:
        raise SplitUnknown(f"{path}: no predictions (the file is empty); nothing to score")
    unprompted = [p for p in predictions if not p.prompt]
    if unprompted:
        raise SplitUnknown(f"{path}:{unprompted[0].line}: no prompt to tell the split by; {GIVE_IT}")
    first = normalise(predictions[0].prompt)
    candidates = []
    for split in splits:
        gold = load_gold(split)
        if gold.examples and normalise(gold.examples[0].text) in first and _holds(predictions, gold):
            candidates.append(split)
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise SplitUnknown(f"{path}: its {len(predictions)} prompts hold the first sentences of each of "
                           f"{', '.join(candidates)}; {GIVE_IT}")  # fmt: skip
    raise SplitUnknown(
        f"{path}: its prompts are not the sentences of any split ({', '.join(splits)}) in order (line 1: "
        f"{quote_repr(predictions[0].prompt[-80:])}): another data set, another order, or data/ rebuilt since; {GIVE_IT}"
    )
