"""Is a model reachable: a local folder, the Hugging Face cache, the hub, or ModelScope (USE_MODELSCOPE_HUB=1)?

As LLaMA-Factory loads it: an existing path is used as it is; with USE_MODELSCOPE_HUB=1 a model id is downloaded
from ModelScope; otherwise from the Hugging Face hub (HF_ENDPOINT), or only from the HF cache when HF_HUB_OFFLINE=1.
A network probe asks for the model's metadata with a short timeout (:data:`PROBE_TIMEOUT`), never downloads.
"""

from __future__ import annotations

import os
from pathlib import Path

from .report import FAIL, OK, Check

PROBE_TIMEOUT = 5.0  # seconds: a hub that does not answer in that time is treated as unreachable
MODEL_FILES = ("config.json",)
_TRUE = ("1", "true", "yes", "on", "y")


def _env_on(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def looks_local(name: str) -> bool:
    """A path rather than a hub id (``org/name`` or ``name``): absolute, relative (./ ../ ~), under saves/, or with more
    than one slash."""
    return name.startswith(("/", ".", "~", "saves/")) or name.count("/") > 1


def _local(path: Path) -> str | None:
    """None when ``path`` is a model folder, else what is wrong."""
    if not path.exists():
        return "no such folder"
    if not path.is_dir():
        return "not a folder"
    if not (path / "config.json").is_file():
        return "no config.json in it"
    return None


def hf_cached(repo_id: str, cache_dir: str | None = None) -> bool:
    """Whether the HF cache holds the model's config.json (a download that got that far holds the snapshot)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir)
    return isinstance(found, str)


def modelscope_cached(model_id: str, cache_dir: str | None = None) -> bool:
    base = Path(cache_dir or os.environ.get("MODELSCOPE_CACHE") or Path.home() / ".cache" / "modelscope" / "hub")
    return any((folder / "config.json").is_file() for folder in (base / "models" / model_id, base / model_id))


def _why(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:100]
    return f"{type(exc).__name__}{': ' + text if text else ''}"


def probe_hf(repo_id: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when the hub (HF_ENDPOINT) answers for ``repo_id``, else why not (one line)."""
    import httpx
    from huggingface_hub import constants

    url = f"{constants.ENDPOINT.rstrip('/')}/api/models/{repo_id}"
    token = os.environ.get("HF_TOKEN")
    try:
        response = httpx.get(url, timeout=timeout, headers={"authorization": f"Bearer {token}"} if token else None)
    except httpx.HTTPError as exc:
        return f"{url}: {_why(exc)}"
    if response.status_code == 200:
        return None
    return f"{url}: HTTP {response.status_code}" + (" (gated or private: set HF_TOKEN)" if response.status_code in (401, 403) else "")


def probe_modelscope(model_id: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    import httpx

    domain = os.environ.get("MODELSCOPE_DOMAIN", "www.modelscope.cn")
    url = f"https://{domain}/api/v1/models/{model_id}"
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"{url}: {_why(exc)}"
    return None if response.status_code == 200 else f"{url}: HTTP {response.status_code}"


def model_check(name: str, label: str = "model", cache_dir: str | None = None, probe: bool = True) -> Check:
    """Where ``name`` (a recipe's ``model_name_or_path``) would be loaded from, or FAIL with what to do."""
    if not name:
        return Check(label, FAIL, "none", "the recipe names no model_name_or_path")
    path = Path(name).expanduser()
    if path.exists() or looks_local(name):
        problem = _local(path)
        if problem is None:
            return Check(label, OK, f"{name} (local folder)")
        return Check(label, FAIL, name, f"{name}: {problem} (a local model folder needs config.json and weights)")
    fix = "download it on a connected machine, or set ARGS=model_name_or_path=<local folder>"
    if _env_on("USE_MODELSCOPE_HUB"):
        if modelscope_cached(name, cache_dir):
            return Check(label, OK, f"{name} (ModelScope cache)")
        from .versions import installed

        if installed("modelscope") is None:
            return Check(label, FAIL, name, "USE_MODELSCOPE_HUB=1 needs the modelscope package (pip install modelscope)")
        problem = probe_modelscope(name)
        if problem is None:
            return Check(label, OK, f"{name} (ModelScope, will download)")
        return Check(label, FAIL, name, f"{name}: not in the ModelScope cache, and ModelScope does not answer ({problem}): {fix}")
    if hf_cached(name, cache_dir):
        return Check(label, OK, f"{name} (HF cache)")
    if _env_on("HF_HUB_OFFLINE"):
        return Check(label, FAIL, name, f"{name}: not in the HF cache, and HF_HUB_OFFLINE=1: {fix}")
    if not probe:
        return Check(label, OK, f"{name} (hub, not probed)")
    problem = probe_hf(name)
    if problem is None:
        return Check(label, OK, f"{name} (hub, will download)")
    return Check(label, FAIL, name, f"{name}: not in the HF cache, and the hub does not answer ({problem}): {fix}, "
                 "HF_ENDPOINT=<mirror> or USE_MODELSCOPE_HUB=1")  # fmt: skip
