"""The experiment trackers a training run reports to (``report_to`` of LLaMA-Factory / the HF Trainer), checked
before training starts: a tracker that is not installed is one line here, not a traceback after the model loaded.

``make train|sweep|demo TRACKER=tensorboard|wandb|swanlab|mlflow|none`` sets ``report_to`` (the recipes say
``tensorboard``: event files under ``<output_dir>/runs/``, nothing leaves the machine). Keys come only from the
environment (``WANDB_API_KEY``, ``SWANLAB_API_KEY``, ``MLFLOW_TRACKING_USERNAME`` / ``..._PASSWORD``): a key written in
a recipe or ARGS would be copied into ``run_command.json`` and the shell history, so it is refused.

Standard library only (it runs in the light tier and before anything heavy is imported).

>>> requested("tensorboard"), requested(["wandb", "none"]), requested(None), requested("none")
(['tensorboard'], ['wandb'], [], [])
>>> tracker_problems("tensorboard", find=lambda module: module == "tensorboardX")
[]
>>> tracker_problems("wandb", find=lambda module: False)[0].split(" (")[0]
'report_to: wandb: the wandb package is not installed in this environment'
>>> key_problems({"swanlab_api_key": "abc", "learning_rate": 1e-4})[0].split(":")[0]
'swanlab_api_key'
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Tracker:
    modules: tuple[str, ...]  # any one of these importable is enough (what the HF callback looks for)
    install: str  # how to get it
    keys: str  # where its credentials come from (environment only)
    offline: str  # how to run it with no network


TRACKERS: dict[str, Tracker] = {
    "tensorboard": Tracker(("tensorboard", "tensorboardX"), "pinned in requirements-common.txt: `make setup` installs it",
                           "none needed", "always offline: event files under <output_dir>/runs/, `make tensorboard`"),
    "wandb": Tracker(("wandb",), "pip install wandb", "WANDB_API_KEY",
                     "WANDB_MODE=offline (then `wandb sync wandb/offline-run-*` to upload)"),
    "swanlab": Tracker(("swanlab",), "pip install swanlab", "SWANLAB_API_KEY",
                       "SWANLAB_MODE=local (logs under swanlog/, `swanlab watch swanlog`)"),
    "mlflow": Tracker(("mlflow",), "pip install mlflow", "MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD",
                      "MLFLOW_TRACKING_URI=file:./mlruns (then `mlflow ui --backend-store-uri ./mlruns`)"),
}  # fmt: skip
NONE = "none"
CHOICES = (*TRACKERS, NONE)  # what TRACKER= accepts (the Makefile lists the same words)
KEY_SUFFIXES = ("_api_key", "_token", "_password", "_secret")


def requested(report_to: Any) -> list[str]:
    """The trackers a ``report_to`` value names (a string, a comma-free list, or None), ``none`` left out."""
    if report_to is None:
        return []
    names = report_to if isinstance(report_to, (list, tuple)) else [report_to]
    return [str(name).strip() for name in names if str(name).strip() not in ("", NONE)]


def tracker_problems(report_to: Any, find: Callable[[str], bool] | None = None) -> list[str]:
    """One line per known tracker of ``report_to`` that is not installed here (unknown names are LF's to refuse)."""
    find = find or (lambda module: importlib.util.find_spec(module) is not None)
    problems = []
    for name in requested(report_to):
        tracker = TRACKERS.get(name)
        if tracker is not None and not any(find(module) for module in tracker.modules):
            problems.append(f"report_to: {name}: the {tracker.modules[0]} package is not installed in this "
                            f"environment ({tracker.install}); or choose another with TRACKER="
                            f"{'|'.join(c for c in CHOICES if c != name)}")  # fmt: skip
    return problems


def key_problems(config: dict[str, Any]) -> list[str]:
    """One line per credential-looking key set in a recipe or its overrides (``swanlab_api_key``, ``hub_token``)."""
    return [f"{key}: a key in a recipe or ARGS is copied into run_command.json and the shell history; set it in the "
            "environment instead (its library's variable: WANDB_API_KEY, SWANLAB_API_KEY, HF_TOKEN, ...)"
            for key, value in config.items() if key.lower().endswith(KEY_SUFFIXES) and value not in (None, "")]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python -m doctor.trackers [TRACKER]`` (the Makefile's check-tracker): nothing and exit 0 when TRACKER is
    empty, or one of :data:`CHOICES` and installed; else its one line on stderr: exit 2 for a word that is not a
    tracker, 1 for a tracker that is not installed."""
    import sys

    argv = sys.argv[1:] if argv is None else argv
    name = argv[0].strip() if argv else ""
    if name and name not in CHOICES:
        print(f"error: TRACKER={name!r}: not a tracker; one of {', '.join(CHOICES)}", file=sys.stderr)
        return 2
    problems = tracker_problems(name or None)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
