"""Predict with a trained tagger and write the predictions file the eval package reads.

``python -m encoder_ner.predict saves/<RUN> --split test`` (or dev / val / train) loads what
``python -m encoder_ner.train`` saved in ``saves/<RUN>/`` and writes
``saves/<RUN>/predict_<SPLIT>/generated_predictions.jsonl``: one line per sentence, in split order,

    {"prompt": TEXT, "predict": TARGET, "label": GOLD_TARGET, "spans": {TYPE: {STRING: [[start, end], ...]}}}

``predict`` / ``label`` are the project's target strings (:func:`cluener.target.render_target`), so every reader of
LLM predictions reads these too; ``spans`` (CLUENER layout, inclusive ends) are the exact character spans the
tagger found, which ``python -m eval score`` / ``report`` use instead of re-aligning strings. ``prompt`` is the
sentence itself (the eval package checks that each prompt contains its gold sentence).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import torch
from safetensors.torch import load_file

from cluener.files import atomic_write_jsonl
from cluener.layout import SPLITS, predictions_file
from cluener.reader import Entity, Example, entities_to_label_dict
from cluener.splits import load_split
from cluener.target import render_target

from .config import CONFIG_FILE, EncoderConfig
from .data import CharVocab, Collator, Encoding, bert_encoding, char_encoding, encode_examples
from .model import CrfTagger, build_model
from .tags import entities_from_tags, ids_to_tags

WEIGHTS_FILE = "model.safetensors"  # what transformers.Trainer saves


def load_trained(run_dir: str | Path, device: str | None = None) -> tuple[CrfTagger, Encoding, EncoderConfig]:
    """The model ``python -m encoder_ner.train`` saved (its best epoch), with its encoding and configuration."""
    run_dir = Path(run_dir)
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; train first (python -m encoder_ner.train CONFIG)")
    saved = json.loads(path.read_text(encoding="utf-8"))
    cfg = EncoderConfig.from_dict(saved["config"], name=saved["config"]["name"])
    if cfg.kind == "bert":
        from transformers import BertConfig, BertModel

        encoding = bert_encoding(str(run_dir))
        encoder = BertModel(BertConfig(**saved["bert_config"]), add_pooling_layer=False)
    else:
        encoding, encoder = char_encoding(CharVocab.load(run_dir)), None
    model = build_model(cfg, encoding, encoder)
    model.load_state_dict(load_file(str(run_dir / WEIGHTS_FILE)))
    model.to(device or ("cuda" if torch.cuda.is_available() and not cfg.use_cpu else "cpu"))
    return model, encoding, cfg


@torch.no_grad()
def predict_entities(
    model: CrfTagger, encoding: Encoding, examples: Sequence[Example], max_length: int, batch_size: int = 128
) -> list[list[Entity]]:
    """Viterbi spans for each sentence, in order."""
    features, _ = encode_examples(examples, encoding.encode, max_length, encoding.special_tokens, with_labels=False)
    collate = Collator(encoding.pad_id)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[list[Entity]] = []
    try:
        for start in range(0, len(features), batch_size):
            batch = {k: v.to(device) for k, v in collate(features[start : start + batch_size]).items()}
            tags = model(**batch)["tags"].cpu().tolist()
            for ex, row in zip(examples[start : start + batch_size], tags, strict=True):
                out.append(entities_from_tags(ids_to_tags(row[: len(ex.text)])))
    finally:
        model.train(was_training)
    return out


def prediction_rows(examples: Sequence[Example], predicted: Sequence[Sequence[Entity]]) -> list[dict]:
    rows = []
    for ex, entities in zip(examples, predicted, strict=True):
        rows.append(
            {
                "prompt": ex.text,
                "predict": render_target(ex.text, entities),
                "label": render_target(ex.text, ex.entities) if ex.labelled else "",
                "spans": entities_to_label_dict(ex.text, entities),
            }
        )
    return rows


def write_predictions(
    model: CrfTagger, encoding: Encoding, cfg: EncoderConfig, split: str, out_dir: str | Path | None = None
) -> Path:
    examples = load_split(split, cfg.data_dir)
    started = time.perf_counter()
    predicted = predict_entities(model, encoding, examples, cfg.max_length, cfg.per_device_eval_batch_size)
    path = predictions_file(out_dir or cfg.output_dir, split)
    atomic_write_jsonl(path, prediction_rows(examples, predicted))
    spans = sum(len(e) for e in predicted)
    print(f"wrote {path}: {len(examples)} sentences, {spans} spans ({time.perf_counter() - started:.1f} s)")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m encoder_ner.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("run_dir", help="what python -m encoder_ner.train saved, e.g. saves/bilstm_crf_cpu")
    parser.add_argument("--split", action="append", choices=SPLITS, help="dev / val / test / train (repeatable)")
    parser.add_argument("--data-dir", help="where `make data` wrote manifest.json (default: the run's)")
    parser.add_argument("--device", help="cpu / cuda (default: cuda when available)")
    args = parser.parse_args(argv)
    try:
        model, encoding, cfg = load_trained(args.run_dir, args.device)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.data_dir:
        cfg.data_dir = args.data_dir
    for split in args.split or ["dev"]:
        write_predictions(model, encoding, cfg, split, args.run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
