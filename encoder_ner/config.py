"""The run configuration: a YAML file (``yaml_configs/encoder/*.yaml``) plus ``key=value`` overrides.

Every key is a field of :class:`EncoderConfig`, parsed by transformers' ``HfArgumentParser`` (as ``run_ner.py``
parses its argument dataclasses): an unknown key is an error (a typo must not be ignored), a value of the wrong type
too, and ``python -m encoder_ner.train --help`` lists every key with its type, default and meaning (:func:`keys_help`).
The file and the overrides are read as LLaMA-Factory reads recipes (OmegaConf, :mod:`cluener.yaml_files`), so
``use_lstm=true``, ``learning_rate=5e-5`` and ``predict_splits=[dev,test]`` work.

>>> cfg = EncoderConfig.from_dict({"model_name_or_path": "bert-base-chinese", "use_lstm": True}, name="x")
>>> cfg.output_dir, cfg.kind
('saves/x', 'bert')
>>> values = apply_overrides({"use_lstm": True}, ["num_train_epochs=5", "learning_rate=5e-5"])
>>> cfg = EncoderConfig.from_dict(values, name="x")
>>> cfg.num_train_epochs, cfg.learning_rate
(5, 5e-05)
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from transformers import HfArgumentParser

from cluener.layout import DATA_DIR, SAVES_DIR, SPLITS
from cluener.yaml_files import apply_overrides, read_mapping

CONFIG_FILE = "encoder_ner_config.json"  # a trained run's configuration, beside its weights


class ConfigError(ValueError):
    pass


TRAINER = "as in transformers' TrainingArguments"


def key(default: Any = None, help: str = TRAINER, factory: Any = None) -> Any:
    """A config key: its default and the line ``--help`` shows for it. A key named as one of transformers'
    ``TrainingArguments`` is passed on to it under that name (:meth:`EncoderConfig.trainer_values`)."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class EncoderConfig:
    name: str = key("", "run name (default: the config file's basename); outputs go to saves/<name>/")
    # model
    model_name_or_path: str | None = key(None, "a BERT checkpoint (hub id or folder, loaded with BertModel / "
                                         "BertTokenizerFast), or null: the BiLSTM-CRF with a random character "
                                         "embedding (vocabulary: the train split's characters)")  # fmt: skip
    embedding_size: int = key(128, "character embedding size (model_name_or_path: null only)")
    use_lstm: bool = key(False, "a BiLSTM between the encoder and the CRF")
    lstm_hidden_size: int = key(384, "BiLSTM hidden size, per direction")
    lstm_layers: int = key(1, "BiLSTM layers")
    lstm_dropout: float = key(0.5, "dropout on the BiLSTM output")
    dropout: float = key(0.1, "dropout on the encoder output")
    max_length: int = key(52, "tokens: 50 characters + [CLS] + [SEP]; a longer sentence is an error, never cut")
    # optimisation: AdamW, linear decay after warm-up
    learning_rate: float = key(3e-5, "the encoder's learning rate (AdamW, linear decay after warm-up)")
    head_learning_rate: float | None = key(1e-3, "the rest's (BiLSTM, linear, CRF); null: learning_rate")
    weight_decay: float = key(0.01)
    warmup_ratio: float = key(0.1)
    max_grad_norm: float = key(1.0)
    num_train_epochs: float = key(4)
    max_steps: int = key(-1)
    per_device_train_batch_size: int = key(32)
    gradient_accumulation_steps: int = key(1)
    per_device_eval_batch_size: int = key(128)
    group_by_length: bool = key(False, "batches of similar length (less padding: faster on CPU)")
    bf16: bool = key(False)
    seed: int = key(42)
    num_threads: int | None = key(None, "torch.set_num_threads (CPU runs)")
    max_train_minutes: float | None = key(None, "minutes: stop after the epoch past which the next one would end later")
    use_cpu: bool = key(False)
    logging_steps: int = key(50)
    report_to: str = key("tensorboard", "the HF Trainer's tracker (doctor/trackers.py; make TRACKER=): event files in <output_dir>/runs/")
    dataloader_num_workers: int = key(0)
    # data: `make data`'s manifest; train on `train`, pick the best epoch on `val` (span micro F1), predict
    data_dir: str = key(DATA_DIR, "the folder of `make data` (its manifest.json names the gold)")
    predict_splits: list[str] = key(help=f"splits to predict after training ({', '.join(SPLITS)})",
                                    factory=lambda: ["dev"])  # fmt: skip
    max_train_samples: int | None = key(None, "the first N train sentences only (quick checks and tests)")
    max_eval_samples: int | None = key(None, "the first N val sentences only")
    output_dir: str | None = key(None, "default: saves/<name>")
    save_total_limit: int = key(1)

    @property
    def kind(self) -> str:
        return "bilstm" if self.model_name_or_path is None else "bert"

    @classmethod
    def from_dict(cls, values: dict[str, Any], name: str) -> EncoderConfig:
        parser = HfArgumentParser(cls)
        values = {"name": name, **values}
        for action in parser._actions:  # each key's own argparse type: a value of the wrong type is one line
            value = values.get(action.dest)
            if isinstance(value, str) and action.type not in (None, str) and action.nargs != "+":
                try:
                    values[action.dest] = action.type(value)
                except (TypeError, ValueError, argparse.ArgumentTypeError):
                    raise ConfigError(f"{action.dest}: {value!r} is not {_kind(action)}") from None
        if isinstance(values.get("predict_splits"), str):
            values["predict_splits"] = [values["predict_splits"]]
        try:
            (cfg,) = parser.parse_dict(values, allow_extra_keys=False)
        except ValueError as exc:  # "Some keys are not used by the HfArgumentParser: [...]"
            unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
            raise ConfigError(f"unknown key(s) {', '.join(unknown) or exc} (python -m encoder_ner.train --help lists "
                              "them)") from None  # fmt: skip
        if cfg.output_dir is None:
            cfg.output_dir = f"{SAVES_DIR}/{cfg.name}"
        bad = [s for s in cfg.predict_splits if s not in SPLITS]
        if bad:
            raise ConfigError(f"predict_splits: unknown split(s) {bad} (expected {', '.join(SPLITS)})")
        if cfg.kind == "bilstm" and not cfg.use_lstm:
            raise ConfigError("model_name_or_path: null (character embedding) needs use_lstm: true")
        return cfg

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def trainer_values(self) -> dict[str, Any]:
        """The keys named as ``TrainingArguments``' own fields, by name: what the Trainer is given as it is.

        >>> values = EncoderConfig.from_dict({"model_name_or_path": "m"}, name="x").trainer_values()
        >>> values["output_dir"], values["learning_rate"], values["report_to"], "use_lstm" in values
        ('saves/x', 3e-05, 'tensorboard', False)
        """
        from transformers import TrainingArguments

        theirs = {f.name for f in dataclasses.fields(TrainingArguments)}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name in theirs}


def keys_help() -> str:
    """Every key with its type, default and meaning, from ``HfArgumentParser`` (``--help`` shows it)."""
    lines = ["config keys (in the YAML file, or key=value after it):"]
    for action in HfArgumentParser(EncoderConfig)._actions:
        if action.dest == "help":
            continue
        lines.append(f"  {action.dest} ({_kind(action)}, default {action.default!r}): {action.help}")
    return "\n".join(lines)


def _kind(action: argparse.Action) -> str:
    """A key's type in words: bool, int, float, str, or a list of one of them."""
    kind = "bool" if action.nargs == "?" else getattr(action.type, "__name__", "str")
    return f"a list of {kind}" if action.nargs == "+" else kind


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> EncoderConfig:
    values = read_mapping(path, error=ConfigError)
    return EncoderConfig.from_dict(apply_overrides(values, overrides, error=ConfigError),
                                   name=values.get("name") or Path(path).stem)  # fmt: skip
