"""Measure two well-kept libraries against the hand-written code they could replace, on this project's own cases.

    PYTHONPATH=tests python -m benchmarks.bench_libraries target   # json-repair vs cluener/target.py's reader
    python -m benchmarks.bench_libraries client                    # the openai SDK vs infer/client.py's HTTP part

Neither library is a dependency of the project (the measurements are why); install them into a scratch
environment that sees the project's packages, e.g.::

    python -m venv /tmp/libs && .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \\
        > /tmp/libs/lib/python3.11/site-packages/project.pth
    /tmp/libs/bin/pip install json-repair==0.64.4 openai==3.51.0
    PYTHONPATH=tests /tmp/libs/bin/python -m benchmarks.bench_libraries target

``target`` runs the recovery cases of tests/test_cluener_target.py (expected status and entities), every prefix of
every dev target (a model output cut short: how many complete gold strings are kept, how many cut strings are
invented) and the known hard inputs of that test at 2,000 and 20,000 characters (seconds), once with the
hand-written reader and once with ``json_repair.loads`` in its place (the rest of the parser unchanged).
``client`` sends one request per case to a scripted local server with each client (2 retries, 0.5 s first delay)
and prints the attempts, the time and what the caller gets.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def need(module: str, pin: str):
    try:
        return __import__(module)
    except ImportError:
        sys.exit(f"error: {module} is not installed here: pip install {pin} into a scratch environment (see --help)")


# ---------------------------------------------------------------- target: json-repair vs the lenient reader


def bench_target() -> None:
    json_repair = need("json_repair", "json-repair==0.64.4")
    import cluener.target as target

    try:  # the test cases themselves, with tests/ on PYTHONPATH (the project edits no sys.path)
        import test_cluener_target as cases_module
    except ModuleNotFoundError:
        sys.exit("error: bench_libraries target reads tests/test_cluener_target.py: run it with PYTHONPATH=tests")
    from cluener.layout import RAW_FILES
    from cluener.reader import read_cluener
    from conftest import SHARED_CLUENER

    hand_written = target._scan

    def scan_with_json_repair(text: str):
        if not text:
            return None
        try:
            value = json_repair.loads(text)
        except Exception:  # noqa: BLE001 - any failure of the library is a failed parse
            return None
        return None if value in ("", None) else target._interpret(value)

    cases = cases_module.test_recoveries.pytestmark[0].args[1]
    hard = cases_module.test_parse_work_is_linear_on_known_hard_inputs.pytestmark[0].args[1]
    dev = read_cluener(SHARED_CLUENER / RAW_FILES["dev"])
    from importlib.metadata import version

    readers = (("hand-written reader", hand_written), (f"json-repair {version('json-repair')}", scan_with_json_repair))
    for name, scan in readers:
        target._scan = scan
        right = [c for c in cases if (lambda r: (r.status, r.entities))(target.parse_target(c[0])) == (c[1], c[2])]
        print(f"== {name}\n  recovery cases right (status, entities): {len(right)}/{len(cases)}")
        for raw, status, entities, _ in cases:
            result = target.parse_target(raw)
            if (result.status, result.entities) != (status, entities):
                print(f"    {raw!r}: expected {status} {entities}, got {result.status} {result.entities}")
        counts = {"cuts": 0, "ok": 0, "repaired": 0, "failed": 0, "gold strings kept": 0, "invented strings": 0}
        started = time.perf_counter()
        for ex in dev:
            rendered = target.render_target(ex.text, ex.entities)
            gold = {(label, s) for label, strings in json.loads(rendered).items() for s in strings}
            for cut in range(1, len(rendered)):
                result = target.parse_target(rendered[:cut])
                counts["cuts"] += 1
                counts[result.status] += 1
                for label, strings in result.entities.items():
                    for s in strings:
                        counts["gold strings kept" if (label, s) in gold else "invented strings"] += 1
        print(f"  every prefix of every dev target: {counts}, {time.perf_counter() - started:.1f} s")
        for prefix, chunk in hard:
            times = []
            for size in (2_000, 20_000):
                text = prefix + chunk * (size // len(chunk))
                started = time.perf_counter()
                target.parse_target(text)
                times.append(time.perf_counter() - started)
            print(f"  {prefix + chunk!r:36} 2k chars {times[0]:.4f} s, 20k chars {times[1]:.4f} s")
    target._scan = hand_written


# ---------------------------------------------------------------- client: the openai SDK vs infer/client.py


def _answer(content="{}", message=None, choices=None) -> bytes:
    message = {"role": "assistant", "content": content} if message is None else message
    choices = [{"index": 0, "message": message, "finish_reason": "stop"}] if choices is None else choices
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": choices}).encode()


class _Server:
    def __init__(self, script: list[tuple[int, bytes, dict]]):
        self.script, self.posts = list(script), 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.posts += 1
                status, body, headers = server.script.pop(0) if server.script else (200, _answer(), {})
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def bench_client() -> None:
    openai = need("openai", "openai==3.51.0")
    from infer.client import Client, RequestError

    cut = b'{"choices": [ {"message": '
    cases = {
        "503, 503, then 200": [(503, b"{}", {})] * 2,
        "429 Retry-After 2, then 200": [(429, b"{}", {"Retry-After": "2"})],
        "200 cut short, then 200": [(200, cut, {})],
        "200 cut short, always": [(200, cut, {})] * 10,
        "200 with choices [], then 200": [(200, _answer(choices=[]), {})],
        "200 with content null": [(200, _answer(None), {})],
        "200 without content": [(200, _answer(message={"role": "assistant"}), {})],
        "404": [(404, b'{"error": "no"}', {})],
    }

    def ours(url: str) -> str:
        client = Client(base_url=url, model="m", max_retries=2, backoff=0.5, max_backoff=8.0)
        try:
            return f"{client.complete('x')}"
        except RequestError as exc:
            return f"RequestError: {str(exc)[-90:]}"
        finally:
            client.close()

    def sdk(url: str) -> str:
        client = openai.OpenAI(base_url=url, api_key="none", max_retries=2, timeout=30)
        try:
            reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        except Exception as exc:  # noqa: BLE001 - what the caller would have to catch
            return f"{type(exc).__name__}: {str(exc)[:90]}"
        try:
            return f"content {reply.choices[0].message.content!r}, finish_reason {reply.choices[0].finish_reason!r}"
        except Exception as exc:  # noqa: BLE001
            return f"the caller gets {type(exc).__name__}: {exc}"

    for name, script in cases.items():
        for who, call in (("infer.client", ours), (f"openai {openai.__version__}", sdk)):
            server = _Server(script)
            started = time.perf_counter()
            got = call(server.url)
            print(f"{name:32} {who:14} attempts {server.posts}  {time.perf_counter() - started:5.2f} s  {got}")
            server.httpd.shutdown()
    server = _Server([(503, b"{}", {})] * 10)
    client = Client(base_url=server.url, model="m", max_retries=8, backoff=4, max_backoff=8)
    threading.Timer(0.5, client.stop.set).start()
    started = time.perf_counter()
    try:
        client.complete("x")
    except RequestError as exc:
        print(f"infer.client: another worker failed 0.5 s into a 2-4 s backoff -> {exc} after "
              f"{time.perf_counter() - started:.2f} s")  # fmt: skip
    constants = openai._constants
    print(f"openai backoff: first {constants.INITIAL_RETRY_DELAY} s, at most {constants.MAX_RETRY_DELAY} s, "
          "slept with time.sleep (no way to stop it from another thread)")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("target", "client"):
        sys.exit(__doc__)
    {"target": bench_target, "client": bench_client}[sys.argv[1]]()
