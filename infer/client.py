"""Greedy chat completions from an OpenAI-compatible server, with retries.

Connection errors, timeouts, HTTP 408/425/429 and 5xx, and a 200 whose answer cannot be read (a body cut short, not
JSON, no ``choices[0].message``) are retried with exponential backoff and jitter (honouring ``Retry-After``), at most
``max_retries`` times; any other HTTP error is a :class:`RequestError` at once. Retries are for a server that was
answering: a connection that cannot be made before the server ever answered (nothing listening on the port, a host
that does not resolve) is a :class:`RequestError` at once that says how to start one, and a model list that cannot be
read is not retried either (that server is not an OpenAI-compatible one). A ``null`` or missing ``content`` is
not retried (greedy decoding would answer the same): it comes back as ``Answer("", reason, "null" | "missing")``,
for the caller to count. The API key comes from the environment only: ``API_KEY`` (what ``llamafactory-cli api``
checks), else ``OPENAI_API_KEY``. Loopback traffic never goes through a proxy from the environment.

Why not the ``openai`` SDK (3.51.0, measured against this client on the fake-server cases of
tests/test_bad_input.py, 2 retries each: ``python -m benchmarks.bench_libraries client``): it retries connection
errors, 429 (with ``Retry-After``) and 5xx as this client does, but a 200 cut short (``{"choices": [ {"message": ``)
raises a bare ``JSONDecodeError`` after 1 attempt, ``"choices": []`` reaches the caller as an ``IndexError``, a null
and a missing content both read as ``None``, and its backoff (0.5 s doubling to 8 s) sleeps where no other thread can
cut it short (this client waits on ``stop``: it gave up 0.50 s after another worker failed, inside a 2-4 s backoff).
Using it would still need this retry loop around it (``max_retries=0``), plus a dependency; httpx, which both use,
comes with LLaMA-Factory.
"""

from __future__ import annotations

import ipaddress
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from cluener.files import utf8_safe

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class RequestError(RuntimeError):
    """A request that failed for good (non-retryable status, or retries exhausted)."""


class Unreadable(ValueError):
    """A 200 whose body is not the answer expected: retried like a 5xx."""


