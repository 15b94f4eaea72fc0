"""eval.api_predict: the resumable OpenAI-compatible prediction client.

Three layers:

- the progress file and dataset reading (pure functions, corrupt input -> errors naming file and line);
- retries, resume and the final file against a small local HTTP server that this module starts (it answers
  ``echo:<prompt>`` and can be told to fail), fast and deterministic;
- the real thing (marked slow): ``llamafactory-cli api`` serving the tiny random Qwen3 with a LoRA adapter through
  the project's chat recipe (template qwen3_nothink), the client run as a subprocess, killed mid-run with SIGKILL,
  and rerun.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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

from eval import api_predict as ap
from eval.prompts import GUIDED_INSTRUCTION

# ---------------------------------------------------------------- dataset reading


def test_prompt_is_built_like_llamafactory_alpaca_converter(tmp_path):
    rows = alpaca_records(3) + [{"instruction": "只有指令", "input": "", "output": ""}, {"instruction": "无输出"}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    records = ap.load_records(path)
    assert [r.prompt for r in records[:3]] == [row["instruction"] + "\n" + row["input"] for row in rows[:3]]
    assert [r.prompt for r in records[3:]] == ["只有指令", "无输出"]
    assert [r.label for r in records] == [row.get("output", "") for row in rows]
    assert [r.index for r in records] == list(range(5))
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    assert ap.load_records(jsonl) == records


@pytest.mark.parametrize(
    "content, message",
    [
        ('[{"instruction": "a"}, 3]', "d.json: record 2: expected an object, got int"),
        ('[{"instruction": "a", "input": 5}]', "d.json: record 1: 'input' is int, not a string"),
        ('[{"input": "x"}]', "d.json: record 1: missing 'instruction'"),
        ('[{"instruction": "", "input": ""}]', "d.json: record 1: empty prompt"),
        ('[{"instruction": "a"},\n {"instruction": }]', "d.json:2: invalid JSON"),
        ("[]", "d.json: no records"),
    ],
)
def test_bad_dataset_names_file_and_record(tmp_path, content, message):
    path = tmp_path / "d.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ap.DataError) as info:
        ap.load_records(path)
    assert message in str(info.value)


def test_bad_jsonl_line_names_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"instruction": "a"}\n\n{"instruction": "b"\n', encoding="utf-8")
    with pytest.raises(ap.DataError, match=r"d\.jsonl:3: invalid JSON"):
        ap.load_records(path)


def test_dataset_names_resolve_through_dataset_info(tmp_path):
    write_dataset_dir(tmp_path, {"cluener_dev": alpaca_records(2)})
    path, columns = ap.resolve_dataset("cluener_dev", tmp_path)
    assert path == tmp_path / "cluener_dev.json" and columns["prompt"] == "instruction"
    with pytest.raises(ap.DataError, match="not registered"):
        ap.resolve_dataset("cluener_test", tmp_path)
    with pytest.raises(ap.DataError, match="does not exist"):
        ap.resolve_dataset("cluener_dev", tmp_path / "nowhere")


def test_recipe_defaults_come_from_the_recipe_files():
    guided = ap.recipe_defaults("qwen3_1.7b_lora_sft_guided", ROOT / "yaml_configs")
    assert (guided.dataset, guided.max_tokens, guided.enable_thinking) == ("cluener_guided_dev", 128, False)
    assert ap.dataset_for_split("test", guided.dataset) == "cluener_guided_test"
    plain = ap.recipe_defaults("qwen2.5_7b_lora_sft", ROOT / "yaml_configs")
    assert (plain.dataset, plain.max_tokens, plain.enable_thinking) == ("cluener_dev", 128, None)
    assert ap.recipe_defaults("no_such_recipe", ROOT / "yaml_configs") == ap.RecipeDefaults()
    assert ap.default_output("r", "dev") == Path("saves/r/predict_dev_api/generated_predictions.jsonl")
    assert ap.progress_path("a/generated_predictions.jsonl") == Path("a/generated_predictions.progress.jsonl")


# ---------------------------------------------------------------- progress file


def _records(n: int = 4) -> list[ap.Record]:
    return [ap.Record(i, f"prompt {i}", f"label {i}") for i in range(n)]


def _header(n: int = 4, **settings) -> str:
    header = {"model": "m", "max_tokens": 8, "system": None, "extra_body": None, **settings}
    return json.dumps({"header": dict(header, format=ap.PROGRESS_FORMAT, n=n)}) + "\n"


def _line(index: int, predict: str = "p", prompt: str | None = None) -> str:
    sha = ap.prompt_hash(prompt if prompt is not None else f"prompt {index}")
    return json.dumps({"index": index, "prompt_sha256": sha, "predict": predict, "finish_reason": "stop"}) + "\n"


def test_progress_round_trip(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    assert ap.read_progress(path, _records()) is None
    path.write_text(_header() + _line(2, "b") + _line(0, "a"), encoding="utf-8")
    progress = ap.read_progress(path, _records())
    assert {i: d["predict"] for i, d in progress.done.items()} == {2: "b", 0: "a"}
    assert progress.settings["model"] == "m" and not progress.dropped_tail
    assert progress.valid_bytes == path.stat().st_size


@pytest.mark.parametrize(
    "body, line, problem",
    [
        (_line(0) + "{not json\n" + _line(1), 3, "invalid JSON"),
        (_line(0) + '["a list"]\n', 3, "expected a JSON object"),
        (_line(7), 2, "index 7 is not an integer in [0, 4)"),
        (_line(0) + json.dumps({"index": True, "predict": "x"}) + "\n", 3, "index True"),
        (json.dumps({"index": 1, "prompt_sha256": ap.prompt_hash("prompt 1")}) + "\n", 2, "'predict' is missing"),
        (_line(1) + _line(1), 3, "index 1 appears twice"),
        (_line(3, prompt="another prompt"), 2, "different prompt"),
    ],
)
def test_corrupt_progress_line_is_a_clear_error(tmp_path, body, line, problem):
    path = tmp_path / "p.progress.jsonl"
    path.write_text(_header() + body, encoding="utf-8")
    with pytest.raises(ap.ProgressError) as info:
        ap.read_progress(path, _records())
    assert str(info.value).startswith(f"{path}:{line}: ") and problem in str(info.value)


def test_progress_of_another_dataset_or_not_a_progress_file(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    path.write_text(_header(n=5), encoding="utf-8")
    with pytest.raises(ap.ProgressError, match=r":1: made for a dataset of 5 records, this one has 4"):
        ap.read_progress(path, _records())
    path.write_text('{"prompt": "x", "predict": "y", "label": "z"}\n', encoding="utf-8")
    with pytest.raises(ap.ProgressError, match=r":1: not a progress header"):
        ap.read_progress(path, _records())
    path.write_bytes(_header().encode() + b'{"index": 0, "predict": "\xff"}\n')
    with pytest.raises(ap.ProgressError, match=r":2: not valid UTF-8"):
        ap.read_progress(path, _records())


def test_incomplete_last_line_is_dropped(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    complete = _header() + _line(0)
    path.write_text(complete + _line(1)[:20], encoding="utf-8")  # a write cut by a crash: no newline
    progress = ap.read_progress(path, _records())
    assert list(progress.done) == [0] and progress.dropped_tail
    assert progress.valid_bytes == len(complete.encode())


def test_resuming_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    path.write_text(_header() + _line(0), encoding="utf-8")
    progress = ap.read_progress(path, _records())
    ap.check_settings(progress, {"model": "m", "max_tokens": 8, "system": None, "extra_body": None, "base_url": "x"})
    with pytest.raises(ap.ProgressError, match=r":1: made with model='m', this run has model='other'.*--restart"):
        ap.check_settings(progress, {"model": "other", "max_tokens": 8, "system": None, "extra_body": None})


def test_two_runs_cannot_write_one_progress_file(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    first = ap.ProgressWriter(path)
    try:
        with pytest.raises(ap.ProgressError, match="another eval.api_predict run"):
            ap.ProgressWriter(path)
    finally:
        first.close()
    ap.ProgressWriter(path).close()  # free again once the first is closed


# ---------------------------------------------------------------- against a local HTTP server


class _Stub:
    """A tiny OpenAI-style server: answers ``echo:<prompt>``; ``fail`` holds statuses to return first."""

    def __init__(self):
        self.fail: list[tuple[int, dict] | None] = []
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests.append(body)
                    stub.headers.append(dict(self.headers))
                    failure = stub.fail.pop(0) if stub.fail else None  # None: answer normally
                if failure:
                    self._send(failure[0], {"error": "scripted failure"}, failure[1])
                    return
                time.sleep(stub.delay)
                prompt = body["messages"][-1]["content"]
                self._send(
                    200,
                    {
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": f"echo:{prompt}"},
                                "finish_reason": "stop",
                            }
                        ]
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()


@pytest.fixture
def stub():
    server = _Stub()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _client(stub, **kwargs) -> ap.Client:
    kwargs = {"model": "stub-model", "max_tokens": 8, "backoff": 0.001, "max_retries": 3, **kwargs}
    return ap.Client(base_url=stub.url, **kwargs)


def test_request_is_greedy_and_carries_the_key(stub, monkeypatch):
    monkeypatch.setenv("API_KEY", "secret-1")
    client = _client(stub, system="sys", extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert client.complete("你好") == ("echo:你好", "stop")
    client.close()
    body = stub.requests[0]
    assert body["temperature"] == 0 and body["max_tokens"] == 8 and body["stream"] is False
    assert body["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "你好"}]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert stub.headers[0]["Authorization"] == "Bearer secret-1"


def test_transient_errors_are_retried_with_backoff(stub):
    stub.fail = [(503, {}), (429, {"Retry-After": "0"}), (502, {})]
    waits = []
    client = _client(stub, sleep=lambda s: waits.append(s) or False)
    assert client.complete("x") == ("echo:x", "stop")
    client.close()
    assert len(stub.requests) == 4 and len(waits) == 3
    assert waits[0] < waits[2], "the delay grows"


def test_retries_are_bounded_and_other_errors_are_not_retried(stub):
    stub.fail = [(503, {})] * 10
    client = _client(stub, max_retries=2, sleep=lambda s: False)
    with pytest.raises(ap.RequestError, match=r"gave up after 3 attempts; last error: HTTP 503"):
        client.complete("x")
    assert len(stub.requests) == 3
    stub.fail = [(400, {})]
    with pytest.raises(ap.RequestError, match="HTTP 400"):
        client.complete("x")
    stub.fail = [(401, {})]
    with pytest.raises(ap.RequestError, match="HTTP 401.*API_KEY"):
        client.complete("x")
    client.close()
    assert len(stub.requests) == 5


def test_connection_refused_is_retried_then_reported(tmp_path):
    client = ap.Client(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", backoff=0.001, max_retries=2)
    with pytest.raises(ap.RequestError, match=r"gave up after 3 attempts; last error: ConnectError"):
        client.complete("x")
    client.close()


def _write_dataset(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(alpaca_records(n), ensure_ascii=False), encoding="utf-8")
    return path


def _final(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_run_writes_every_record_in_order_then_resumes_without_requests(stub, tmp_path):
    stub.delay = 0.01  # answers come back out of order with 4 workers
    records = ap.load_records(_write_dataset(tmp_path, 20))
    output = tmp_path / "out" / "generated_predictions.jsonl"
    settings = {"model": "stub-model", "max_tokens": 8, "system": None, "extra_body": None}
    summary = ap.run(records, output, _client(stub), settings, concurrency=4, progress_bar=False)
    assert (summary.done, summary.new, summary.output) == (20, 20, output)
    rows = _final(output)
    assert rows == [{"prompt": r.prompt, "predict": f"echo:{r.prompt}", "label": r.label} for r in records]
    assert list(rows[0]) == ["prompt", "predict", "label"]
    summary = ap.run(records, output, _client(stub), settings, concurrency=4, progress_bar=False)
    assert (summary.new, len(stub.requests)) == (0, 20) and _final(output) == rows


def test_run_stops_on_a_hard_error_and_resumes_past_a_torn_line(stub, tmp_path):
    records = ap.load_records(_write_dataset(tmp_path, 10))
    output = tmp_path / "generated_predictions.jsonl"
    sidecar = ap.progress_path(output)
    settings = {"model": "stub-model", "max_tokens": 8, "system": None, "extra_body": None}
    stub.fail = [None] * 4 + [(400, {})]  # the 5th request fails for good
    summary = ap.run(records, output, _client(stub), settings, concurrency=1, progress_bar=False)
    assert summary.output is None and "HTTP 400" in summary.error and (summary.done, summary.new) == (4, 4)
    assert not output.exists()
    with open(sidecar, "a", encoding="utf-8") as handle:  # a crash in the middle of a write
        handle.write(_line(5)[:12])
    assert ap.read_progress(sidecar, records).dropped_tail
    summary = ap.run(records, output, _client(stub), settings, concurrency=1, progress_bar=False)
    assert summary.output == output and summary.new == 6
    assert [row["predict"] for row in _final(output)] == [f"echo:{r.prompt}" for r in records]
    progress = ap.read_progress(sidecar, records)  # torn tail gone, every line valid, each index once
    assert sorted(progress.done) == list(range(10)) and not progress.dropped_tail
    assert [body["messages"][-1]["content"] for body in stub.requests].count(records[4].prompt) == 2


def test_main_reports_a_corrupt_progress_file(stub, tmp_path, capsys):
    data = _write_dataset(tmp_path, 3)
    output = tmp_path / "o" / "generated_predictions.jsonl"
    output.parent.mkdir()
    ap.progress_path(output).write_text(_header(n=3) + "{oops\n", encoding="utf-8")
    code = ap.main(["--dataset", str(data), "--output", str(output), "--base-url", stub.url, "--no-progress-bar"])
    assert code == 1
    assert f"error: {ap.progress_path(output)}:2: invalid JSON" in capsys.readouterr().err


def test_main_picks_the_served_model_and_the_default_output(stub, tmp_path, monkeypatch, capsys):
    write_dataset_dir(tmp_path / "data", {"cluener_val": alpaca_records(3)})
    monkeypatch.chdir(tmp_path)
    code = ap.main(
        ["--name", "some_run", "--split", "val", "--dataset-dir", "data", "--base-url", stub.url, "--no-progress-bar"]
    )
    assert code == 0, capsys.readouterr().err
    output = tmp_path / "saves" / "some_run" / "predict_val_api" / "generated_predictions.jsonl"
    assert len(_final(output)) == 3
    assert {body["model"] for body in stub.requests} == {"stub-model"} and stub.requests[0]["max_tokens"] == 128
    assert "chat_template_kwargs" not in stub.requests[0]


# ---------------------------------------------------------------- the real llamafactory-cli api


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
                "yaml_configs/chat/qwen3_4b_instruct2507_lora_sft.yaml",  # template qwen3_nothink
                f"model_name_or_path={tiny_qwen3}",
                f"adapter_name_or_path={adapter}",
            ),
            cwd=ROOT,
            env=cli_env(API_HOST="127.0.0.1", API_PORT=str(port), API_KEY=key),
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
    return [sys.executable, "-m", "eval.api_predict", "--no-progress-bar", *args]


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
    assert ap.main(args) == 0, capsys.readouterr().err
    output = tmp_path / "saves" / "tiny" / "predict_dev_api" / "generated_predictions.jsonl"
    rows = _final(output)
    assert [list(row) for row in rows] == [["prompt", "predict", "label"]] * 6
    assert [row["prompt"] for row in rows] == [r["instruction"] + "\n" + r["input"] for r in alpaca_records(6)]
    assert [row["label"] for row in rows] == [target for _, target in SENTENCES]
    assert all(isinstance(row["predict"], str) for row in rows)
    header = ap.read_progress(ap.progress_path(output), ap.load_records(tmp_path / "data" / "cluener_dev.json"))
    assert header.settings["model"] == "gpt-3.5-turbo"  # what LLaMA-Factory's api lists (API_MODEL_NAME)
    # Greedy: a fresh run gives the same answers.
    assert ap.main(args + ["--restart", "--concurrency", "1"]) == 0
    assert _final(output) == rows
    # A wrong key is an HTTP 401, reported at once (no retries), with a hint.
    monkeypatch.setenv("API_KEY", "wrong")
    assert ap.main(args + ["--model", "x", "--output", str(tmp_path / "o2.jsonl")]) == 1
    assert "HTTP 401" in capsys.readouterr().err


@pytest.mark.slow
def test_llamafactory_api_recipe_defaults_for_a_guided_hybrid_qwen3(lf_api, tmp_path, monkeypatch, capsys):
    """--name of a guided qwen3 recipe: its dataset variant, max tokens and the thinking-off extra body."""
    guided = alpaca_records(2, instruction=GUIDED_INSTRUCTION)
    write_dataset_dir(tmp_path / "data", {"cluener_guided_dev": guided})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_KEY", lf_api["key"])
    code = ap.main(
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
    assert [row["prompt"] for row in _final(output)] == [r["instruction"] + "\n" + r["input"] for r in guided]
    progress = ap.read_progress(
        ap.progress_path(output), ap.load_records(tmp_path / "data" / "cluener_guided_dev.json")
    )
    assert progress.settings["max_tokens"] == 128
    assert progress.settings["extra_body"] == {"chat_template_kwargs": {"enable_thinking": False}}


@pytest.mark.slow
def test_llamafactory_api_resume_after_sigkill(lf_api, tmp_path):
    """Kill the client (SIGKILL) after its first answers, rerun: every record once, in order, none lost."""
    n = 12
    data = _write_dataset(tmp_path, n)
    output = tmp_path / "run" / "generated_predictions.jsonl"
    sidecar = ap.progress_path(output)
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
    records = ap.load_records(data)
    before = ap.read_progress(sidecar, records).done
    assert 1 <= len(before) < n, f"killed after {len(before)} of {n}: not mid-run"
    assert not output.exists()

    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"({n - len(before)} new this run)" in rerun.stderr
    rows = _final(output)
    assert [row["prompt"] for row in rows] == [r.prompt for r in records]
    assert [row["label"] for row in rows] == [r.label for r in records]
    after = ap.read_progress(sidecar, records).done  # validates: no duplicate index, every line intact
    assert sorted(after) == list(range(n))
    assert all(rows[i]["predict"] == before[i]["predict"] for i in before), "answers from before the kill are kept"
    # Greedy decoding: the same prompt (every 6th record) gets the same answer, before and after the kill.
    assert all(rows[i]["predict"] == rows[i % len(SENTENCES)]["predict"] for i in range(n))
