"""The chain a GPU user runs, for real on CPU, through the Makefile and the real `llamafactory-cli`:

make data -> make train (LoRA, a real recipe, a few steps) -> make predict (dev) -> make chat (piped, ends on
`exit`) -> make export (merge) -> make report -> make submit; then `make demo`, the overfit proof.

Everything runs in a temp copy of the repository's front door (so the repo's data/, saves/ and reports/ are left
alone), with the tiny Qwen3 in place of the recipe's model. Only the model path and the keys a CPU cannot honour
(bf16) are overridden, plus max_steps / max_new_tokens to keep CPU time short.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from cluener.layout import DATA_DIR, REPORTS_DIR, data_file, dataset_name, predictions_file, recipe_save_dir, run_name
from make_project import build_tiny_qwen3, copy_front_door, make, make_command

pytestmark = pytest.mark.slow

RECIPE = "qwen3_0.6b_lora_sft"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return copy_front_door(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def data(workdir) -> Path:
    result = make(workdir, "data")
    assert "round trip" in result.stdout
    dev_line = next(line for line in result.stdout.splitlines() if line.strip().startswith("dev "))
    assert dev_line.split() == ["dev", "1343/1343", "sentences", "exact"]
    return workdir / DATA_DIR


@pytest.fixture(scope="module")
def tiny(workdir, data) -> Path:
    """The tiny Qwen3 (small BPE trained on the prepared train file, for CPU speed)."""
    return build_tiny_qwen3(workdir, workdir / "tiny-qwen3")


def overrides(tiny: Path, *extra: str, bf16: bool = True) -> str:
    """The tiny model in place of the recipe's; bf16 off where the config has it (train / predict)."""
    return " ".join([f"model_name_or_path={tiny}", *(["bf16=false"] if bf16 else []), *extra])


@pytest.fixture(scope="module")
def trained(workdir, tiny) -> Path:
    make(workdir, "train", f"RECIPE={RECIPE}", f"ARGS={overrides(tiny, 'max_steps=4', 'max_samples=64', 'logging_steps=1')}")
    return workdir / "saves" / RECIPE


def test_train_writes_a_lora_adapter(trained):
    config = json.loads((trained / "adapter_config.json").read_text())
    assert config["r"] == 16 and (trained / "adapter_model.safetensors").is_file()
    assert {"q_proj", "v_proj", "down_proj"} <= set(config["target_modules"])
    log = [json.loads(line) for line in (trained / "trainer_log.jsonl").read_text().splitlines()]
    assert log[-1]["current_steps"] == 4
    assert list(trained.glob("runs/*/events.out.tfevents.*"))  # the recipe's report_to: tensorboard


@pytest.fixture(scope="module")
def predicted(workdir, trained, tiny) -> Path:
    make(workdir, "predict", f"RECIPE={RECIPE}", f"ARGS={overrides(tiny, 'max_new_tokens=12')}")
    return workdir / predictions_file(recipe_save_dir(RECIPE), "dev")


def test_predict_writes_one_line_per_dev_sentence(predicted, data):
    rows = [json.loads(line) for line in predicted.read_text(encoding="utf-8").splitlines()]
    dev = json.loads(data_file(dataset_name("dev"), data).read_text(encoding="utf-8"))
    assert len(rows) == len(dev) == 1343
    assert all({"prompt", "predict", "label"} <= set(row) for row in rows)
    assert dev[0]["input"] in rows[0]["prompt"] and dev[-1]["input"] in rows[-1]["prompt"]
    assert "<think>\n\n</think>" in rows[0]["prompt"]  # qwen3 template with enable_thinking: false


def test_chat_answers_and_exits(workdir, trained, tiny):
    result = make(workdir, "chat", f"RECIPE={RECIPE}", f"ARGS={overrides(tiny, 'max_new_tokens=8', bf16=False)}",
                  stdin="彭小军认为，国内银行现在走的是台湾的发卡模式\nexit\n")  # fmt: skip
    assert "Assistant:" in result.stdout


