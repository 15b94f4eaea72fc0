"""The run configuration: a YAML file (``yaml_configs/encoder/*.yaml``) plus ``key=value`` overrides.

Every key is a field of :class:`EncoderConfig`; an unknown key is an error (a typo must not be ignored). Override
values are read as YAML, so ``use_lstm=true``, ``learning_rate=5e-5`` and ``predict_splits=[dev,test]`` work.

>>> cfg = EncoderConfig.from_dict({"model_name_or_path": "bert-base-chinese", "use_lstm": True}, name="x")
>>> cfg.output_dir, cfg.kind
('saves/x', 'bert')
>>> values = apply_overrides({"use_lstm": True}, ["num_train_epochs=5", "learning_rate=5e-5"])
>>> cfg = EncoderConfig.from_dict(values, name="x")
>>> cfg.num_train_epochs, cfg.learning_rate
(5, 5e-05)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from cluener.layout import DATA_DIR, SAVES_DIR, SPLITS
from cluener.yaml_files import apply_overrides, read_mapping

CONFIG_FILE = "encoder_ner_config.json"  # a trained run's configuration, beside its weights


class ConfigError(ValueError):
    pass


@dataclass
class EncoderConfig:
    name: str = ""  # run name: the config file's basename; outputs go to saves/<name>/
    # model: a BERT checkpoint (hub id or folder, loaded with BertModel / BertTokenizerFast), or null for the
    # BiLSTM-CRF with a random character embedding (vocabulary: the train split's characters)
    model_name_or_path: str | None = None
    embedding_size: int = 128  # character embedding (model_name_or_path: null only)
    use_lstm: bool = False
    lstm_hidden_size: int = 384  # per direction
    lstm_layers: int = 1
    lstm_dropout: float = 0.5
    dropout: float = 0.1  # on the encoder output
    max_length: int = 52  # tokens: 50 characters + [CLS] + [SEP]; a longer sentence is an error, never cut
    # optimisation: AdamW, linear decay after warm-up; the encoder at learning_rate, the rest (BiLSTM, linear, CRF)
    # at head_learning_rate (null: learning_rate)
    learning_rate: float = 3e-5
    head_learning_rate: float | None = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    num_train_epochs: float = 4
    max_steps: int = -1
    per_device_train_batch_size: int = 32
    gradient_accumulation_steps: int = 1
    per_device_eval_batch_size: int = 128
    group_by_length: bool = False  # batches of similar length (less padding: faster on CPU)
    bf16: bool = False
    seed: int = 42
    num_threads: int | None = None  # torch.set_num_threads (CPU runs)
    max_train_minutes: float | None = None  # stop after the epoch that would let the next one end past this budget
    use_cpu: bool = False
    logging_steps: int = 50
    report_to: str = "tensorboard"  # the HF Trainer's tracker (doctor/trackers.py): event files in <output_dir>/runs/
    dataloader_num_workers: int = 0
    # data: `make data`'s manifest; train on `train`, pick the best epoch on `val` (span micro F1), predict
    data_dir: str = DATA_DIR
    predict_splits: list[str] = field(default_factory=lambda: ["dev"])
    max_train_samples: int | None = None  # first N train sentences (quick checks and tests)
    max_eval_samples: int | None = None  # first N val sentences
    output_dir: str | None = None  # default saves/<name>
    save_total_limit: int = 1

    @property
    def kind(self) -> str:
        return "bilstm" if self.model_name_or_path is None else "bert"

    @classmethod
    def from_dict(cls, values: dict[str, Any], name: str) -> EncoderConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        values = {"name": name, **values}
        for f in dataclasses.fields(cls):  # YAML 1.1 reads 3e-5 (no dot) as a string
            if "float" in str(f.type) and isinstance(values.get(f.name), str):
                try:
                    values[f.name] = float(values[f.name])
                except ValueError:
                    raise ConfigError(f"{f.name}: {values[f.name]!r} is not a number") from None
        cfg = cls(**values)
        if cfg.output_dir is None:
            cfg.output_dir = f"{SAVES_DIR}/{cfg.name}"
        if isinstance(cfg.predict_splits, str):
            cfg.predict_splits = [cfg.predict_splits]
        bad = [s for s in cfg.predict_splits if s not in SPLITS]
        if bad:
            raise ConfigError(f"predict_splits: unknown split(s) {bad} (expected {', '.join(SPLITS)})")
        if cfg.kind == "bilstm" and not cfg.use_lstm:
            raise ConfigError("model_name_or_path: null (character embedding) needs use_lstm: true")
        return cfg

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> EncoderConfig:
    values = read_mapping(path, error=ConfigError)
    return EncoderConfig.from_dict(apply_overrides(values, overrides, error=ConfigError),
                                   name=values.get("name") or Path(path).stem)  # fmt: skip
