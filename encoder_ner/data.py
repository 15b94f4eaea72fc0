"""One token per character: the encodings the taggers read (:class:`Encoding`), and the batch collator.

CLUENER sentences are at most 50 characters, so a sentence is encoded character by character, never through a
subword tokenizer: character ``i`` is token ``i`` (``i + 1`` behind BERT's ``[CLS]``), so the tags and the decoded
spans are character offsets with nothing to re-align. A character missing from the vocabulary becomes ``[UNK]``
(it still gets its own tag). For BERT vocabularies with ``do_lower_case`` (bert-base-chinese, hfl/*), a character
missing as is is looked up lower-cased first, as BERT's own tokenizer would.

>>> vocab = CharVocab.build(["叶老桂", "老张"])
>>> vocab.encode("叶老X")
[2, 3, 1]
>>> vocab.tokens[:2]
['[PAD]', '[UNK]']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch

from cluener.reader import Example

from .tags import TAG_TO_ID, tags_from_entities

PAD, UNK, CLS, SEP = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
IGNORE = -100  # label padding (and what Trainer pads predictions with)
VOCAB_FILE = "vocab.txt"


class TooLongError(ValueError):
    """A sentence longer than the model's max_length: it would lose characters, so it is refused."""


@dataclass
class CharVocab:
    """Character vocabulary of the BiLSTM-CRF: ``[PAD]`` 0, ``[UNK]`` 1, then the train characters by first use."""

    tokens: list[str]

    def __post_init__(self) -> None:
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: Iterable[str]) -> CharVocab:
        seen: dict[str, None] = {}
        for text in texts:
            seen.update(dict.fromkeys(text))
        return cls([PAD, UNK, *seen])

    @classmethod
    def load(cls, directory: str | Path) -> CharVocab:
        return cls((Path(directory) / VOCAB_FILE).read_text(encoding="utf-8").split("\n")[:-1])

    def save(self, directory: str | Path) -> Path:
        if any("\n" in tok for tok in self.tokens):
            raise ValueError("a newline cannot be stored in vocab.txt")
        path = Path(directory) / VOCAB_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{tok}\n" for tok in self.tokens), encoding="utf-8")
        return path

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        unk = self.index[UNK]
        return [self.index.get(ch, unk) for ch in text]


class BertCharEncoder:
    """``[CLS]`` + one vocabulary id per character + ``[SEP]``, from a BERT tokenizer's vocabulary."""

    def __init__(self, tokenizer):
        self.vocab: dict[str, int] = tokenizer.get_vocab()
        self.lower = bool(getattr(tokenizer, "do_lower_case", False) or _lowercases(tokenizer))
        self.unk, self.cls, self.sep = (self.vocab[tok] for tok in (UNK, CLS, SEP))
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.vocab[PAD]

    def char_id(self, ch: str) -> int:
        found = self.vocab.get(ch)
        if found is None and self.lower:
            found = self.vocab.get(ch.lower())
        return self.unk if found is None else found

    def encode(self, text: str) -> list[int]:
        return [self.cls, *(self.char_id(ch) for ch in text), self.sep]


def _lowercases(tokenizer) -> bool:
    """Whether a (fast) BERT tokenizer's normalizer lower-cases (do_lower_case is not exposed on every version)."""
    try:
        return tokenizer("A", add_special_tokens=False).input_ids == tokenizer("a", add_special_tokens=False).input_ids
    except Exception:  # noqa: BLE001 (a tokenizer that cannot say: treat as cased)
        return False


@dataclass(frozen=True)
class Encoding:
    """How sentences become token ids for one model: BERT's vocabulary behind [CLS], or the character vocabulary."""

    encode: Callable[[str], list[int]]
    pad_id: int
    special_tokens: int  # ids around the characters: [CLS] and [SEP] behind BERT, none for the character vocabulary
    vocab_size: int
    save: Callable[[str | Path], object]  # writes what loading it back needs (tokenizer files, or vocab.txt)


def bert_encoding(name_or_path: str) -> Encoding:
    """The tokenizer of a BERT checkpoint (hfl RoBERTa-wwm checkpoints too: they are BERT models)."""
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast.from_pretrained(name_or_path)
    encoder = BertCharEncoder(tokenizer)
    return Encoding(encoder.encode, encoder.pad, 2, len(encoder.vocab), tokenizer.save_pretrained)


def char_encoding(vocab: CharVocab) -> Encoding:
    """The BiLSTM-CRF's character vocabulary.

    >>> enc = char_encoding(CharVocab.build(["叶老桂"]))
    >>> enc.encode("叶X"), enc.pad_id, enc.special_tokens, enc.vocab_size
    ([2, 1], 0, 0, 5)
    """
    return Encoding(vocab.encode, 0, 0, len(vocab), vocab.save)


def encode_examples(
    examples: Sequence[Example], encode, max_length: int, special_tokens: int, with_labels: bool
) -> tuple[list[dict], list[tuple[Example, list]]]:
    """Features for the Trainer, and ``(example, dropped entities)`` for each sentence with nested gold spans."""
    features, dropped_report = [], []
    for ex in examples:
        ids = encode(ex.text)
        if len(ids) > max_length:
            raise TooLongError(
                f"line {ex.line}: {len(ex.text)} characters + {special_tokens} special tokens > max_length "
                f"{max_length}; raise max_length (one token per character, nothing may be cut)"
            )
        if not ex.text:
            raise ValueError(f"line {ex.line}: empty sentence")
        feature = {"input_ids": ids}
        if with_labels:
            tags, dropped = tags_from_entities(len(ex.text), ex.entities)
            if dropped:
                dropped_report.append((ex, dropped))
            feature["labels"] = [TAG_TO_ID[t] for t in tags]
        features.append(feature)
    return features, dropped_report


@dataclass
class Collator:
    """Pads ``input_ids`` (``pad_id``) with an ``attention_mask``, and the character ``labels`` with -100."""

    pad_id: int

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        input_ids = torch.full((len(features), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for i, f in enumerate(features):
            input_ids[i, : len(f["input_ids"])] = torch.tensor(f["input_ids"], dtype=torch.long)
            mask[i, : len(f["input_ids"])] = 1
        batch = {"input_ids": input_ids, "attention_mask": mask}
        if "labels" in features[0]:
            chars = max(len(f["labels"]) for f in features)
            labels = torch.full((len(features), chars), IGNORE, dtype=torch.long)
            for i, f in enumerate(features):
                labels[i, : len(f["labels"])] = torch.tensor(f["labels"], dtype=torch.long)
            batch["labels"] = labels
        return batch
