"""infer.client: greedy requests, retries with backoff, bounded retries, against a local stub server."""

from __future__ import annotations

import infer_assets
import pytest
from infer_assets import client_for
from llm_assets import free_port

from infer.client import Client, RequestError

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

stub = infer_assets.stub  # the fixture (a local server)


def test_request_is_greedy_and_carries_the_key(stub, monkeypatch):
    monkeypatch.setenv("API_KEY", "secret-1")
    client = client_for(stub, system="sys", extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert client.complete("你好") == ("echo:你好", "stop", None)  # text, finish_reason, no_content
    client.close()
    body = stub.requests[0]
    assert body["temperature"] == 0 and body["max_tokens"] == 8 and body["stream"] is False
    assert body["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "你好"}]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert stub.headers[0]["Authorization"] == "Bearer secret-1"


def test_transient_errors_are_retried_with_backoff(stub):
    stub.fail = [(503, {}), (429, {"Retry-After": "0"}), (502, {})]
    waits = []
    client = client_for(stub, sleep=lambda s: waits.append(s) or False)
    assert client.complete("x") == ("echo:x", "stop", None)
    client.close()
    assert len(stub.requests) == 4 and len(waits) == 3
    assert waits[0] < waits[2], "the delay grows"


def test_retries_are_bounded_and_other_errors_are_not_retried(stub):
    stub.fail = [(503, {})] * 10
    client = client_for(stub, max_retries=2, sleep=lambda s: False)
    with pytest.raises(RequestError, match=r"gave up after 3 attempts; last error: HTTP 503"):
        client.complete("x")
    assert len(stub.requests) == 3
    stub.fail = [(400, {})]
    with pytest.raises(RequestError, match="HTTP 400"):
        client.complete("x")
    stub.fail = [(401, {})]
    with pytest.raises(RequestError, match="HTTP 401.*API_KEY"):
        client.complete("x")
    client.close()
    assert len(stub.requests) == 5


def test_a_refused_connection_before_any_answer_is_reported_at_once(tmp_path):
    """Nothing listening: no retries (the slept backoffs would be 1 s doubling); the error says how to start one."""
    waits: list[float] = []
    client = Client(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=8,
                    sleep=lambda seconds: waits.append(seconds) or False)  # fmt: skip
    with pytest.raises(RequestError, match=r"no server answers \(ConnectError.*make api.*make serve-vllm"):
        client.complete("x")
    with pytest.raises(RequestError, match=r"no server answers"):
        client.probe()
    assert waits == []
    client.close()


def test_a_refused_connection_after_the_server_answered_is_retried_then_reported(stub):
    client = client_for(stub, max_retries=2)
    assert client.complete("x").text == "echo:x"
    stub.server.shutdown()
    stub.server.server_close()
    with pytest.raises(RequestError, match=r"gave up after 3 attempts; last error: ConnectError"):
        client.complete("y")
    client.close()
