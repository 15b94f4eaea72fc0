"""``python -m eval.api_predict``: predict a split through an OpenAI-compatible chat-completions endpoint.

The fast path for large splits: serve the model with vLLM (``llamafactory-cli api yaml_configs/chat/<recipe>.yaml
infer_backend=vllm``, or ``vllm serve BASE --enable-lora --lora-modules NAME=saves/<recipe> --max-lora-rank 16``)
and send every prompt concurrently. LLaMA-Factory's own vLLM batch script is not in its wheel; this client needs
nothing beyond httpx and tqdm (both installed with LLaMA-Factory).

What it sends. The prompt of an alpaca record is built exactly as LLaMA-Factory's alpaca converter builds it,
``instruction + "\\n" + input`` (either part left out when empty), and goes out as one user message (plus an
optional ``--system`` message); the server applies the chat template. Decoding is greedy: ``temperature: 0``.
LLaMA-Factory's api passes it to every engine: the huggingface engine turns a zero temperature into
``do_sample=False`` and the vllm / sglang engines treat 0 as greedy (they ignore ``do_sample``); ``vllm serve`` does
the same. Hybrid Qwen3 models served by plain ``vllm serve`` need thinking switched off in the request, as the
recipes do in training: ``{"chat_template_kwargs": {"enable_thinking": false}}`` is added to each request when the
recipe of ``--name`` has ``enable_thinking: false`` (``--extra-body`` replaces it; LLaMA-Factory's api takes the
setting from its yaml instead and ignores the unknown field).

What it writes. ``generated_predictions.jsonl`` in dataset order, one ``{"prompt", "predict", "label"}`` object a
line, like LLaMA-Factory's ``do_predict`` output, except that ``prompt`` is the plain prompt above, whereas
LLaMA-Factory writes the decoded *templated* prompt (chat markup, system prompt, empty think block). ``label`` is the
record's ``output`` (``""`` on the unlabelled test split). Default path:
``saves/<name>/predict_<split>_api/generated_predictions.jsonl``.

Resuming. Each answer is appended to a sidecar ``generated_predictions.progress.jsonl`` as it arrives (one JSON line
with the dataset index and a hash of its prompt, written with one ``write`` and fsynced). A rerun with the same
arguments skips the indices already there, so an interrupted run (Ctrl-C, a crash, a killed job, a server that
went away) loses at most the requests in flight and never duplicates one. The final file is written, atomically
(temp file + rename), only when every index is done; a rerun after that rewrites the same file without a request.
The progress file records the model, max tokens, system prompt and extra body: resuming with different ones is an
error (``--restart`` discards the progress). A corrupt progress line is an error naming file and line; an
incomplete last line (a write cut by a crash) is dropped and redone.

Errors. Connection errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff and jitter (honouring
``Retry-After``); any other HTTP error stops the run at once. Either way what was done is kept.

The API key comes from the environment only: ``API_KEY`` (what ``llamafactory-cli api`` checks), else
``OPENAI_API_KEY``.

Usage::

    python -m eval.api_predict --name qwen3_0.6b_lora_sft --split dev \\
        [--base-url http://127.0.0.1:8000/v1] [--model NAME] [--concurrency 16] [--max-tokens 128]
    python -m eval.api_predict --dataset data/my_file.json --output out/generated_predictions.jsonl

With ``--name`` the recipe's files in yaml_configs/ give the defaults: the dataset of ``--split`` in the recipe's
prompt variant (``cluener_guided_dev`` for a guided recipe), ``max_tokens`` = the predict recipe's
``max_new_tokens``, and, for a recipe with ``enable_thinking: false``, the extra body that switches thinking off.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import ipaddress
import json
import os
import random
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .files import atomic_write_jsonl

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
PROGRESS_FORMAT = "eval.api_predict/progress-v1"
# Settings that change what the model answers: a resumed run must use the same ones.
PINNED_SETTINGS = ("model", "max_tokens", "system", "extra_body")
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_SPLIT_RE = re.compile(r"^cluener(?:_[a-z0-9]+)?_(train|val|dev|test)$")
_ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output"}


class DataError(ValueError):
    """A dataset that cannot be read as alpaca records (names the file and record)."""


class ProgressError(ValueError):
    """A progress file that is corrupt or belongs to another run (names the file and line)."""


class RequestError(RuntimeError):
    """A request that failed for good (non-retryable status, or retries exhausted)."""


# ---------------------------------------------------------------- dataset


@dataclass(frozen=True)
class Record:
    index: int
    prompt: str
    label: str


def build_prompt(instruction: str | None, query: str | None) -> str:
    """The user turn LLaMA-Factory's alpaca converter builds: non-empty parts joined by a newline.

    >>> build_prompt("抽取实体", "张三在北京")
    '抽取实体\\n张三在北京'
    >>> build_prompt("抽取实体", "")
    '抽取实体'
    """
    return "\n".join(part for part in (instruction, query) if part)


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def resolve_dataset(dataset: str, dataset_dir: str | os.PathLike = ".") -> tuple[Path, dict[str, str]]:
    """A dataset name registered in ``<dataset_dir>/dataset_info.json`` or a path: (file, alpaca column names)."""
    candidate = Path(dataset)
    if candidate.suffix in (".json", ".jsonl") and candidate.is_file():
        return candidate, dict(_ALPACA_COLUMNS)
    info_path = Path(dataset_dir) / "dataset_info.json"
    if not info_path.is_file():
        raise DataError(f"{dataset}: not a file, and {info_path} does not exist to look the name up")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{info_path}: not valid JSON ({exc})") from None
    if not isinstance(info, dict) or dataset not in info:
        raise DataError(f"{dataset}: not a file and not registered in {info_path}")
    entry = info[dataset]
    if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str):
        raise DataError(f"{info_path}: entry {dataset!r} has no file_name (only local files are supported)")
    formatting = entry.get("formatting", "alpaca")
    if formatting != "alpaca":
        raise DataError(f"{info_path}: entry {dataset!r} is {formatting!r}; only alpaca datasets are supported")
    columns = dict(_ALPACA_COLUMNS)
    columns.update({k: v for k, v in (entry.get("columns") or {}).items() if k in columns})
    path = Path(dataset_dir) / entry["file_name"]
    if not path.is_file():
        raise DataError(f"{path}: file of dataset {dataset!r} not found (run `make data` first?)")
    return path, columns


def _field(row: dict, column: str, where: str, required: bool) -> str:
    value = row.get(column)
    if value is None:
        if required:
            raise DataError(f"{where}: missing {column!r}")
        return ""
    if not isinstance(value, str):
        raise DataError(f"{where}: {column!r} is {type(value).__name__}, not a string")
    return value


def load_records(path: str | os.PathLike, columns: dict[str, str] | None = None) -> list[Record]:
    """Read a JSON list or JSON lines file of alpaca records; a bad record names file and record/line."""
    path = Path(path)
    columns = columns or dict(_ALPACA_COLUMNS)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    rows: list[tuple[str, Any]] = []
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        rows = [(f"{path}: record {i}", row) for i, row in enumerate(data, start=1)]
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((f"{path}:{number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    records = []
    for index, (where, row) in enumerate(rows):
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected an object, got {type(row).__name__}")
        instruction = _field(row, columns["prompt"], where, required=True)
        query = _field(row, columns["query"], where, required=False)
        label = _field(row, columns["response"], where, required=False)
        prompt = build_prompt(instruction, query)
        if not prompt:
            raise DataError(f"{where}: empty prompt (instruction and input are both empty)")
        records.append(Record(index, prompt, label))
    if not records:
        raise DataError(f"{path}: no records")
    return records


def split_of(dataset: str) -> str:
    """The split a dataset name or file stands for, for the default output folder.

    >>> split_of("cluener_dev"), split_of("cluener_guided_test"), split_of("data/cluener_val.json")
    ('dev', 'test', 'val')
    >>> split_of("my_file.json")
    'my_file'
    """
    name = Path(dataset).stem if dataset.endswith((".json", ".jsonl")) else dataset
    match = _SPLIT_RE.match(name)
    return match.group(1) if match else name


def default_output(name: str, split: str, saves_dir: str | os.PathLike = "saves") -> Path:
    return Path(saves_dir) / name / f"predict_{split}_api" / "generated_predictions.jsonl"


def progress_path(output: str | os.PathLike) -> Path:
    """``.../generated_predictions.jsonl`` -> ``.../generated_predictions.progress.jsonl``."""
    output = Path(output)
    stem = output.name.removesuffix(".jsonl")
    return output.with_name(f"{stem}.progress.jsonl")


# ---------------------------------------------------------------- progress file


@dataclass
class Progress:
    """What a progress file holds: its header settings and index -> (predict, finish_reason)."""

    path: Path
    settings: dict[str, Any]
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    valid_bytes: int = 0  # length of the file up to its last complete line
    dropped_tail: bool = False


def read_progress(path: str | os.PathLike, records: list[Record]) -> Progress | None:
    """Read and check a progress file against the dataset; None when it does not exist or holds nothing.

    Every complete line must be valid; an incomplete last line (no newline: a write cut by a crash) is dropped.
    """
    path = Path(path)
    if not path.exists():
        return None
    raw = path.read_bytes()
    end = raw.rfind(b"\n") + 1  # bytes up to the last complete line
    dropped_tail = end < len(raw)
    lines = raw[:end].split(b"\n")[:-1]
    if not lines:
        return Progress(path, {}, {}, 0, dropped_tail) if dropped_tail else None

    def fail(number: int, problem: str) -> ProgressError:
        return ProgressError(f"{path}:{number}: {problem}")

    def parse(number: int, line: bytes) -> dict:
        try:
            value = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            raise fail(number, "not valid UTF-8") from None
        except json.JSONDecodeError as exc:
            raise fail(number, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(value, dict):
            raise fail(number, f"expected a JSON object, got {type(value).__name__}")
        return value

    header = parse(1, lines[0]).get("header")
    if not isinstance(header, dict) or header.get("format") != PROGRESS_FORMAT:
        raise fail(1, f'not a progress header (expected {{"header": {{"format": "{PROGRESS_FORMAT}", ...}}}})')
    if header.get("n") != len(records):
        raise fail(1, f"made for a dataset of {header.get('n')} records, this one has {len(records)}")
    done: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(lines[1:], start=2):
        row = parse(number, line)
        index = row.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(records):
            raise fail(number, f"index {index!r} is not an integer in [0, {len(records)})")
        if not isinstance(row.get("predict"), str):
            raise fail(number, "'predict' is missing or not a string")
        if row.get("prompt_sha256") != prompt_hash(records[index].prompt):
            raise fail(number, f"index {index} was answered for a different prompt (another dataset?)")
        if index in done:
            raise fail(number, f"index {index} appears twice")
        done[index] = {"predict": row["predict"], "finish_reason": row.get("finish_reason")}
    return Progress(path, header, done, end, dropped_tail)


def check_settings(progress: Progress, settings: dict[str, Any]) -> None:
    for key in PINNED_SETTINGS:
        if progress.settings.get(key) != settings.get(key):
            raise ProgressError(
                f"{progress.path}:1: made with {key}={progress.settings.get(key)!r}, this run has "
                f"{key}={settings.get(key)!r}; rerun with the same settings to resume, or pass --restart "
                "(or another --output) to start over"
            )


class ProgressWriter:
    """Append-only, one ``write`` per line, fsynced; holds an exclusive lock so two runs cannot interleave."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            _lock(self.fd, path)
            _fsync_dir(path.parent)
        except BaseException:
            os.close(self.fd)
            raise

    def start(self, header: dict[str, Any]) -> None:
        """Empty the file and write the header line."""
        os.ftruncate(self.fd, 0)
        self.append({"header": header})

    def keep(self, valid_bytes: int) -> None:
        """Drop anything after the last complete line (an incomplete write cut by a crash)."""
        if os.fstat(self.fd).st_size != valid_bytes:
            os.ftruncate(self.fd, valid_bytes)
            os.fsync(self.fd)

    def append(self, row: dict[str, Any]) -> None:
        data = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def _lock(fd: int, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ProgressError(f"{path}: another eval.api_predict run is writing this file") from None


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- requests


@dataclass
class Client:
    """Chat-completions requests with retries. Thread-safe (one httpx.Client shared by the workers)."""

    base_url: str
    model: str | None
    max_tokens: int = 128
    system: str | None = None
    extra_body: dict[str, Any] | None = None
    timeout: float = 600.0
    max_retries: int = 8
    backoff: float = 1.0
    max_backoff: float = 60.0
    concurrency: int = 8
    stop: threading.Event = field(default_factory=threading.Event)
    sleep: Callable[[float], bool] | None = None  # returns True when interrupted

    def __post_init__(self):
        import httpx

        self._httpx = httpx
        headers = {}
        api_key = os.environ.get("API_KEY") or os.environ.get("OPENAI_API_KEY")
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            trust_env=not _is_loopback(self.base_url),  # never send loopback traffic through an env proxy
        )

    def close(self) -> None:
        self._client.close()

    def _wait(self, seconds: float) -> None:
        interrupted = self.sleep(seconds) if self.sleep else self.stop.wait(seconds)
        if interrupted:
            raise RequestError("stopped")

    def _request(self, method: str, path: str, **kwargs) -> Any:
        """One call with retries; the decoded JSON body of a 200."""
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if self.stop.is_set():
                raise RequestError("stopped")
            retry_after = None
            try:
                response = self._client.request(method, path, **kwargs)
            except self._httpx.TransportError as exc:  # refused, reset, timeouts, protocol errors
                last_error = f"{type(exc).__name__}: {exc}"
            except self._httpx.HTTPError as exc:  # e.g. too many redirects, undecodable body: not transient
                raise RequestError(f"{self.base_url}: {type(exc).__name__}: {exc}") from None
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        raise RequestError(
                            f"{response.url}: HTTP 200 with a body that is not JSON: {response.text[:300]!r}"
                        ) from None
                body = response.text[:500]
                if response.status_code not in RETRYABLE_STATUS:
                    hint = (
                        " (the API key is read from API_KEY, else OPENAI_API_KEY)"
                        if response.status_code in (401, 403)
                        else ""
                    )
                    raise RequestError(f"{response.url}: HTTP {response.status_code}: {body}{hint}")
                last_error = f"HTTP {response.status_code}: {body[:200]}"
                retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt == self.max_retries:
                break
            delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.max_backoff))
            self._wait(delay)
        raise RequestError(
            f"{self.base_url}{path if path.startswith('/') else '/' + path}: gave up after "
            f"{self.max_retries + 1} attempts; last error: {last_error}"
        )

    def list_models(self) -> list[str]:
        data = self._request("GET", "models")
        try:
            return [str(item["id"]) for item in data["data"]]
        except (KeyError, TypeError):
            raise RequestError(f"{self.base_url}/models: unexpected answer {str(data)[:300]}") from None

    def payload(self, prompt: str) -> dict[str, Any]:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = dict(self.extra_body or {})
        body.update(model=self.model, messages=messages, temperature=0, max_tokens=self.max_tokens, stream=False)
        return body

    def complete(self, prompt: str) -> tuple[str, str | None]:
        """(content, finish_reason) of one greedy completion."""
        data = self._request("POST", "chat/completions", json=self.payload(prompt))
        try:
            choice = data["choices"][0]
            content = choice["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise RequestError(f"{self.base_url}/chat/completions: unexpected answer {str(data)[:300]}") from None
        return _clean_text(content if isinstance(content, str) else ""), choice.get("finish_reason")


def _clean_text(text: str) -> str:
    """Lone surrogates (a JSON ``\\ud800`` escape from a server) cannot be written as UTF-8: U+FFFD instead.

    >>> _clean_text("ok\\ud800!") == "ok\\ufffd!"
    True
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the exponential delay


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------- run


@dataclass
class Summary:
    total: int
    done: int
    new: int
    truncated: int
    output: Path | None
    error: str | None = None


def run(
    records: list[Record],
    output: Path,
    client: Client,
    settings: dict[str, Any],
    concurrency: int = 8,
    restart: bool = False,
    limit: int | None = None,
    progress_bar: bool = True,
) -> Summary:
    """Answer every record not yet in the progress file; write the final file when all are done."""
    output = Path(output)
    sidecar = progress_path(output)
    writer = ProgressWriter(sidecar)  # locked from here on: a second run on the same output stops
    try:
        if restart and output.exists():
            output.unlink()
        progress = None if restart else read_progress(sidecar, records)
        fresh = progress is None or not progress.settings
        if fresh:
            writer.start(dict(settings, format=PROGRESS_FORMAT, n=len(records)))
            done: dict[int, dict[str, Any]] = {}
        else:
            check_settings(progress, settings)
            if progress.dropped_tail:
                print(
                    f"warning: {sidecar}: dropped an incomplete last line (cut by a crash); it is redone",
                    file=sys.stderr,
                )
            writer.keep(progress.valid_bytes)
            done = dict(progress.done)
        wanted = records if limit is None else records[:limit]
        pending = [r for r in wanted if r.index not in done]
        new, error = 0, None
        if pending:
            new, error = _answer(pending, client, writer, done, concurrency, len(wanted), progress_bar)
        complete = all(r.index in done for r in wanted)
        written = None
        if complete and error is None:
            atomic_write_jsonl(
                output,
                ({"prompt": r.prompt, "predict": done[r.index]["predict"], "label": r.label} for r in wanted),
            )
            written = output
    finally:
        writer.close()
    truncated = sum(1 for r in wanted if r.index in done and done[r.index].get("finish_reason") == "length")
    return Summary(len(wanted), sum(1 for r in wanted if r.index in done), new, truncated, written, error)


def _answer(pending, client, writer, done, concurrency, total, progress_bar) -> tuple[int, str | None]:
    from tqdm import tqdm

    new = 0
    error = None
    queue = iter(pending)
    in_flight: dict[concurrent.futures.Future, Record] = {}
    bar = tqdm(total=total, initial=total - len(pending), unit="ex", disable=not progress_bar, dynamic_ncols=True)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="api_predict")
    try:

        def refill() -> None:
            while error is None and len(in_flight) < concurrency:
                record = next(queue, None)
                if record is None:
                    return
                in_flight[pool.submit(client.complete, record.prompt)] = record

        refill()
        while in_flight:
            finished, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                record = in_flight.pop(future)
                try:
                    predict, finish_reason = future.result()
                except RequestError as exc:
                    if error is None:
                        error = f"record {record.index}: {exc}"
                        client.stop.set()  # stop retrying elsewhere; answers already in flight are still kept
                    continue
                writer.append(
                    {
                        "index": record.index,
                        "prompt_sha256": prompt_hash(record.prompt),
                        "predict": predict,
                        "finish_reason": finish_reason,
                    }
                )
                done[record.index] = {"predict": predict, "finish_reason": finish_reason}
                new += 1
                bar.update(1)
            refill()
    except KeyboardInterrupt:
        client.stop.set()
        error = "interrupted"
    finally:
        pool.shutdown(wait=error != "interrupted", cancel_futures=True)
        bar.close()
    return new, error


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


@dataclass
class RecipeDefaults:
    """What the recipe of ``--name`` says about prediction (yaml_configs/{predict,chat}/<name>.yaml)."""

    dataset: str | None = None  # the predict recipe's eval_dataset, e.g. cluener_dev / cluener_guided_dev
    max_tokens: int | None = None  # its max_new_tokens
    enable_thinking: bool | None = None  # the chat recipe's thinking setting


def recipe_defaults(name: str | None, recipe_dir: str | os.PathLike = "yaml_configs") -> RecipeDefaults:
    if not name:
        return RecipeDefaults()
    import yaml  # installed with LLaMA-Factory

    def read(kind: str) -> dict:
        path = Path(recipe_dir) / kind / f"{name}.yaml"
        if not path.is_file():
            return {}
        try:
            value = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DataError(f"{path}: not valid YAML ({exc})") from None
        return value if isinstance(value, dict) else {}

    predict, chat = read("predict"), read("chat")
    max_tokens = predict.get("max_new_tokens")
    thinking = chat.get("enable_thinking", predict.get("enable_thinking"))
    return RecipeDefaults(
        dataset=predict.get("eval_dataset") if isinstance(predict.get("eval_dataset"), str) else None,
        max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
        enable_thinking=thinking if isinstance(thinking, bool) else None,
    )


def dataset_for_split(split: str, recipe_dataset: str | None) -> str:
    """The dataset of ``split`` in the recipe's prompt variant.

    >>> dataset_for_split("test", "cluener_guided_dev"), dataset_for_split("val", None)
    ('cluener_guided_test', 'cluener_val')
    """
    if recipe_dataset and _SPLIT_RE.match(recipe_dataset):
        return recipe_dataset.rsplit("_", 1)[0] + f"_{split}"
    return f"cluener_{split}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval.api_predict",
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (python -c 'import eval.api_predict as m; help(m)') for the details.",
    )
    parser.add_argument(
        "--name",
        help="recipe basename: output under saves/<name>/predict_<split>_api/, and the "
        "dataset variant, max tokens and thinking setting of yaml_configs/*/<name>.yaml",
    )
    parser.add_argument("--split", help="train|val|dev|test: the recipe's dataset of that split (default: dev)")
    parser.add_argument(
        "--dataset",
        help="instead of --split: a name registered in <dataset-dir>/dataset_info.json "
        "(e.g. cluener_dev) or an alpaca .json/.jsonl file",
    )
    parser.add_argument("--dataset-dir", default=".", help="folder of dataset_info.json (default: .)")
    parser.add_argument("--recipe-dir", default="yaml_configs", help=argparse.SUPPRESS)
    parser.add_argument(
        "--output", help="output file (default: saves/<name>/predict_<split>_api/generated_predictions.jsonl)"
    )
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help=f"default: {DEFAULT_BASE_URL}")
    parser.add_argument(
        "--model",
        help="model name sent in the request (default: the only one the server lists; "
        "vllm serve with LoRA: the --lora-modules name)",
    )
    parser.add_argument("--system", help="system message (default: none, the chat template's default applies)")
    parser.add_argument("--max-tokens", type=_positive_int, help="default: the recipe's max_new_tokens, else 128")
    parser.add_argument(
        "--extra-body",
        type=_json_object,
        default=None,
        help="JSON object merged into each request (model, messages, temperature, max_tokens and stream stay the "
        "client's). Default: "
        '\'{"chat_template_kwargs": {"enable_thinking": false}}\' when the recipe has '
        "enable_thinking: false (hybrid Qwen3; vllm serve needs it, LLaMA-Factory ignores it)",
    )
    parser.add_argument("--concurrency", type=_positive_int, default=8, help="requests in flight (default: 8)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per request (default: 600)")
    parser.add_argument("--max-retries", type=int, default=8, help="retries per request (default: 8)")
    parser.add_argument(
        "--backoff",
        type=float,
        default=1.0,
        help="first retry delay in seconds, doubled each time (default: 1, capped at 60)",
    )
    parser.add_argument("--limit", type=_positive_int, help="only the first N records (a smoke run)")
    parser.add_argument("--restart", action="store_true", help="discard earlier progress and start over")
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.output and not args.name:
        parser.error("give --name (output under saves/<name>/) or --output")
    if args.dataset and args.split and split_of(args.dataset) != args.split:
        parser.error(f"--dataset {args.dataset} and --split {args.split} disagree; give one of them")
    try:
        recipe = recipe_defaults(args.name, args.recipe_dir)
        split = args.split or (split_of(args.dataset) if args.dataset else "dev")
        dataset = args.dataset or dataset_for_split(split, recipe.dataset)
        path, columns = resolve_dataset(dataset, args.dataset_dir)
        records = load_records(path, columns)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    output = Path(args.output) if args.output else default_output(args.name, split)
    max_tokens = args.max_tokens or recipe.max_tokens or 128
    extra_body = args.extra_body
    if extra_body is None and recipe.enable_thinking is False:
        extra_body = {"chat_template_kwargs": {"enable_thinking": False}}
    client = Client(
        base_url=args.base_url,
        model=args.model,
        max_tokens=max_tokens,
        system=args.system,
        extra_body=extra_body,
        timeout=args.timeout,
        max_retries=max(0, args.max_retries),
        backoff=max(0.0, args.backoff),
        concurrency=args.concurrency,
    )
    try:
        if client.model is None:
            models = client.list_models()
            if len(models) != 1:
                print(
                    f"error: {args.base_url} serves {len(models)} models ({', '.join(models) or 'none'}); "
                    "pick one with --model",
                    file=sys.stderr,
                )
                return 1
            client.model = models[0]
        settings = {
            "model": client.model,
            "max_tokens": max_tokens,
            "system": args.system,
            "extra_body": extra_body,
            "dataset": str(path),
            "base_url": args.base_url,
        }
        print(
            f"{dataset} ({path}, {len(records)} records) -> {output}\n"
            f"  model {client.model} at {args.base_url}, greedy, max_tokens {max_tokens}"
            + (f", extra body {json.dumps(extra_body)}" if extra_body else ""),
            file=sys.stderr,
        )
        summary = run(
            records, output, client, settings, args.concurrency, args.restart, args.limit, not args.no_progress_bar
        )
    except (ProgressError, RequestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    sidecar = progress_path(output)
    if summary.truncated:
        print(f"warning: {summary.truncated} answers stopped at max_tokens {max_tokens}", file=sys.stderr)
    if summary.output is None:
        why = summary.error or "incomplete"
        print(
            f"stopped ({why}): {summary.done}/{summary.total} done, {summary.new} new, kept in {sidecar}; "
            "rerun the same command to resume",
            file=sys.stderr,
        )
        return 130 if summary.error == "interrupted" else 1
    print(f"wrote {summary.output}: {summary.total} predictions ({summary.new} new this run)", file=sys.stderr)
    if args.limit is not None:
        print(f"note: --limit {args.limit}: the file covers only the first {summary.total} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
