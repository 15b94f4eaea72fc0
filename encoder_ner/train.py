"""Train a character tagger (BERT / BiLSTM / CRF) on CLUENER2020 and write predictions the eval package scores.

    python -m encoder_ner.train CONFIG [key=value ...] [--test]

CONFIG is a ``yaml_configs/encoder/*.yaml`` file (keys: :class:`encoder_ner.config.EncoderConfig`); ``key=value``
overrides a key. The run is named after the config file (``saves/<name>/``), as the LLM recipes are:

1. train on the project's ``train`` split (official train minus the 500 ``val`` sentences, from data/manifest.json
   as ``make data`` wrote it -- the same sentences the LLM recipes train on) with ``transformers.Trainer``;
2. after every epoch, Viterbi-decode ``val`` and score span micro F1 (:func:`eval.metrics.score_spans`); keep the
   best epoch (``load_best_model_at_end``);
3. save it (``saves/<name>/model.safetensors``, ``encoder_ner_config.json``, tokenizer or ``vocab.txt``) and
   predict each of ``predict_splits`` (default dev; ``--test`` adds test) into
   ``saves/<name>/predict_<split>/generated_predictions.jsonl``, which ``python -m eval report`` scores as run
   ``<name>-<split>`` beside the LLM runs;
4. write ``saves/<name>/train_summary.json``: the command, wall times, threads, per-epoch val F1.

Nested gold spans (one sentence in train: line 1507) cannot be tagged in BIO; the spans left out are printed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import torch

from cluener.files import atomic_write_json
from cluener.reader import Example
from cluener.splits import load_split
from doctor.trackers import tracker_problems
from eval.metrics import score_spans
from provenance.run_record import git_state, hardware, versions

from .config import CONFIG_FILE, ConfigError, EncoderConfig, keys_help, load_config
from .data import IGNORE, CharVocab, Collator, Encoding, TooLongError, bert_encoding, char_encoding, encode_examples
from .model import CrfTagger, build_model
from .predict import write_predictions
from .tags import entities_from_tags, ids_to_tags

METRIC = "span_micro_f1"


def make_compute_metrics(examples: list[Example], features: list[dict]):
    """Trainer ``compute_metrics``: Viterbi tags of ``examples`` (in order) -> span micro / macro F1 on the gold
    entities. The evaluation order is checked against the features' labels (a reordering sampler would pair each
    prediction with another sentence's gold)."""

    def compute(eval_pred) -> dict[str, float]:
        tags = eval_pred.predictions
        tags = tags[0] if isinstance(tags, tuple) else tags
        if len(tags) != len(examples):
            raise ValueError(f"{len(tags)} predictions for {len(examples)} validation sentences")
        for feature, row in zip(features, eval_pred.label_ids, strict=True):
            if list(row[: len(feature["labels"])]) != feature["labels"]:
                raise RuntimeError("the evaluation batches are not in dataset order; compute_metrics needs them so")
        predicted = [
            entities_from_tags(ids_to_tags(int(t) for t in row[: len(ex.text)] if t != IGNORE))
            for ex, row in zip(examples, tags, strict=True)
        ]
        scores = score_spans([ex.entities for ex in examples], predicted)
        return {METRIC: scores.micro_f1, "span_macro_f1": scores.macro_f1}

    return compute


def make_trainer_class():
    from transformers import Trainer

    class CrfTrainer(Trainer):
        """AdamW with two learning rates: the pretrained encoder at ``learning_rate``, the head (BiLSTM, linear,
        CRF) at ``head_learning_rate``; no weight decay on biases, LayerNorm and the CRF."""

        head_learning_rate: float | None = None

        def _get_eval_sampler(self, eval_dataset):
            # Always in order (Trainer groups evaluation batches by length too when training does): the val F1 is
            # computed against the gold sentences in dataset order.
            return torch.utils.data.SequentialSampler(eval_dataset)

        def create_optimizer(self, model=None):
            if self.optimizer is not None:
                return self.optimizer
            model = self.model if model is None else model
            lr, wd = self.args.learning_rate, self.args.weight_decay
            head_lr = self.head_learning_rate or lr
            groups: dict[tuple[float, float], list] = {}
            for name, param in model.named_parameters():
                if not param.requires_grad:
                    continue
                is_head = not name.startswith("encoder.")
                no_decay = name.startswith("crf.") or name.endswith("bias") or "LayerNorm" in name or "norm" in name
                key = (head_lr if is_head else lr, 0.0 if no_decay else wd)
                groups.setdefault(key, []).append(param)
            self.optimizer = torch.optim.AdamW(
                [{"params": ps, "lr": g_lr, "weight_decay": g_wd} for (g_lr, g_wd), ps in groups.items()],
                lr=lr,
                betas=(self.args.adam_beta1, self.args.adam_beta2),
                eps=self.args.adam_epsilon,
            )
            return self.optimizer

    return CrfTrainer


def make_time_budget_callback(minutes: float):
    """Stop training after the epoch past which one more epoch (at the mean epoch time so far) would not fit."""
    from transformers import TrainerCallback

    class TimeBudget(TrainerCallback):
        def __init__(self):
            self.started = time.perf_counter()
            self.stopped_early = False

        def on_epoch_end(self, args, state, control, **kwargs):
            elapsed = time.perf_counter() - self.started
            done = max(round(state.epoch or 0), 1)
            if elapsed + elapsed / done > 60 * minutes and state.epoch < args.num_train_epochs - 1e-6:
                control.should_training_stop = True
                self.stopped_early = True
                print(f"time budget: stopping after epoch {state.epoch:g} ({elapsed / 60:.1f} of {minutes:g} min)")
            return control

    return TimeBudget()


