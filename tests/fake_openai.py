"""A fake OpenAI-style chat server on 127.0.0.1 that answers from a script (status, body) per request: cut-short
bodies, ``null`` content, 5xx, ... It counts the POSTs it gets. Used by the client rows of test_bad_input."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def chat_answer(content="{}", finish_reason="stop", message: dict | None = None) -> bytes:
    message = {"role": "assistant", "content": content} if message is None else message
    return json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": finish_reason}]}).encode()


GOOD = (200, chat_answer())


MODELS = (200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode())


class FakeServer:
    """Answers ``GET /v1/models`` with ``models`` (one model by default) and each ``POST /v1/chat/completions``
    from ``script`` (a list of ``(status, body bytes)``, one per request in arrival order; when it runs out,
    ``after``). It counts the GETs and the POSTs."""

    def __init__(
        self, script: list[tuple[int, bytes]], after: tuple[int, bytes] = GOOD, models: tuple[int, bytes] = MODELS
    ):
        self.script, self.after, self.models, self.posts, self.gets = list(script), after, models, 0, 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with server.lock:
                    server.gets += 1
                self._send(*server.models)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server.lock:
                    server.posts += 1
                    status, body = server.script.pop(0) if server.script else server.after
                self._send(status, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
