"""Bad input and faults of ``python -m infer`` (``make predict-api``) (issue 17; the download's are in
test_bad_input_download.py).

Every row runs the real command line as a subprocess and asserts a user error -- a non-zero exit and exactly one
``error:`` line naming the argument, path or URL, never a traceback -- or the exact result. The faults are real:

- Ctrl-C is a real SIGINT sent to the process group (as a terminal sends it), once, twice, and through coreutils
  ``timeout`` (which passes it on: python gets two), against a real local server that holds the requests it has
  not answered: the run must end while they are still held, and the rerun must make the journal's answers exact
  (every record once, none asked twice);
- a full disk is a real small tmpfs (mounted where this process may mount, else RLIMIT_FSIZE in the child: EFBIG);
- a read-only folder is a real read-only tmpfs (else a 0555 folder, which only binds a non-root user);
- no server is a real port nothing listens on.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fake_openai import FakeServer, chat_answer
from fault_harness import ROOT, assert_ok, assert_user_error, run_cli
from llm_assets import free_port

from infer.journal import progress_path, read_progress
from infer.records import load_records

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

POLL = 0.02  # seconds between looks at a file another process writes
WAIT = 60  # a bound for what must happen (a hang fails the test, it never stalls the suite)


# ---------------------------------------------------------------- fixtures of the rows


def write_records(path: Path, n: int, input_size: int = 8) -> Path:
    rows = [{"instruction": "抽取实体", "input": f"句子{i:03d}" + "文" * input_size, "output": "{}"} for i in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def infer_args(dataset: Path, output: Path | str, url: str, *extra: str) -> list[str]:
    return ["-m", "infer", "--dataset", str(dataset), "--output", str(output), "--base-url", url, "--model", "m",
            "--max-retries", "2", "--backoff", "0", "--no-progress-bar", *extra]  # fmt: skip


class EchoServer:
    """An OpenAI-style server on 127.0.0.1 that answers ``echo:<the prompt's first keep characters>`` plus ``pad``
    characters: the first ``answer_now`` requests at once, the others only after :meth:`release` (a slow server).
    It records every prompt it was asked and counts the requests it holds."""

    def __init__(self, answer_now: int | None = None, pad: int = 0, keep: int | None = None):
        self.answer_now, self.pad, self.keep = answer_now, pad, keep
        self.prompts: list[str] = []
        self.holding = 0
        self.lock = threading.Lock()
        self.released = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode())

            def do_POST(self):
                prompt = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["messages"][-1]["content"]
                with server.lock:
                    server.prompts.append(prompt)
                    hold = server.answer_now is not None and len(server.prompts) > server.answer_now
                    server.holding += hold
                if hold:
                    server.released.wait(WAIT * 2)
                    with server.lock:
                        server.holding -= 1
                with contextlib.suppress(OSError):  # the client may be gone (killed): nothing to answer
                    self._send(chat_answer(server.answer(prompt)))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, prompt: str) -> str:
        return f"echo:{prompt[: self.keep]}" + "x" * self.pad

    def release(self) -> None:
        """From now on answer everything at once (and the requests held so far)."""
        self.answer_now = None
        self.released.set()

    def close(self) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def echo() -> Iterator[Callable[..., EchoServer]]:
    servers: list[EchoServer] = []

    def start(**kwargs) -> EchoServer:
        servers.append(EchoServer(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def assert_exact(dataset: Path, output: Path, server: EchoServer) -> None:
    """The final file holds every record once, in dataset order, each with its own answer."""
    records = load_records(dataset)
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["prompt"] for row in rows] == [r.prompt for r in records]
    assert [row["predict"] for row in rows] == [server.answer(r.prompt) for r in records]


def journaled_prompts(dataset: Path, output: Path) -> set[str]:
    records = load_records(dataset)
    progress = read_progress(progress_path(output), records)
    assert progress is not None and not progress.dropped_tail  # whole lines only
    return {records[index].prompt for index in progress.done}


# ---------------------------------------------------------------- real places: a small disk, a read-only folder


def _mount(target: Path, options: str) -> bool:
    """Mount a tmpfs on ``target`` where this process may (root in a container allowing it); False otherwise."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
    return done.returncode == 0


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@dataclass
class SmallDisk:
    """A folder with only ``size`` bytes of room: a tmpfs of that size, else a child limit on file size."""

    path: Path
    size: int
    mounted: bool

    def preexec(self) -> Callable[[], None] | None:
        if self.mounted:
            return None
        return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (self.size, self.size))

    def grow(self) -> None:
        """Free space: the tmpfs remounted 64 times larger (the files stay), or no limit in the next child."""
        if self.mounted:
            subprocess.run(["mount", "-o", f"remount,size={self.size * 64}", str(self.path)], check=True)
        else:
            self.size = resource.RLIM_INFINITY


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: int) -> Iterator[SmallDisk]:
    path = tmp_path / "small"
    mounted = _mount(path, f"size={size}")
    path.mkdir(exist_ok=True)
    try:
        yield SmallDisk(path, size, mounted)
    finally:
        if mounted:
            _umount(path)


