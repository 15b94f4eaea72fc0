"""encoder_ner.config: every encoder config loads through HfArgumentParser; an unknown key, a value of the wrong type
or a bad combination is one line naming the key; ``--help`` lists every key with its type, default and meaning."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from encoder_ner.config import ConfigError, EncoderConfig, keys_help, load_config

from conftest import ROOT

CONFIGS = ROOT / "yaml_configs" / "encoder"


def test_config_errors_are_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(CONFIGS / "bilstm_crf_cpu.yaml", ["learning_rat=1"])
    with pytest.raises(ConfigError, match="needs use_lstm"):
        load_config(CONFIGS / "bilstm_crf_cpu.yaml", ["use_lstm=false"])
    with pytest.raises(ConfigError, match="not a YAML value"):
        load_config(CONFIGS / "bilstm_crf_cpu.yaml", ["learning_rate=[1"])
    cfg = load_config(CONFIGS / "chinese_bert_wwm_ext_bilstm_crf.yaml", ["predict_splits=[dev,test]"])
    assert (cfg.name, cfg.output_dir, cfg.predict_splits) == (
        "chinese_bert_wwm_ext_bilstm_crf", "saves/chinese_bert_wwm_ext_bilstm_crf", ["dev", "test"])


@pytest.mark.parametrize("name", sorted(p.stem for p in CONFIGS.glob("*.yaml")))
def test_every_config_loads_and_says_its_hardware_and_batch(name):
    text = (CONFIGS / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# ") and "Hardware:" in text and "Effective batch size:" in text
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert cfg.max_length == 52 and cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps == 32
    if cfg.kind == "bert":
        assert (cfg.learning_rate, cfg.head_learning_rate) == (3e-5, 1e-3) and 3 <= cfg.num_train_epochs <= 5
        assert cfg.model_name_or_path in ("bert-base-chinese", "hfl/chinese-bert-wwm-ext",
                                          "hfl/chinese-roberta-wwm-ext")  # fmt: skip
    else:
        assert (cfg.embedding_size, cfg.lstm_hidden_size, cfg.dropout, cfg.learning_rate) == (128, 384, 0.5, 1e-3)


@pytest.mark.parametrize(
    "override, message",
    [
        ("learning_rate=fast", "learning_rate: 'fast' is not float"),
        ("max_length=long", "max_length: 'long' is not int"),
        ("use_lstm=maybe", "use_lstm: 'maybe' is not bool"),
        ("predict_splits=[dev, tset]", "predict_splits: unknown split(s) ['tset'] (expected train, val, dev, test)"),
        ("learning_rat=1", "unknown key(s) learning_rat (python -m encoder_ner.train --help lists them)"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(override, message):
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIGS / "bilstm_crf_cpu.yaml", [override])
    assert str(caught.value) == message


def test_a_number_written_as_a_string_is_read_by_the_keys_type():
    cfg = load_config(CONFIGS / "bilstm_crf_cpu.yaml", ["learning_rate='2e-3'", "max_length='50'"])
    assert (cfg.learning_rate, cfg.max_length) == (2e-3, 50)


def test_help_lists_every_key_with_type_default_and_meaning():
    lines = keys_help().splitlines()[1:]
    assert [line.split()[0] for line in lines] == [f.name for f in dataclasses.fields(EncoderConfig)]
    assert all("): " in line and len(line.split("): ", 1)[1]) > 5 for line in lines)
    assert "  learning_rate (float, default 3e-05): " in keys_help()
    result = subprocess.run([sys.executable, "-m", "encoder_ner.train", "--help"], cwd=ROOT, capture_output=True,
                            text=True, check=True, timeout=300)  # fmt: skip
    assert keys_help() in result.stdout


def test_a_bad_key_on_the_command_line_is_one_line_and_exit_1():
    result = subprocess.run([sys.executable, "-m", "encoder_ner.train", str(CONFIGS / "bilstm_crf_cpu.yaml"),
                             "dropuot=0.1"], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == "error: unknown key(s) dropuot (python -m encoder_ner.train --help lists them)\n"


def test_the_trainer_keys_reach_training_arguments_under_their_own_names():
    """Every key declared a TrainingArguments key reaches transformers' TrainingArguments with its value, and no
    other key is passed on (the encoder's own keys stay the model's and the data's)."""
    from transformers import TrainingArguments

    from encoder_ner.train import training_arguments

    cfg = load_config(ROOT / "yaml_configs" / "encoder" / "bilstm_crf_cpu.yaml",
                      ["seed=7", "logging_steps=3", "report_to=none", "max_steps=5"])  # fmt: skip
    values = cfg.trainer_values()
    trainer_fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    assert set(values) <= trainer_fields, set(values) - trainer_fields
    assert {"output_dir", "seed", "learning_rate", "report_to", "group_by_length", "save_total_limit"} <= set(values)
    args = training_arguments(cfg)
    for name, value in values.items():
        got = getattr(args, name)
        assert got == value or (name == "report_to" and got == []), (name, got, value)
    assert "use_lstm" not in values and "head_learning_rate" not in values and "predict_splits" not in values
