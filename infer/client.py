"""Greedy chat completions from an OpenAI-compatible server, with retries.

Connection errors, timeouts, HTTP 408/425/429 and 5xx are retried with exponential backoff and jitter (honouring
``Retry-After``); any other HTTP error is a :class:`RequestError` at once. The API key comes from the environment
only: ``API_KEY`` (what ``llamafactory-cli api`` checks), else ``OPENAI_API_KEY``. Loopback traffic never goes
through a proxy from the environment.
"""

from __future__ import annotations

import ipaddress
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class RequestError(RuntimeError):
    """A request that failed for good (non-retryable status, or retries exhausted)."""


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