@contextlib.contextmanager
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "readonly"
    mounted = _mount(path, "ro,size=64k")
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("root here cannot mount a read-only tmpfs, and permission bits do not bind root")
        path.mkdir(exist_ok=True)
        path.chmod(0o555)
    try:
        yield path
    finally:
        if mounted:
            _umount(path)
        else:
            path.chmod(0o755)


def run_in(
    args: list[str], cwd: Path, preexec: Callable[[], None] | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``run_cli``, with more environment and a function the child runs before Python starts (a limit)."""
    if preexec is None and not env:
        return run_cli(args, cwd)
    full = {**os.environ, "PYTHONPATH": str(ROOT)}
    full.pop("API_KEY", None)
    full.pop("OPENAI_API_KEY", None)
    full.update(env or {})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=300,
                          preexec_fn=preexec, check=False)  # fmt: skip


# ---------------------------------------------------------------- the table: arguments and inputs


@dataclass
class Row:
    """``setup(tmp, url)`` writes fixtures and returns the arguments of ``python -m infer``; the run must end in one
    error line holding every needle, before any request (the server counts them), or succeed (``ok``)."""

    id: str
    setup: Callable[[Path, str], list[str]]
    needles: tuple[str, ...] = ()
    ok: bool = False
    models: tuple[int, bytes] | None = None  # what GET /v1/models answers (then --model is left out)
    env: dict[str, str] | None = None  # more environment for the command


def _plain(*extra: str, n: int = 2) -> Callable[[Path, str], list[str]]:
    return lambda tmp, url: infer_args(write_records(tmp / "d.json", n), tmp / "out" / "p.jsonl", url, *extra)


def _dataset(content: str | bytes, name: str = "bad.json") -> Callable[[Path, str], list[str]]:
    def setup(tmp: Path, url: str) -> list[str]:
        (tmp / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return infer_args(tmp / name, tmp / "out" / "p.jsonl", url)

    return setup


def _output_is_a_folder(tmp: Path, url: str) -> list[str]:
    (tmp / "out").mkdir()
    return infer_args(write_records(tmp / "d.json", 2), tmp / "out", url)


def _journal_is_a_folder(tmp: Path, url: str) -> list[str]:
    progress_path(tmp / "out" / "p.jsonl").mkdir(parents=True)
    return infer_args(write_records(tmp / "d.json", 2), tmp / "out" / "p.jsonl", url)


def _output_is_the_dataset(tmp: Path, url: str) -> list[str]:
    dataset = write_records(tmp / "d.json", 2)
    return infer_args(dataset, dataset, url)


def _output_under_a_file(tmp: Path, url: str) -> list[str]:
    (tmp / "afile").write_text("x", encoding="utf-8")
    return infer_args(write_records(tmp / "d.json", 2), tmp / "afile" / "p.jsonl", url)


def _without_model(args: list[str]) -> list[str]:
    i = args.index("--model")
    return args[:i] + args[i + 2 :]


def _models(content: bytes) -> tuple[int, bytes]:
    return (200, content)


U2028 = json.dumps({"instruction": "抽取实体", "input": "上海\u2028浦东", "output": "{}"}, ensure_ascii=False) + "\n"
ROWS = [
    Row("--timeout -1", _plain("--timeout", "-1"), ("--timeout", "> 0")),
    Row("--timeout nan", _plain("--timeout", "nan"), ("--timeout", "finite")),
    Row("--timeout inf", _plain("--timeout", "inf"), ("--timeout", "finite")),
    Row("--timeout 0", _plain("--timeout", "0"), ("--timeout", "> 0")),
    Row("--backoff nan", _plain("--backoff", "nan"), ("--backoff", "finite")),
    Row("--split bogus (make predict-api SPLIT=bogus)", _plain("--split", "bogus"), ("--split", "bogus", "dev")),
    Row("port abc (make predict-api API_PORT=abc)", lambda t, u: infer_args(write_records(t / "d.json", 2),
        t / "o.jsonl", "http://127.0.0.1:abc/v1"), ("--base-url", "'abc'", "API_PORT")),  # fmt: skip
    Row("port 99999", lambda t, u: infer_args(write_records(t / "d.json", 2), t / "o.jsonl",
        "http://127.0.0.1:99999/v1"), ("--base-url", "'99999'", "65535")),  # fmt: skip
    Row("port 0", lambda t, u: infer_args(write_records(t / "d.json", 2), t / "o.jsonl", "http://127.0.0.1:0/v1"),
        ("--base-url", "'0'")),  # fmt: skip
    Row("base URL without a scheme", lambda t, u: infer_args(write_records(t / "d.json", 2), t / "o.jsonl",
        "127.0.0.1:8000/v1"), ("--base-url", "http://")),  # fmt: skip
    Row("--concurrency 0", _plain("--concurrency", "0"), ("--concurrency", ">= 1")),
    Row("--concurrency 100000", _plain("--concurrency", "100000"), ("--concurrency", "<= 1024")),
    Row("--concurrency x", _plain("--concurrency", "x"), ("--concurrency", "'x'", "whole number")),
    Row("--limit -1", _plain("--limit", "-1"), ("--limit", ">= 1")),
    Row("--max-retries -1", _plain("--max-retries", "-1"), ("--max-retries", ">= 0")),
    Row("--max-tokens 0", _plain("--max-tokens", "0"), ("--max-tokens", ">= 1")),
    Row("--name a path (writes outside saves/)", lambda t, u: ["-m", "infer", "--name", "../../x", "--base-url", u],
        ("--name", "../../x")),  # fmt: skip
    Row("--extra-body NaN", _plain("--extra-body", '{"x": NaN}'), ("--extra-body", "NaN")),
    Row("--extra-body a list", _plain("--extra-body", "[1]"), ("--extra-body", "JSON object")),
    Row("--output a folder", _output_is_a_folder, ("out", "is a folder")),
    Row("--output ending in /", lambda t, u: infer_args(write_records(t / "d.json", 2), f"{t}/out/", u),
        ("--output", "names a folder")),  # fmt: skip
    Row("the journal's path a folder", _journal_is_a_folder, ("p.progress.jsonl", "is a folder")),
    Row("--output the dataset itself", _output_is_the_dataset, ("d.json", "is the dataset")),
    Row("--output under a file", _output_under_a_file, ("afile", "is a file")),
    Row("dataset not JSON", _dataset('[{"instruction": "x",'), ("bad.json:1", "invalid JSON")),
    Row("dataset a JSON string", _dataset('"hello"'), ("bad.json:1", "expected an object")),
    Row("dataset empty", _dataset(""), ("bad.json", "no records")),
    Row("dataset not UTF-8", _dataset(b'[{"instruction": "\xff"}]'), ("bad.json", "not valid UTF-8")),
    Row("dataset a record without instruction", _dataset('[{"input": "x"}]'), ("bad.json: record 1", "instruction")),
    Row("dataset an unpaired surrogate", _dataset('[{"instruction": "x\\ud800"}]'),
        ("bad.json: record 1", "surrogate")),  # fmt: skip
    Row("dataset a raw U+2028 inside a JSON line", _dataset(U2028, "u.jsonl"), ok=True),
    Row("--dataset a name, dataset_info.json not JSON",
        lambda t, u: (t / "dataset_info.json").write_text("{oops", encoding="utf-8")
        and infer_args(Path("cluener_dev"), t / "o.jsonl", u) + ["--dataset-dir", str(t)],
        ("dataset_info.json", "not valid JSON")),  # fmt: skip
    Row("API_KEY not ASCII", _plain(), ("API_KEY", "cannot carry"), env={"API_KEY": "密钥"}),
    Row("OPENAI_API_KEY with a newline", _plain(), ("OPENAI_API_KEY", "cannot carry"),
        env={"OPENAI_API_KEY": "sk-a\nb"}),  # fmt: skip
    Row("a proxy URL with a bad port in the environment",
        lambda t, u: infer_args(write_records(t / "d.json", 2), t / "o.jsonl", "http://example.invalid/v1"),
        ("HTTP_PROXY", "Invalid port"), env={"HTTP_PROXY": "http://proxy:abc", "http_proxy": "http://proxy:abc"}),
    Row("models: a 200 that is not JSON", lambda t, u: _without_model(_plain()(t, u)), ("models", "not JSON"),
        models=_models(b"<html>a web page</html>")),  # fmt: skip
    Row("models: JSON without data[].id", lambda t, u: _without_model(_plain()(t, u)), ("models", "data[].id"),
        models=_models(b'{"object": "list"}')),  # fmt: skip
    Row("models: an id that is not a name", lambda t, u: _without_model(_plain()(t, u)), ("models", "not a name"),
        models=_models(b'{"data": [{"id": null}]}')),  # fmt: skip
    Row("models: none served", lambda t, u: _without_model(_plain()(t, u)), ("serves 0 models", "SERVED_MODEL"),
        models=_models(b'{"data": []}')),  # fmt: skip
    Row("models: 404 (not an OpenAI server)", lambda t, u: _without_model(_plain()(t, u)), ("models", "HTTP 404"),
        models=(404, b"<html>\n<h1>Not Found</h1>\n</html>")),  # fmt: skip
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_infer(row: Row, tmp_path):
    """One line, non-zero exit, not one request sent (the checks come first) and nothing written (not even a
    folder); or the exact result."""
    server = FakeServer([], models=row.models) if row.models else FakeServer([])
    try:
        args = row.setup(tmp_path, server.url)
        before = sorted(tmp_path.rglob("*"))
        proc = run_in(args, tmp_path, env=row.env)
        if row.ok:
            assert_ok(proc)
        else:
            assert_user_error(proc, row.needles)
            assert server.posts == 0 and sorted(tmp_path.rglob("*")) == before
            assert server.gets <= 1  # a model list that cannot be read is not asked for again
    finally:
        server.close()


# ---------------------------------------------------------------- no server


def test_no_server_is_one_line_at_once_naming_the_url_and_how_to_start_one(tmp_path):
    """Nothing on the port: not 9 attempts with backoff doubling from 30 s (hours), but one line now."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    for model in (["--model", "m"], []):
        args = infer_args(write_records(tmp_path / "d.json", 2), tmp_path / "out" / "o.jsonl", url, "--max-retries",
                          "8", "--backoff", "30")  # fmt: skip
        args = args if model else _without_model(args)
        line = assert_user_error(run_cli(args, tmp_path), (url, "no server answers", "make api", "make serve-vllm"))
        assert "Connection refused" in line and not (tmp_path / "out").exists()


# ---------------------------------------------------------------- Ctrl-C against a slow server

SIGNAL_ROWS = [  # (id, how the command is started, signals sent to its process group, seconds between them)
    ("one Ctrl-C", [], [signal.SIGINT], 0),
    ("two Ctrl-C at once", [], [signal.SIGINT] * 2, 0),
    ("two Ctrl-C 50 ms apart", [], [signal.SIGINT] * 2, 0.05),
    ("two Ctrl-C through timeout", ["timeout", "600"], [signal.SIGINT] * 2, 0.05),
    ("one Ctrl-C through timeout (python gets two)", ["timeout", "600"], [signal.SIGINT], 0),
    ("SIGTERM (what timeout sends when time is up)", [], [signal.SIGTERM], 0),
]


@pytest.mark.parametrize("wrapper, signals, gap", [r[1:] for r in SIGNAL_ROWS], ids=[r[0] for r in SIGNAL_ROWS])
def test_signals_against_a_slow_server_stop_at_once_and_the_journal_stays_exact(tmp_path, echo, wrapper, signals,
                                                                               gap):  # fmt: skip
    """5 of 12 answered, the other requests held by the server (--timeout 600): Ctrl-C ends the run while they are
    still held, with no traceback; the journal holds the 5 answers as whole lines; the rerun asks only for the other
    7 and writes every record once, in order. After Ctrl-C the exit is 130, or death by SIGINT where the second one
    lands as the interpreter has already ended (what a shell reads as an interrupted command too); SIGTERM kills."""
    if wrapper and not shutil.which(wrapper[0]):
        pytest.skip(f"no {wrapper[0]} here")
    slow = echo(answer_now=5)
    dataset, output = write_records(tmp_path / "d.json", 12), tmp_path / "out" / "p.jsonl"
    args = infer_args(dataset, output, slow.url, "--concurrency", "4", "--timeout", "600")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*wrapper, sys.executable, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        journal, deadline = progress_path(output), time.monotonic() + WAIT
        while not (journal.exists() and journal.read_text(encoding="utf-8").count("\n") == 1 + 5 and slow.holding):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(POLL)
        for signum in signals:
            os.killpg(proc.pid, signum)
            time.sleep(gap)
        _, stderr = proc.communicate(timeout=WAIT)  # the server still holds the requests: nothing waits for them
        assert slow.holding > 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "Traceback" not in stderr and "release unlocked lock" not in stderr, stderr
    if signals[0] == signal.SIGINT:
        assert proc.returncode in (130, -signal.SIGINT) and "stopped" in stderr, stderr
    else:
        assert proc.returncode == -signals[0], stderr
    answered = journaled_prompts(dataset, output)
    assert answered == set(slow.prompts[:5]) and not output.exists()

    slow.release()
    asked_before = len(slow.prompts)
    assert_ok(run_cli(args, tmp_path))
    assert_exact(dataset, output, slow)
    asked_again = slow.prompts[asked_before:]
    assert len(asked_again) == 7 and not answered & set(asked_again)


# ---------------------------------------------------------------- a full disk, a read-only folder


def test_a_disk_that_fills_while_answering_names_the_journal_and_the_resume_is_exact(tmp_path, echo):
    """Answers of 2000 characters into 12 KiB: the journal fills after a few. One line naming it; whole lines only
    (the partial write is cut back); with room again, the rerun asks only for the rest and the file is exact."""
    server = echo(pad=2000)
    dataset = write_records(tmp_path / "d.json", 10)
    with small_disk(tmp_path, 12 * 1024) as disk:
        output = disk.path / "p.jsonl"
        args = infer_args(dataset, output, server.url, "--concurrency", "1")
        line = assert_user_error(run_in(args, tmp_path, disk.preexec()), (str(progress_path(output)),))
        assert "No space left on device" in line or "File too large" in line
        answered = journaled_prompts(dataset, output)
        assert 0 < len(answered) < 10 and not output.exists()
        disk.grow()
        asked_before = len(server.prompts)
        assert_ok(run_in(args, tmp_path, disk.preexec()))
        assert_exact(dataset, output, server)
        assert not answered & set(server.prompts[asked_before:])
        assert len(server.prompts) - asked_before == 10 - len(answered)


def test_a_disk_too_full_for_the_final_file_names_it_and_the_rerun_asks_nothing(tmp_path, echo):
    """Short answers, long prompts: the journal fits in 12 KiB, the final file does not. One line naming it, no
    temp file left; with room again the rerun writes it from the journal without a request."""
    server = echo(keep=8)
    dataset = write_records(tmp_path / "d.json", 10, input_size=700)
    with small_disk(tmp_path, 12 * 1024) as disk:
        output = disk.path / "p.jsonl"
        args = infer_args(dataset, output, server.url)
        line = assert_user_error(run_in(args, tmp_path, disk.preexec()), (str(output) + ":",))
        assert "No space left on device" in line or "File too large" in line
        assert sorted(p.name for p in disk.path.iterdir()) == [progress_path(output).name]  # no temp file
        assert len(journaled_prompts(dataset, output)) == 10
        disk.grow()
        asked_before = len(server.prompts)
        proc = run_in(args, tmp_path, disk.preexec())
        assert_ok(proc)
        assert "(0 new this run)" in proc.stderr and len(server.prompts) == asked_before
        assert_exact(dataset, output, server)


def test_a_read_only_output_folder_is_one_line_before_the_first_request(tmp_path):
    server = FakeServer([])
    try:
        with read_only_folder(tmp_path) as folder:
            args = infer_args(write_records(tmp_path / "d.json", 2), folder / "p.jsonl", server.url)
            line = assert_user_error(run_cli(args, tmp_path), (str(folder),))
            assert "Read-only file system" in line or "Permission denied" in line
            assert server.posts == 0 and list(folder.iterdir()) == []
    finally:
        server.close()
