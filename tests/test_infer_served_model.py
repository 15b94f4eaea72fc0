"""`make predict-api` against a server with several models (`vllm serve ... --lora-modules <recipe>=saves/<recipe>`
lists the base model and the adapter): the client asks for the one named like the recipe, or for SERVED_MODEL
(--model); with neither served it stops with one line naming the models and the variable to set."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from llm_assets import alpaca_records, write_dataset_dir

from infer.__main__ import main

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

RECIPE = "qwen3_4b_instruct2507_lora_sft"


@pytest.fixture
def two_models():
    """An OpenAI-style server listing a base model and a LoRA adapter, as vllm serve does; answers ``{}``."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, body: dict):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._send({"object": "list", "data": [{"id": "Qwen/Qwen3-4B-Instruct-2507"}, {"id": RECIPE}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append(body["model"])
            self._send({"choices": [{"index": 0, "message": {"role": "assistant", "content": "{}"},
                                     "finish_reason": "stop"}]})  # fmt: skip

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", asked
    server.shutdown()
    server.server_close()


def run(tmp_path, monkeypatch, url: str, *extra: str) -> int:
    write_dataset_dir(tmp_path / "data", {"cluener_dev": alpaca_records(3)})
    monkeypatch.chdir(tmp_path)
    args = ["--split", "dev", "--dataset-dir", "data", "--base-url", url, "--no-progress-bar", *extra]
    return main(args)


def test_the_recipe_name_picks_the_adapter(two_models, tmp_path, monkeypatch):
    url, asked = two_models
    assert run(tmp_path, monkeypatch, url, "--name", RECIPE, "--recipe-dir", str(_recipes())) == 0
    assert asked and set(asked) == {RECIPE}


def test_served_model_wins(two_models, tmp_path, monkeypatch):
    url, asked = two_models
    base = "Qwen/Qwen3-4B-Instruct-2507"
    assert run(tmp_path, monkeypatch, url, "--name", RECIPE, "--recipe-dir", str(_recipes()), "--model", base) == 0
    assert set(asked) == {base}


def test_no_model_of_that_name_is_one_line_naming_the_models_and_the_variable(two_models, tmp_path, monkeypatch,
                                                                             capsys):  # fmt: skip
    url, asked = two_models
    assert run(tmp_path, monkeypatch, url, "--dataset", "data/cluener_dev.json", "--output", "o.jsonl") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and not asked
    assert f"serves 2 models (Qwen/Qwen3-4B-Instruct-2507, {RECIPE})" in err
    assert "SERVED_MODEL=" in err and "--model" in err


def _recipes():
    from llm_assets import ROOT

    return ROOT / "yaml_configs"
