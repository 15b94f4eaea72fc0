"""The encoder baselines for real on CPU: a tiny random BERT (local BertConfig, hidden 32, 2 layers, a character
vocab.txt built from the data) with and without a BiLSTM, and the BiLSTM-CRF, each trained a few steps through
``python -m encoder_ner.train``'s code path with a real config file, then predicting dev; the eval CLI scores the
predictions file; a saved run reloads and predicts the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from encoder_ner.data import BertCharEncoder, TooLongError, encode_examples
from encoder_ner.model import CrfTagger, reverse_within
from encoder_ner.predict import load_trained, predict_entities
from encoder_ner.predict import main as predict_main
from encoder_ner.train import main as train_main
from eval.__main__ import main as eval_main
from cluener.reader import Example
from eval.metrics import score_spans
from eval.predictions import read_predictions

from conftest import ROOT

CONFIGS = ROOT / "yaml_configs" / "encoder"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, built) -> Path:
    """A random BERT with hidden size 32 and 2 layers; vocab: the lower-cased train characters (dev characters
    outside it become [UNK], as unseen characters do with a real checkpoint)."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = tmp_path_factory.mktemp("tiny-bert")
    chars = {c.lower() for ex in built["splits"]["train"] for c in ex.text}
    vocab = SPECIALS + sorted(c for c in chars if len(c) == 1 and not c.isspace() and c not in SPECIALS)
    (out / "vocab.txt").write_text("".join(f"{tok}\n" for tok in vocab), encoding="utf-8")
    # Loaded from the folder, as a hub checkpoint's vocab.txt is (transformers 5 ignores a vocab_file argument).
    tokenizer = BertTokenizerFast.from_pretrained(out, do_lower_case=True)
    assert len(tokenizer.get_vocab()) == len(vocab)
    tokenizer.save_pretrained(out)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)  # fmt: skip
    torch.manual_seed(0)
    BertModel(config, add_pooling_layer=False).save_pretrained(out)
    return out


def quick(data_dir: Path, out: Path, *extra: str) -> list[str]:
    return [f"data_dir={data_dir}", f"output_dir={out}", "max_train_samples=64", "max_eval_samples=32",
            "per_device_train_batch_size=16", "use_cpu=true", "dataloader_num_workers=0", "logging_steps=2",
            *extra]  # fmt: skip


