"""doctor.model_source with real probes: a local folder, the HF cache layout, HF_HUB_OFFLINE, a hub that answers
(a real HTTP server on 127.0.0.1) and one that does not (a closed port)."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from doctor.model_source import model_check
from doctor.report import FAIL, OK

ROOT = Path(__file__).resolve().parents[1]


def check_in_env(name: str, env: dict, monkeypatch) -> object:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # huggingface_hub reads HF_HOME / HF_ENDPOINT / HF_HUB_OFFLINE once, at import: ask a fresh interpreter
    code = ("import sys, json; from doctor.model_source import model_check; c = model_check(sys.argv[1]); "
            "print(json.dumps([c.status, c.value, c.note]))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, name], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=120).stdout  # fmt: skip
    import json

    return json.loads(out.splitlines()[-1])


def test_a_local_model_folder_is_reachable(tiny_qwen3):
    check = model_check(str(tiny_qwen3))
    assert check.status == OK and "local folder" in check.value


@pytest.mark.parametrize("name", ["/no/such/model", "./models/nope", "saves/nope/merged"])
def test_a_missing_local_folder_is_not(name):
    check = model_check(name)
    assert check.status == FAIL and "no such folder" in check.note


def test_a_folder_without_config_json_is_not(tmp_path):
    check = model_check(str(tmp_path))
    assert check.status == FAIL and "no config.json" in check.note


@pytest.fixture()
def empty_hf_home(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return str(tmp_path / "hf")


def test_offline_and_not_cached_is_not_reachable(empty_hf_home, monkeypatch):
    status, _, note = check_in_env("Qwen/Qwen3-0.6B", {"HF_HOME": empty_hf_home, "HF_HUB_OFFLINE": "1"}, monkeypatch)
    assert status == FAIL and "not in the HF cache, and HF_HUB_OFFLINE=1" in note


def test_a_cached_model_is_reachable_offline(empty_hf_home, monkeypatch):
    """The cache layout huggingface_hub itself writes: refs/main names the snapshot holding config.json."""
    repo = Path(empty_hf_home) / "hub" / "models--Qwen--Qwen3-0.6B"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    status, value, _ = check_in_env("Qwen/Qwen3-0.6B", {"HF_HOME": empty_hf_home, "HF_HUB_OFFLINE": "1"}, monkeypatch)
    assert status == OK and "HF cache" in value


def test_a_hub_that_does_not_answer(empty_hf_home, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on: connection refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"HF_HOME": empty_hf_home, "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{port}"}
    status, _, note = check_in_env("Qwen/Qwen3-0.6B", env, monkeypatch)
    assert status == FAIL and "the hub does not answer" in note and "ConnectError" in note


def test_a_hub_that_answers(empty_hf_home, monkeypatch):
    asked = []

    class Hub(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            asked.append(self.path)
            code = 200 if self.path == "/api/models/Qwen/Qwen3-0.6B" else 404
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"HF_HOME": empty_hf_home, "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
        status, value, _ = check_in_env("Qwen/Qwen3-0.6B", env, monkeypatch)
        missing = check_in_env("Qwen/No-Such-Model", env, monkeypatch)
    finally:
        server.shutdown()
    assert status == OK and "will download" in value
    assert missing[0] == FAIL and "HTTP 404" in missing[2]
    assert asked == ["/api/models/Qwen/Qwen3-0.6B", "/api/models/Qwen/No-Such-Model"]


def test_modelscope_without_its_package_says_so(monkeypatch, tmp_path):
    status, _, note = check_in_env("Qwen/Qwen3-0.6B", {"USE_MODELSCOPE_HUB": "1", "MODELSCOPE_CACHE": str(tmp_path)},
                                   monkeypatch)  # fmt: skip
    from doctor.versions import installed

    if installed("modelscope") is None:
        assert status == FAIL and "needs the modelscope package" in note
