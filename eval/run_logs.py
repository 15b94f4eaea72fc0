"""Where a training run's tracker logs are, for its run card: the tracker it reported to (``report_to`` of its
recorded config) and its TensorBoard event folders, ``<run_dir>/runs/<date>_<host>/`` (the HF Trainer's default
``logging_dir``; one folder per start, so a resumed run has two). Paths are relative to the run folder: the card
joins them to its ``run_dir`` as the report shows it, never an absolute path of this machine.

>>> run_logs(Path("no/such/run"), "none")
{'tracker': 'none', 'tensorboard': []}
>>> logs_text({"tracker": "tensorboard", "tensorboard": ["runs/Dec05_00-01-02_box"]}, "saves/r")
'tensorboard: saves/r/runs/Dec05_00-01-02_box (make tensorboard)'
>>> logs_text({"tracker": "wandb", "tensorboard": []}, "saves/r")
"wandb (the tracker's own store: README, Tracking)"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cluener.layout import TENSORBOARD_DIR
from provenance.run_record import UNKNOWN

EVENT_FILES = "events.out.tfevents.*"  # TensorBoard's naming of an event file


def event_folders(run_dir: Path) -> list[Path]:
    """``<run_dir>/runs/*/`` that hold an event file, oldest first."""
    base = Path(run_dir) / TENSORBOARD_DIR
    try:
        folders = [p for p in base.iterdir() if p.is_dir() and any(p.glob(EVENT_FILES))]
    except OSError:
        return []
    return sorted(folders, key=lambda p: (p.stat().st_mtime, p.name))


def run_logs(run_dir: Path, report_to: Any) -> dict[str, Any]:
    """``{"tracker": what report_to said (``unknown`` without a record), "tensorboard": [folders under run_dir]}``."""
    folders = [p.relative_to(run_dir).as_posix() for p in event_folders(run_dir)]
    if isinstance(report_to, (list, tuple)):
        tracker = ", ".join(map(str, report_to)) or "none"
    elif report_to is None:
        tracker = "tensorboard" if folders else UNKNOWN
    else:
        tracker = str(report_to)
    return {"tracker": tracker, "tensorboard": folders}


def logs_text(logs: Any, run_dir: str) -> str:
    """The run card's ``logs`` row."""
    if not isinstance(logs, dict):
        return UNKNOWN
    folders = [f"{run_dir}/{folder}" for folder in logs.get("tensorboard") or []]
    tracker = str(logs.get("tracker", UNKNOWN))
    if folders:
        return f"tensorboard: {', '.join(folders)} (make tensorboard)"
    if tracker in ("none", UNKNOWN):
        return tracker
    if tracker == "tensorboard":
        return "tensorboard: no event file found"
    return f"{tracker} (the tracker's own store: README, Tracking)"