def test_export_merges_the_adapter(workdir, trained, tiny):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    make(workdir, "export", f"RECIPE={RECIPE}", f"ARGS={overrides(tiny, bf16=False)}")
    merged_dir = workdir / "saves" / RECIPE / "merged"
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32)
    reference = PeftModel.from_pretrained(base, trained).merge_and_unload()
    ids = tokenizer("叶老桂认为", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        got, want = merged(ids).logits, reference(ids).logits
    assert torch.allclose(got, want, atol=0.05), float((got - want).abs().max())


def test_make_report_scores_the_predictions(workdir, predicted):
    make(workdir, "report")
    run = workdir / REPORTS_DIR / run_name(RECIPE, "dev")
    for name in ("report.md", "metrics.json", "f1_per_class.png", "cluener_predict.json"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    parse = metrics["parse"]
    assert parse["ok"] + parse["repaired"] + parse["failed"] == 1343
    for metric in ("official", "span"):
        assert set(metrics[metric]["per_class"]) == {"address", "book", "company", "game", "government", "movie",
                                                     "name", "organization", "position", "scene"}  # fmt: skip
    assert len((run / "cluener_predict.json").read_text().splitlines()) == 1343
    assert run_name(RECIPE, "dev") in (workdir / REPORTS_DIR / "README.md").read_text()
    # 95% intervals and the run card (what make train recorded and LLaMA-Factory left), loss curve included
    low, high = metrics["official"]["micro_f1_ci95"]
    assert low <= metrics["official"]["micro_f1"] <= high and "span" in metrics and metrics["span"]["micro_f1_ci95"]
    card = metrics["run_card"]
    assert card["recipe"] == f"yaml_configs/train/{RECIPE}.yaml" and card["steps_done"] == 4
    assert card["lora"]["rank"] == 16 and card["versions"]["llamafactory"] and len(card["loss"]["train"]) == 4
    assert (run / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "## Run card" in (run / "report.md").read_text(encoding="utf-8")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    make(workdir, "report")  # nothing new to score: the run's files are kept as they are
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_make_submit_writes_the_leaderboard_file(workdir, trained, tiny):
    make(workdir, "submit", f"RECIPE={RECIPE}", f"ARGS={overrides(tiny, 'max_new_tokens=12')}")
    lines = (workdir / REPORTS_DIR / run_name(RECIPE, "test") / "cluener_predict.json").read_text().splitlines()
    assert len(lines) == 1345
    assert [json.loads(line)["id"] for line in lines] == list(range(1345))


@pytest.fixture(scope="module")
def demo(workdir) -> subprocess.CompletedProcess:
    return make(workdir, "demo")


def test_demo_overfit_proof(workdir, demo):
    """`make demo`: full fine-tuning on 16 sentences, greedy predictions on them, official micro F1 >= 0.9."""
    result = demo
    assert "report: reports/demo_tiny_qwen3_full_sft-train16/report.md" in result.stdout
    metrics = json.loads((workdir / "reports" / "demo_tiny_qwen3_full_sft-train16" / "metrics.json").read_text())
    assert metrics["official"]["micro_f1"] >= 0.9, metrics["official"]
    assert metrics["split"] == "train16"  # the 16 sentences, named by --split-name (not after the gold file)
    assert metrics["parse"]["failed"] == 0
    card = metrics["run_card"]  # read back from the training folder: the record, the trainer's state, the loss curve
    assert card["recipe"] == "yaml_configs/train/demo_tiny_qwen3_full_sft.yaml" and card["steps_done"] == 200
    assert (workdir / "reports" / "demo_tiny_qwen3_full_sft-train16" / "loss_curve.png").is_file()

    # Progress on the terminal (a pipe here: plain lines) while LLaMA-Factory's output goes to saves/demo/logs/
    progress = [line for line in result.stdout.splitlines() if line.startswith("train ")]
    assert progress[0].startswith("train 10/200 steps, loss ") and progress[-1].startswith("train 200/200 steps, loss")
    assert "\r" not in result.stdout and "it/s]" not in result.stdout  # no progress bar of LF's in the demo's output

    # TensorBoard: the recipe's tracker wrote one event file, holding the training loss of every logged step
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = list((workdir / "saves" / "demo_tiny_qwen3_full_sft" / "runs").glob("*/events.out.tfevents.*"))
    assert len(events) == 1, events
    accumulator = EventAccumulator(str(events[0]))
    accumulator.Reload()
    assert "train/loss" in accumulator.Tags()["scalars"]
    losses = accumulator.Scalars("train/loss")
    assert [e.step for e in losses] == list(range(10, 201, 10))
    assert losses[-1].value < losses[0].value / 10  # it memorised the 16 sentences
    folder = events[0].parent.relative_to(workdir).as_posix()
    assert card["logs"] == {"tracker": "tensorboard", "tensorboard": [f"runs/{events[0].parent.name}"]}
    report = (workdir / "reports" / "demo_tiny_qwen3_full_sft-train16" / "report.md").read_text(encoding="utf-8")
    assert f"| logs | tensorboard: {folder} (make tensorboard) |" in report


def test_make_tensorboard_serves_the_demo_run_on_loopback(workdir, demo):
    """`make tensorboard` over the demo's run: the server lists it with its train/loss scalars, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(make_command("tensorboard", f"TB_PORT={port}"), cwd=workdir, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        tags = None
        for _ in range(240):  # bounded: a server that never answers fails the test, it does not hang it
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=5) as answer:
                    tags = json.loads(answer.read())
                if tags:
                    break
            except OSError:
                pass
            time.sleep(0.5)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=60)[0]
    assert tags, output[-3000:]
    # every training run under saves/ (the demo's; make train's LoRA run too when the whole module ran)
    (run,) = [name for name in tags if name.startswith("demo_tiny_qwen3_full_sft/runs/")]
    assert "train/loss" in tags[run], tags
    assert f"http://127.0.0.1:{port}/" in output


def test_make_tensorboard_without_runs_says_so(tmp_path):
    empty = copy_front_door(tmp_path / "repo")
    result = make(empty, "tensorboard", check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: no TensorBoard event files under saves/ yet: train a run first (make demo, or make train)"]

def test_make_chat_asks_a_bare_sentence_as_the_training_prompt(workdir, demo):
    """`make chat` on the memorised demo model: each bare sentence typed is answered as `make demo`'s greedy
    predict answered it (the same user turn: the instruction, a newline, the sentence). LLaMA-Factory's own chat
    (RAW=1) with the same bare lines asks something else, and answers otherwise."""
    demo_recipe = "demo_tiny_qwen3_full_sft"  # make demo's run (the demo fixture)
    predictions = workdir / predictions_file(recipe_save_dir(demo_recipe), "train16")
    rows = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    sentences = [r["input"] for r in json.loads(data_file(dataset_name("train"), workdir / DATA_DIR).read_text())[:16]]
    stdin = "".join(f"{s}\n" for s in sentences) + "exit\n"

    def answers(*args: str) -> list[str]:
        out = make(workdir, "chat", f"RECIPE={demo_recipe}", *args, stdin=stdin).stdout
        return [line.partition("Assistant: ")[2].strip() for line in out.splitlines() if "Assistant: " in line]

    expected = [r["predict"].strip() for r in rows]
    chat = answers()
    assert len(chat) == 16 and sum(a == e for a, e in zip(chat, expected)) >= 15, list(zip(chat, expected))
    raw = answers("RAW=1")  # the sentence alone (and LF's history): not the turn the model was trained on
    assert len(raw) == 16 and sum(a == e for a, e in zip(raw, expected)) < 8, list(zip(raw, expected))