class Answer(NamedTuple):
    """One completion: its text, finish_reason, and why there is no text (``"null"`` / ``"missing"``), if so."""

    text: str
    finish_reason: str | None
    no_content: str | None = None


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
    answered: bool = False  # the server has answered once (any HTTP status): from then on, connection errors retry

    def __post_init__(self):
        import httpx

        self._httpx = httpx
        self._lock = threading.Lock()
        self._in_flight = 0
        headers = {}
        variable = "API_KEY" if os.environ.get("API_KEY") else "OPENAI_API_KEY"
        api_key = os.environ.get(variable)
        if api_key:
            if not (api_key.isascii() and api_key.isprintable() and " " not in api_key):
                # an HTTP header carries visible ASCII only; the key itself is never shown
                raise RequestError(f"{variable}: the API key holds a character an HTTP header cannot carry")
            headers["Authorization"] = f"Bearer {api_key}"
        try:
            self._client = httpx.Client(
                base_url=self.base_url.rstrip("/") + "/",
                headers=headers,
                timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
                limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
                trust_env=not _is_loopback(self.base_url),  # never send loopback traffic through an env proxy
            )
        except (httpx.InvalidURL, ValueError, ImportError) as exc:  # a proxy URL from the environment
            raise RequestError(
                f"{self.base_url}: the proxy settings of the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) cannot "
                f"be used: {exc}"
            ) from None

    def close(self) -> None:
        """Close the connections, unless a request is still in flight (a worker left behind by Ctrl-C, which the
        process exit ends): closing a socket under a thread blocked on it would let the next file opened reuse it."""
        with self._lock:
            if self._in_flight:
                return
        self._client.close()

    def _wait(self, seconds: float) -> None:
        interrupted = self.sleep(seconds) if self.sleep else self.stop.wait(seconds)
        if interrupted:
            raise RequestError("stopped")

    def _request(
        self,
        method: str,
        path: str,
        read: Callable[[Any], Any] = lambda data: data,
        retry_unreadable: bool = True,
        **kwargs,
    ) -> Any:
        """One call with retries; ``read`` of the decoded JSON body of a 200 (raising :class:`Unreadable` retries,
        unless ``retry_unreadable`` is false: then it is a :class:`RequestError` at once)."""
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if self.stop.is_set():
                raise RequestError("stopped")
            retry_after = None
            with self._lock:
                self._in_flight += 1
            try:
                response = self._client.request(method, path, **kwargs)
            except (self._httpx.ConnectError, self._httpx.ConnectTimeout) as exc:
                if not self.answered:  # nothing there to retry for: say so at once
                    raise RequestError(no_server(self.base_url, f"{type(exc).__name__}: {exc}")) from None
                last_error = f"{type(exc).__name__}: {exc}"
            except self._httpx.TransportError as exc:  # reset, read timeouts, protocol errors
                last_error = f"{type(exc).__name__}: {exc}"
            except self._httpx.HTTPError as exc:  # e.g. too many redirects, undecodable body: not transient
                raise RequestError(f"{self.base_url}: {type(exc).__name__}: {exc}") from None
            else:
                self.answered = True
                if response.status_code == 200:
                    try:
                        return read(response.json())
                    except Unreadable as exc:
                        last_error = f"HTTP 200 with an answer that cannot be read: {exc}"
                    except ValueError:  # includes a body cut short
                        last_error = f"HTTP 200 with a body that is not JSON: {response.text[:200]!r}"
                    if not retry_unreadable:
                        raise RequestError(f"{response.url}: {last_error}") from None
                elif response.status_code not in RETRYABLE_STATUS:
                    hint = (
                        " (the API key is read from API_KEY, else OPENAI_API_KEY)"
                        if response.status_code in (401, 403)
                        else ""
                    )
                    body = _excerpt(response.text, 500)
                    raise RequestError(f"{response.url}: HTTP {response.status_code}: {body}{hint}")
                else:
                    last_error = f"HTTP {response.status_code}: {_excerpt(response.text, 200)}"
                    retry_after = _retry_after(response.headers.get("retry-after"))
            finally:
                with self._lock:
                    self._in_flight -= 1
            if attempt == self.max_retries:
                break
            delay = min(self.max_backoff, self.backoff * 2 ** min(attempt, 64)) * (0.5 + random.random() / 2)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.max_backoff))
            self._wait(delay)
        raise RequestError(
            f"{self.base_url}{path if path.startswith('/') else '/' + path}: gave up after "
            f"{self.max_retries + 1} attempts; last error: {last_error}"
        )

    def list_models(self) -> list[str]:
        """The model names the server lists (``GET models``); a list that cannot be read is an error at once."""

        def read(data) -> list[str]:
            try:
                ids = [item["id"] for item in data["data"]]
            except (KeyError, TypeError):
                raise Unreadable(f"no data[].id in {str(data)[:200]}") from None
            if not all(isinstance(name, str) and name for name in ids):
                raise Unreadable(f"a model id is not a name: {str(ids)[:200]}")
            return ids

        return self._request("GET", "models", read, retry_unreadable=False)

    def probe(self) -> None:
        """Check that a server answers at ``base_url`` (``GET models``; any HTTP status counts): a
        :class:`RequestError` at once when nothing is listening there."""
        try:
            self._client.get("models")
        except (self._httpx.ConnectError, self._httpx.ConnectTimeout) as exc:
            raise RequestError(no_server(self.base_url, f"{type(exc).__name__}: {exc}")) from None
        except self._httpx.HTTPError:
            pass  # something answered: the requests will say what is wrong, with retries where they help
        self.answered = True

    def choose_model(self, recipe: str | None = None) -> str:
        """Before the first request: the model to ask for, and a server that answers. A model given (``--model``)
        is kept, once something answers at ``base_url``; else the only model the server lists, or, of several, the
        one named like the recipe (``vllm serve --lora-modules <recipe>=saves/<recipe>`` lists the base model and the
        adapter); else a :class:`RequestError` listing them."""
        if self.model is not None:
            self.probe()  # nothing listening: one line now, not retries
            return self.model
        models = self.list_models()
        if len(models) == 1:
            self.model = models[0]
        elif recipe in models:
            self.model = recipe
        else:
            shown = ", ".join(models[:20]) + (f", ... ({len(models) - 20} more)" if len(models) > 20 else "")
            raise RequestError(
                f"{self.base_url} serves {len(models)} models ({shown or 'none'})"
                + (f", none named {recipe}" if recipe else "")
                + ": set SERVED_MODEL=<one of them> (make predict-api) or --model"
            )
        return self.model

    def payload(self, prompt: str) -> dict[str, Any]:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = dict(self.extra_body or {})
        body.update(model=self.model, messages=messages, temperature=0, max_tokens=self.max_tokens, stream=False)
        return body

    def complete(self, prompt: str) -> Answer:
        """One greedy completion. Lone surrogates in it (a JSON ``\\ud800`` escape) become U+FFFD."""
        return self._request("POST", "chat/completions", read_answer, json=self.payload(prompt))


def read_answer(data: Any) -> Answer:
    """The :class:`Answer` in a chat-completions body; :class:`Unreadable` when it has none.

    >>> read_answer({"choices": [{"message": {"content": None}, "finish_reason": "stop"}]})
    Answer(text='', finish_reason='stop', no_content='null')
    """
    try:
        choice = data["choices"][0]
        message = choice["message"]
        finish_reason = choice.get("finish_reason")
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError, AttributeError):
        raise Unreadable(f"no choices[0].message in {str(data)[:200]}") from None
    if "content" not in message:
        return Answer("", finish_reason, "missing")
    content = message["content"]
    if content is None:
        return Answer("", finish_reason, "null")
    if not isinstance(content, str):
        raise Unreadable(f"choices[0].message.content is {type(content).__name__}, not a string")
    return Answer(utf8_safe(content), finish_reason)


def no_server(base_url: str, reason: str) -> str:
    """The one line for a server that never answered."""
    return (
        f"{base_url}: no server answers ({reason}); start one first: `make api RECIPE=<recipe>` (LLaMA-Factory) or "
        "`make serve-vllm RECIPE=<recipe>` (vLLM), or point --base-url (make predict-api: API_HOST/API_PORT) at it"
    )


def _excerpt(text: str, limit: int) -> str:
    """The start of a body, on one line (an HTML error page has many)."""
    return " ".join(text[:limit].split())


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
