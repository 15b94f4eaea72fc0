"""Shared by the infer tests: a tiny OpenAI-style server (answers ``echo:<prompt>``, can be told to fail), a client
for it, alpaca datasets, progress lines, the final file."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from llm_assets import alpaca_records

from infer.client import Client
from infer.journal import PROGRESS_FORMAT, prompt_hash


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


def client_for(stub, **kwargs) -> Client:
    kwargs = {"model": "stub-model", "max_tokens": 8, "backoff": 0.001, "max_retries": 3, **kwargs}
    return Client(base_url=stub.url, **kwargs)


def progress_header(n: int = 4, **settings) -> str:
    header = {"model": "m", "max_tokens": 8, "system": None, "extra_body": None, **settings}
    return json.dumps({"header": dict(header, format=PROGRESS_FORMAT, n=n)}) + "\n"


def progress_line(index: int, predict: str = "p", prompt: str | None = None) -> str:
    sha = prompt_hash(prompt if prompt is not None else f"prompt {index}")
    return json.dumps({"index": index, "prompt_sha256": sha, "predict": predict, "finish_reason": "stop"}) + "\n"


def write_dataset(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(alpaca_records(n), ensure_ascii=False), encoding="utf-8")
    return path


def final_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
