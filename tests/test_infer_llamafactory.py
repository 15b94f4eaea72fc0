"""python -m infer against the real thing (marked slow): ``llamafactory-cli api`` serving the tiny random Qwen3
with a LoRA adapter through the project's chat recipe (template qwen3_nothink), the client run as a subprocess,
killed mid-run with SIGKILL, and rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from llm_assets import (
    ROOT,
    SENTENCES,
    alpaca_records,
    cli_env,
    free_port,
    llamafactory_cli,
    make_lora_adapter,
    write_dataset_dir,
)
from infer_assets import final_rows, write_dataset

from cluener.prompts import GUIDED_INSTRUCTION
from infer.__main__ import main
from infer.journal import progress_path, read_progress
from infer.records import load_records


RECIPE = "qwen3_4b_instruct2507_lora_sft"  # its chat recipe has template qwen3_nothink


def make_api_env(recipe: str) -> dict[str, str]:
    """The variables ``make api RECIPE=recipe`` sets for ``llamafactory-cli api`` (read from ``make -n``, so the
    server below is started as the Makefile starts it)."""
    dry = subprocess.run(
        ["make", "--old-file=.venv/.installed", "-n", "api", f"RECIPE={recipe}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    command = dry.stdout.replace("\\\n", " ")
    line = next(line for line in command.splitlines() if "llamafactory-cli api" in line)
    return dict(token.split("=", 1) for token in line.split() if "=" in token and token.split("=")[0].isupper())


def test_make_api_serves_the_model_under_the_recipe_name():
    """LLaMA-Factory's api lists API_MODEL_NAME (default gpt-3.5-turbo): make api names it after the recipe."""
    assert make_api_env(RECIPE)["API_MODEL_NAME"] == RECIPE


@pytest.fixture(scope="module")
def lf_api(tiny_qwen3, tmp_path_factory):
    """``llamafactory-cli api`` with the project's chat recipe, the tiny Qwen3 and a LoRA adapter, on loopback."""
    tmp = tmp_path_factory.mktemp("lf_api")
    adapter = make_lora_adapter(tiny_qwen3, tmp / "adapter")
    port, key = free_port(), f"test-key-{os.getpid()}"
    log = tmp / "api.log"
    with open(log, "w", encoding="utf-8") as handle:
        proc = subprocess.Popen(
            llamafactory_cli(
                "api",
                f"yaml_configs/chat/{RECIPE}.yaml",
                f"model_name_or_path={tiny_qwen3}",
                f"adapter_name_or_path={adapter}",
            ),
            cwd=ROOT,
            env=cli_env(**{**make_api_env(RECIPE), "API_PORT": str(port), "API_KEY": key}),  # as make api
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        import httpx

        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"llamafactory-cli api exited {proc.returncode}:\n{log.read_text()[-6000:]}")
            try:
                if httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {key}"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"llamafactory-cli api not up after 180 s:\n{log.read_text()[-6000:]}")
            time.sleep(0.25)
        yield {"url": url, "key": key, "log": log}
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the process group we started (the server and anything it spawned)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass


def _client_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "infer", "--no-progress-bar", *args]


