"""cluener.progress: the one progress line of a step whose output goes to a log, read from LLaMA-Factory's real
trainer_log.jsonl lines (copied from runs of the tiny Qwen3 through llamafactory-cli: the demo's training, a LoRA
run with evaluation, a prediction)."""

from __future__ import annotations

import io
import json
import sys
import textwrap

import pytest

from cluener import progress
from cluener.progress import Display, Follower, progress_line

pytestmark = pytest.mark.light

# make demo's training (logging_steps 25 then), its last step and LF's closing line (no loss)
DEMO_TRAIN = [
    '{"current_steps": 175, "total_steps": 200, "loss": 0.035, "lr": 0.00022748366237709372, "epoch": 43.75, '
    '"percentage": 87.5, "elapsed_time": "0:00:22", "remaining_time": "0:00:03"}',
    '{"current_steps": 200, "total_steps": 200, "loss": 0.0336, "lr": 3.417375188274896e-07, "epoch": 50.0, '
    '"percentage": 100.0, "elapsed_time": "0:00:24", "remaining_time": "0:00:00"}',
    '{"current_steps": 200, "total_steps": 200, "epoch": 50.0, "percentage": 100.0, "elapsed_time": "0:00:24", '
    '"remaining_time": "0:00:00"}',
]
# a LoRA run with eval_steps 2: an evaluation line between training lines
LORA_TRAIN = [
    '{"current_steps": 1, "total_steps": 6, "loss": 11.9219, "lr": 0.0, "epoch": 0.03125, "percentage": 16.67, '
    '"elapsed_time": "0:00:02", "remaining_time": "0:00:12", "throughput": 101.2, "total_tokens": 256}',
    '{"current_steps": 2, "total_steps": 4, "eval_loss": 8.217572212219238, "epoch": 0.25, "percentage": 50.0, '
    '"elapsed_time": "0:00:00", "remaining_time": "0:00:00"}',
]
# make predict: every 5 prediction steps, no loss
PREDICT = [
    '{"current_steps": 5, "total_steps": 42, "percentage": 11.9, "elapsed_time": "0:00:04", "remaining_time": '
    '"0:00:30"}',
    '{"current_steps": 40, "total_steps": 42, "percentage": 95.24, "elapsed_time": "0:01:00", "remaining_time": '
    '"0:00:03"}',
]


def test_lines_of_real_trainer_logs():
    entries = [json.loads(line) for line in DEMO_TRAIN + LORA_TRAIN + PREDICT]
    assert progress_line("train", entries[0]) == "train 175/200 steps, loss 0.035, eta 3s"
    assert progress_line("train", entries[1]) == "train 200/200 steps, loss 0.0336"  # done: no eta
    assert progress_line("train", entries[2], last_loss=0.0336) == "train 200/200 steps, loss 0.0336"
    assert progress_line("train", entries[3]) == "train 1/6 steps, loss 11.9, eta 12s"
    assert progress_line("train", entries[4], last_loss=11.9219) == "train 2/4 steps, loss 11.9, eval loss 8.22, eta 0s"
    assert progress_line("predict", entries[5]) == "predict 5/42 steps, eta 30s"
    assert progress_line("predict", {"remaining_time": "?"}) == "predict"  # nothing readable: the label alone


def test_the_follower_reads_only_what_is_appended_whole_lines_only(tmp_path):
    log = tmp_path / "trainer_log.jsonl"
    follower = Follower(log)
    assert follower.read() == []  # not written yet
    log.write_text(PREDICT[0] + "\n", encoding="utf-8")
    assert [e["current_steps"] for e in follower.read()] == [5]
    with log.open("a", encoding="utf-8") as handle:
        handle.write(PREDICT[1][:30])  # half a line: it waits for its newline
    assert follower.read() == []
    with log.open("a", encoding="utf-8") as handle:
        handle.write(PREDICT[1][30:] + "\nnot json\n[1]\n")
    assert [e["current_steps"] for e in follower.read()] == [40]

    later = Follower(log)  # started on an existing file: the earlier lines are an earlier run's
    assert later.read() == []
    log.unlink()  # LF deletes the old log when it overwrites a run, then appends to a new one
    log.write_text(DEMO_TRAIN[0] + "\n", encoding="utf-8")
    assert [e["current_steps"] for e in later.read()] == [175]


def test_display_on_a_pipe_writes_one_plain_line_per_new_state():
    stream = io.StringIO()
    display = Display("train", stream, tty=False)
    display.update([json.loads(line) for line in DEMO_TRAIN])
    display.update([])  # nothing new: nothing written
    display.finish()
    assert stream.getvalue() == "train 175/200 steps, loss 0.035, eta 3s\ntrain 200/200 steps, loss 0.0336\n"


def test_display_on_a_terminal_rewrites_one_line():
    stream = io.StringIO()
    display = Display("train", stream, tty=True)
    display.update([])
    display.update([json.loads(DEMO_TRAIN[0])])
    display.finish()
    text = stream.getvalue()
    assert text.startswith("\rtrain: starting (0s elapsed)\x1b[K\rtrain 175/200 steps, loss 0.035, eta 3s (")
    assert text.endswith("\x1b[K\n") and text.count("\n") == 1


def test_run_sends_the_output_to_the_log_and_the_progress_to_the_terminal(tmp_path):
    """A real child process: it prints to its log and appends LF's lines to its trainer_log.jsonl over time."""
    trainer_log, log = tmp_path / "out" / "trainer_log.jsonl", tmp_path / "logs" / "train.log"
    script = textwrap.dedent(f"""
        import os, sys, time
        os.makedirs({str(trainer_log.parent)!r}, exist_ok=True)
        print("model loaded", flush=True)
        for line in {DEMO_TRAIN!r}:
            with open({str(trainer_log)!r}, "a") as handle:
                handle.write(line + "\\n")
            time.sleep(0.6)
        sys.exit(3)
    """)
    stream = io.StringIO()
    code = progress.run([sys.executable, "-c", script], log, trainer_log, "train", cwd=tmp_path, stream=stream)
    assert code == 3  # the step's exit status, for the caller to report
    assert log.read_text(encoding="utf-8") == "model loaded\n"
    assert stream.getvalue() == "train 175/200 steps, loss 0.035, eta 3s\ntrain 200/200 steps, loss 0.0336\n"


def test_the_command_line_follows_a_finished_training_to_its_end(tmp_path, capsys):
    log = tmp_path / "trainer_log.jsonl"
    log.write_text("\n".join(LORA_TRAIN[:1] + DEMO_TRAIN) + "\n", encoding="utf-8")
    assert progress.main([str(log)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "train 1/6 steps, loss 11.9, eta 12s", "train 175/200 steps, loss 0.035, eta 3s",
        "train 200/200 steps, loss 0.0336",
    ]  # fmt: skip