def prepare(cfg: EncoderConfig, train: list[Example]) -> tuple[Encoding, torch.nn.Module | None, dict | None]:
    """Encoding, pretrained encoder (None for the BiLSTM-CRF) and the encoder's config dict."""
    if cfg.kind == "bilstm":
        return char_encoding(CharVocab.build(ex.text for ex in train)), None, None
    from transformers import BertModel

    encoding = bert_encoding(cfg.model_name_or_path)
    encoder = BertModel.from_pretrained(cfg.model_name_or_path, add_pooling_layer=False)
    return encoding, encoder, encoder.config.to_dict()


def training_arguments(cfg: EncoderConfig):
    from transformers import TrainingArguments

    return TrainingArguments(
        **cfg.trainer_values(),  # output_dir, batch sizes, learning_rate, epochs, seed, report_to, ...
        lr_scheduler_type="linear",
        eval_strategy="epoch",
        save_strategy="epoch",
        save_only_model=True,
        load_best_model_at_end=True,
        metric_for_best_model=METRIC,
        greater_is_better=True,
        remove_unused_columns=False,
        disable_tqdm=True,
    )


def run(cfg: EncoderConfig, command: str) -> dict:
    started = time.perf_counter()
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    from transformers import set_seed

    set_seed(cfg.seed)
    train, val = load_split("train", cfg.data_dir), load_split("val", cfg.data_dir)
    if cfg.max_train_samples:
        train = train[: cfg.max_train_samples]
    if cfg.max_eval_samples:
        val = val[: cfg.max_eval_samples]
    encoding, encoder, bert_config = prepare(cfg, train)
    model: CrfTagger = build_model(cfg, encoding, encoder)
    train_features, dropped = encode_examples(train, encoding.encode, cfg.max_length, encoding.special_tokens, True)
    val_features, val_dropped = encode_examples(val, encoding.encode, cfg.max_length, encoding.special_tokens, True)
    for ex, ents in dropped + val_dropped:
        spans = ", ".join(f"{e.label} {ex.text[e.start:e.end]} [{e.start},{e.end})" for e in ents)
        print(f"note: train.json line {ex.line}: nested gold span(s) not taggable in BIO, not trained on: {spans}")
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"{cfg.name}: {cfg.kind}{' + BiLSTM' if cfg.use_lstm else ''} + CRF, {parameters:,} parameters; "
        f"train {len(train)} / val {len(val)} sentences; torch threads {torch.get_num_threads()}"
    )

    trainer_cls = make_trainer_class()
    trainer_cls.head_learning_rate = cfg.head_learning_rate
    trainer = trainer_cls(
        model=model,
        args=training_arguments(cfg),
        train_dataset=train_features,
        eval_dataset=val_features,
        data_collator=Collator(encoding.pad_id),
        compute_metrics=make_compute_metrics(val, val_features),
    )
    budget = make_time_budget_callback(cfg.max_train_minutes) if cfg.max_train_minutes else None
    if budget:
        trainer.add_callback(budget)
    train_started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - train_started

    out = Path(cfg.output_dir)
    trainer.save_model(str(out))  # the best epoch (load_best_model_at_end)
    encoding.save(out)
    atomic_write_json(out / CONFIG_FILE, {"config": cfg.as_dict(), "bert_config": bert_config})
    epochs = [
        {"epoch": h["epoch"], METRIC: h[f"eval_{METRIC}"], "span_macro_f1": h["eval_span_macro_f1"],
         "loss": h.get("eval_loss")}
        for h in trainer.state.log_history if f"eval_{METRIC}" in h
    ]  # fmt: skip
    best = max(epochs, key=lambda e: e[METRIC]) if epochs else None
    predictions = {split: str(write_predictions(model, encoding, cfg, split)) for split in cfg.predict_splits}
    summary = {
        "name": cfg.name,
        "command": command,
        "config": cfg.as_dict(),
        "parameters": parameters,
        "torch_threads": torch.get_num_threads(),
        "device": str(next(model.parameters()).device),
        "cpu_count": os.cpu_count(),
        "git": git_state(),  # for the run card of the report (eval/run_card.py)
        "versions": versions(),
        "hardware": hardware(),
        "train_sentences": len(train),
        "val_sentences": len(val),
        "nested_spans_left_out": [
            {"line": ex.line, "spans": [list(e) for e in ents]} for ex, ents in dropped + val_dropped
        ],
        "steps": trainer.state.global_step,
        "stopped_by_time_budget": bool(budget and budget.stopped_early),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "val_by_epoch": epochs,
        "best_epoch": best,
        "predictions": predictions,
    }
    atomic_write_json(out / "train_summary.json", summary)
    if best:
        print(
            f"best epoch {best['epoch']:g}: val span micro F1 {best[METRIC]:.4f}; training {train_seconds / 60:.1f} "
            f"min, {trainer.state.global_step} steps; summary in {out / 'train_summary.json'}"
        )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m encoder_ner.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=keys_help(),
    )
    parser.add_argument("config", help="yaml_configs/encoder/<name>.yaml")
    parser.add_argument("overrides", nargs="*", help="key=value (any config key)")
    parser.add_argument("--test", action="store_true", help="also predict the test split (leaderboard file)")
    args = parser.parse_args(argv)
    argv_used = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "-m", "encoder_ner.train", *argv_used])
    try:
        cfg = load_config(args.config, args.overrides)
        if args.test and "test" not in cfg.predict_splits:
            cfg.predict_splits = [*cfg.predict_splits, "test"]
        for problem in tracker_problems(cfg.report_to):  # before any model loads (TRACKER=, report_to=)
            raise ConfigError(problem)
        run(cfg, command)
    except (ConfigError, FileNotFoundError, TooLongError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