@pytest.mark.slow
def test_llamafactory_api_predicts_every_record_in_order(lf_api, tmp_path, monkeypatch, capsys):
    write_dataset_dir(tmp_path / "data", {"cluener_dev": alpaca_records(6)})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_KEY", lf_api["key"])
    args = [
        "--name",
        "tiny",
        "--split",
        "dev",
        "--dataset-dir",
        "data",
        "--base-url",
        lf_api["url"],
        "--concurrency",
        "3",
        "--max-tokens",
        "24",
        "--no-progress-bar",
    ]
    assert main(args) == 0, capsys.readouterr().err
    output = tmp_path / "saves" / "tiny" / "predict_dev_api" / "generated_predictions.jsonl"
    rows = final_rows(output)
    assert [list(row) for row in rows] == [["prompt", "predict", "label"]] * 6
    assert [row["prompt"] for row in rows] == [r["instruction"] + "\n" + r["input"] for r in alpaca_records(6)]
    assert [row["label"] for row in rows] == [target for _, target in SENTENCES]
    assert all(isinstance(row["predict"], str) for row in rows)
    header = read_progress(progress_path(output), load_records(tmp_path / "data" / "cluener_dev.json"))
    assert header.settings["model"] == RECIPE  # what the server lists: API_MODEL_NAME, set by make api
    # Greedy: a fresh run gives the same answers.
    assert main(args + ["--restart", "--concurrency", "1"]) == 0
    assert final_rows(output) == rows
    # A wrong key is an HTTP 401, reported at once (no retries), with a hint.
    monkeypatch.setenv("API_KEY", "wrong")
    assert main(args + ["--model", "x", "--output", str(tmp_path / "o2.jsonl")]) == 1
    assert "HTTP 401" in capsys.readouterr().err


@pytest.mark.slow
def test_llamafactory_api_recipe_defaults_for_a_guided_hybrid_qwen3(lf_api, tmp_path, monkeypatch, capsys):
    """--name of a guided qwen3 recipe: its dataset variant, max tokens and the thinking-off extra body."""
    guided = alpaca_records(2, instruction=GUIDED_INSTRUCTION)
    write_dataset_dir(tmp_path / "data", {"cluener_guided_dev": guided})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_KEY", lf_api["key"])
    code = main(
        [
            "--name",
            "qwen3_1.7b_lora_sft_guided",
            "--recipe-dir",
            str(ROOT / "yaml_configs"),
            "--dataset-dir",
            "data",
            "--base-url",
            lf_api["url"],
            "--no-progress-bar",
        ]
    )
    assert code == 0, capsys.readouterr().err
    output = tmp_path / "saves" / "qwen3_1.7b_lora_sft_guided" / "predict_dev_api" / "generated_predictions.jsonl"
    assert [row["prompt"] for row in final_rows(output)] == [r["instruction"] + "\n" + r["input"] for r in guided]
    progress = read_progress(progress_path(output), load_records(tmp_path / "data" / "cluener_guided_dev.json"))
    assert progress.settings["max_tokens"] == 128
    assert progress.settings["extra_body"] == {"chat_template_kwargs": {"enable_thinking": False}}


@pytest.mark.slow
def test_llamafactory_api_resume_after_sigkill(lf_api, tmp_path):
    """Kill the client (SIGKILL) after its first answers, rerun: every record once, in order, none lost."""
    n = 12
    data = write_dataset(tmp_path, n)
    output = tmp_path / "run" / "generated_predictions.jsonl"
    sidecar = progress_path(output)
    cmd = _client_cmd(
        "--dataset",
        str(data),
        "--output",
        str(output),
        "--base-url",
        lf_api["url"],
        "--concurrency",
        "1",
        "--max-tokens",
        "128",
    )
    env = cli_env(API_KEY=lf_api["key"])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (sidecar.is_file() and sidecar.read_bytes().count(b"\n") >= 2):  # header + one answer
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no answer within 120 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    records = load_records(data)
    before = read_progress(sidecar, records).done
    assert 1 <= len(before) < n, f"killed after {len(before)} of {n}: not mid-run"
    assert not output.exists()

    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"({n - len(before)} new this run)" in rerun.stderr
    rows = final_rows(output)
    assert [row["prompt"] for row in rows] == [r.prompt for r in records]
    assert [row["label"] for row in rows] == [r.label for r in records]
    after = read_progress(sidecar, records).done  # validates: no duplicate index, every line intact
    assert sorted(after) == list(range(n))
    assert all(rows[i]["predict"] == before[i]["predict"] for i in before), "answers from before the kill are kept"
    # Greedy decoding: the same prompt (every 6th record) gets the same answer, before and after the kill.
    assert all(rows[i]["predict"] == rows[i % len(SENTENCES)]["predict"] for i in range(n))