def check_run(out: Path, data_dir: Path, dev_gold, reports: Path, name: str) -> dict:
    summary = json.loads((out / "train_summary.json").read_text(encoding="utf-8"))
    assert summary["train_sentences"] == 64 and summary["val_sentences"] == 32
    assert [round(e["epoch"]) for e in summary["val_by_epoch"]] == [1, 2]
    assert summary["best_epoch"] in summary["val_by_epoch"]
    pred = out / "predict_dev" / "generated_predictions.jsonl"
    rows = [json.loads(line) for line in pred.read_text(encoding="utf-8").splitlines()]
    assert [r["prompt"] for r in rows] == [ex.text for ex in dev_gold]
    assert all(set(r) == {"prompt", "predict", "label", "spans"} for r in rows)
    assert all(p.spans is not None for p in read_predictions(pred))
    assert eval_main(["score", str(pred), "--split", "dev", "--name", name, "--reports", str(reports),
                      "--data-dir", str(data_dir)]) == 0  # fmt: skip
    metrics = json.loads((reports / name / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["lines"] == 1343 and metrics["parse"]["span_lines"] == 1343
    assert metrics["parse"]["failed"] == metrics["parse"]["hallucinated"] == 0
    assert metrics["order_check"].startswith("passed")
    spans = sum(len(where) for r in rows for strings in r["spans"].values() for where in strings.values())
    assert metrics["parse"]["predicted_spans"] == spans
    return metrics


@pytest.mark.parametrize(
    "config, lstm", [("bert_base_chinese_crf", False), ("chinese_roberta_wwm_ext_bilstm_crf", True)]
)
def test_tiny_bert_trains_predicts_and_is_scored(tmp_path, tiny_bert, data_dir, dev_gold, config, lstm):
    out = tmp_path / "saves" / config
    args = quick(data_dir, out, f"model_name_or_path={tiny_bert}", "num_train_epochs=2", "lstm_hidden_size=16")
    assert train_main([str(CONFIGS / f"{config}.yaml"), *args]) == 0
    saved = json.loads((out / "encoder_ner_config.json").read_text(encoding="utf-8"))
    assert saved["config"]["use_lstm"] is lstm and saved["bert_config"]["hidden_size"] == 32
    check_run(out, data_dir, dev_gold, tmp_path / "reports", f"{config}-dev")

    # The saved best epoch reloads without the hub and predicts exactly what training wrote.
    before = (out / "predict_dev" / "generated_predictions.jsonl").read_bytes()
    (out / "predict_dev" / "generated_predictions.jsonl").unlink()
    assert predict_main([str(out), "--split", "dev", "--data-dir", str(data_dir), "--device", "cpu"]) == 0
    assert (out / "predict_dev" / "generated_predictions.jsonl").read_bytes() == before
    model, _, _ = load_trained(out, "cpu")
    assert (model.lstm is not None) is lstm and model.encoder.config.num_hidden_layers == 2


def test_bilstm_crf_trains_and_is_scored(tmp_path, data_dir, dev_gold):
    out = tmp_path / "saves" / "bilstm_crf_cpu"
    args = quick(data_dir, out, "num_train_epochs=2", "max_train_minutes=30")
    assert train_main([str(CONFIGS / "bilstm_crf_cpu.yaml"), *args]) == 0
    summary = json.loads((out / "train_summary.json").read_text(encoding="utf-8"))
    assert summary["torch_threads"] == 2 and summary["steps"] == 8 and not summary["stopped_by_time_budget"]
    assert (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[:2] == ["[PAD]", "[UNK]"]
    check_run(out, data_dir, dev_gold, tmp_path / "reports", "bilstm_crf_cpu-dev")
    # the config's report_to: tensorboard (make train-bilstm-crf TRACKER= switches it): the HF Trainer's event file
    assert summary["config"]["report_to"] == "tensorboard" and list(out.glob("runs/*/events.out.tfevents.*"))


def test_a_tracker_that_is_not_installed_stops_before_training(tmp_path, data_dir, capsys):
    out = tmp_path / "saves" / "untracked"
    args = [f"data_dir={data_dir}", f"output_dir={out}", "report_to=mlflow"]  # the CPU set does not pin mlflow
    assert train_main([str(CONFIGS / "bilstm_crf_cpu.yaml"), *args]) == 1
    assert capsys.readouterr().err.startswith("error: report_to: mlflow: the mlflow package is not installed")
    assert not out.exists()


def test_bilstm_crf_learns_its_training_sentences(tmp_path, data_dir, built):
    """Not just running: 40 sentences, 25 epochs -> the tagger reproduces their gold spans."""
    out = tmp_path / "saves" / "overfit"
    args = [f"data_dir={data_dir}", f"output_dir={out}", "max_train_samples=40", "max_eval_samples=16",
            "num_train_epochs=25", "per_device_train_batch_size=8", "dropout=0.0", "lstm_dropout=0.0",
            "learning_rate=5e-3", "lstm_hidden_size=128", "predict_splits=[]", "logging_steps=1000"]  # fmt: skip
    assert train_main([str(CONFIGS / "bilstm_crf_cpu.yaml"), *args]) == 0
    model, encoding, cfg = load_trained(out, "cpu")
    train = built["splits"]["train"][:40]
    scores = score_spans([ex.entities for ex in train], predict_entities(model, encoding, train, cfg.max_length))
    assert scores.micro_f1 > 0.9


def test_bert_characters_are_one_token_each(tiny_bert, dev_gold):
    from transformers import BertTokenizerFast

    encoder = BertCharEncoder(BertTokenizerFast.from_pretrained(tiny_bert))
    assert encoder.lower
    for ex in dev_gold:
        ids = encoder.encode(ex.text)
        assert len(ids) == len(ex.text) + 2 and ids[0] == encoder.cls and ids[-1] == encoder.sep
    vocab = encoder.vocab
    assert "a" in vocab and "A" not in vocab
    assert encoder.encode("A𠀀") == [encoder.cls, vocab["a"], encoder.unk, encoder.sep]


def test_a_sentence_longer_than_max_length_is_refused_not_cut():
    long = Example("张" * 51, ())
    with pytest.raises(TooLongError, match="51 characters"):
        encode_examples([long], lambda t: [0] * (len(t) + 2), 52, 2, with_labels=False)


def test_reverse_within_lengths_matches_packed_bilstm():
    """The BiLSTM's backward direction equals PyTorch's packed-sequence BiLSTM on right-padded batches."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from encoder_ner.model import BiLSTM

    torch.manual_seed(0)
    x, lengths = torch.randn(4, 7, 5), torch.tensor([7, 3, 5, 1])
    ours = BiLSTM(5, 6)
    ref = torch.nn.LSTM(5, 6, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for suffix, layer in (("", ours.forward_layers[0]), ("_reverse", ours.backward_layers[0])):
            for weight in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                getattr(ref, weight + suffix).copy_(getattr(layer, weight))
    packed, _ = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    theirs, _ = pad_packed_sequence(packed, batch_first=True, total_length=7)
    mask = (torch.arange(7)[None, :] < lengths[:, None])[..., None]
    assert torch.allclose(ours(x, lengths) * mask, theirs * mask, atol=1e-6)
    flipped = reverse_within(torch.arange(6).view(2, 3, 1), torch.tensor([2, 3]))
    assert flipped[..., 0].tolist() == [[1, 0, 2], [5, 4, 3]]


def test_forbidden_bio_transitions_are_never_decoded():
    model = CrfTagger(None, vocab_size=10, use_lstm=True, lstm_hidden_size=4).eval()
    emissions = torch.randn(8, 12, 21) * 5
    mask = torch.ones(8, 12, dtype=torch.bool)
    from encoder_ner.tags import TAGS, allowed_transition

    for row in model.decode(emissions, mask).tolist():
        tags = [TAGS[i] for i in row]
        assert all(allowed_transition(prev, tag) for prev, tag in zip([None, *tags], tags))


def test_the_time_budget_stops_after_an_epoch_and_keeps_the_best(tmp_path, data_dir):
    out = tmp_path / "saves" / "budget"
    args = quick(data_dir, out, "num_train_epochs=3", "max_train_minutes=0.0001", "predict_splits=[]")
    assert train_main([str(CONFIGS / "bilstm_crf_cpu.yaml"), *args]) == 0
    summary = json.loads((out / "train_summary.json").read_text(encoding="utf-8"))
    assert summary["stopped_by_time_budget"] and [round(e["epoch"]) for e in summary["val_by_epoch"]] == [1]
    assert (out / "model.safetensors").is_file() and summary["predictions"] == {}
