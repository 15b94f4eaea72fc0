"""The run card: how a scored run was made, read from what training left next to its predictions.

A predictions file ``<run_dir>/predict_<split>[_<suffix>]/generated_predictions.jsonl`` belongs to the training
output folder ``<run_dir>`` (``saves/<recipe>/``, or a sweep's ``saves/<recipe>-sweep-<combo>/``:
:func:`cluener.layout.sweep_save_dir`). From there:

- LLaMA-Factory runs: ``run_command.json`` (:mod:`provenance.run_record`, written by ``make train``: recipe, overrides,
  resolved config, git commit and dirty flag, library versions, hardware, world size), ``adapter_config.json``
  (LoRA rank / alpha / target modules, base model), ``trainer_state.json`` (per-device batch, epochs, steps,
  ``log_history`` -> the loss curve), ``train_results.json`` (runtime, samples/s, tokens/s where logged) and the
  predict folder's ``predict_results.json`` (runtime, samples/s);
- encoder runs (``encoder_ner``): their ``train_summary.json`` (command, config, threads, device, times, val loss by
  epoch) and the last ``checkpoint-*/trainer_state.json`` (training loss);
- either: the tracker (``report_to``) and the TensorBoard event folders under ``<run_dir>/runs/`` (:mod:`eval.run_logs`).

Whatever is not there is ``unknown``: nothing is guessed. :func:`build_card` returns a JSON-able dict (stored in
``metrics.json`` as ``run_card``); :func:`render_card` renders it as Markdown and :func:`loss_curve_png` draws the
train / eval loss curve.
"""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path
from typing import Any

from cluener.layout import training_dir_of
from provenance.run_record import RECORD_FILE, UNKNOWN

from .run_logs import logs_text, run_logs

LOSS_CURVE_FILE = "loss_curve.png"


def _read_json(path: Path) -> Any:
    """The JSON content of ``path``, or None when it is missing or not readable JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _get(mapping: Any, *keys: str, default: Any = UNKNOWN) -> Any:
    for key in keys:
        if not isinstance(mapping, dict) or mapping.get(key) is None:
            return default
        mapping = mapping[key]
    return mapping


def _num(value: Any, digits: int = 4) -> Any:
    return round(value, digits) if isinstance(value, (int, float)) and not isinstance(value, bool) else UNKNOWN


def _loss_points(log_history: Any) -> dict[str, list[list[float]]]:
    train, evals = [], []
    for entry in log_history if isinstance(log_history, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), (int, float)):
            continue
        if isinstance(entry.get("loss"), (int, float)):
            train.append([entry["step"], float(entry["loss"])])
        if isinstance(entry.get("eval_loss"), (int, float)):
            evals.append([entry["step"], float(entry["eval_loss"])])
    return {"train": train, "eval": evals}


def _last_checkpoint_state(run_dir: Path) -> Any:
    checkpoints = sorted(
        (p for p in run_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    return _read_json(checkpoints[-1] / "trainer_state.json") if checkpoints else None


def _llm_card(run_dir: Path, predict_dir: Path) -> dict:
    record = _read_json(run_dir / RECORD_FILE)
    adapter = _read_json(run_dir / "adapter_config.json")
    state = _read_json(run_dir / "trainer_state.json") or _last_checkpoint_state(run_dir)
    train = _read_json(run_dir / "train_results.json") or _read_json(run_dir / "all_results.json")
    predict = _read_json(predict_dir / "predict_results.json") or _read_json(predict_dir / "all_results.json")
    config = _get(record, "config", default={})
    finetuning = config.get("finetuning_type", UNKNOWN)
    if adapter:
        lora = {
            "rank": _get(adapter, "r"),
            "alpha": _get(adapter, "lora_alpha"),
            "target": sorted(adapter["target_modules"])
            if isinstance(adapter.get("target_modules"), list)
            else _get(adapter, "target_modules"),
            "source": "adapter_config.json",
        }
    elif finetuning == "lora" and "lora_rank" in config:
        lora = {"rank": config["lora_rank"], "alpha": config.get("lora_alpha", UNKNOWN),
                "target": config.get("lora_target", UNKNOWN), "source": RECORD_FILE}  # fmt: skip
    elif finetuning not in ("lora", UNKNOWN):
        lora = f"none ({finetuning} fine-tuning)"
    else:
        lora = UNKNOWN
    per_device = _get(state, "train_batch_size", default=config.get("per_device_train_batch_size", UNKNOWN))
    accumulation = config.get("gradient_accumulation_steps", UNKNOWN) if record else UNKNOWN
    processes = _get(record, "world_size", "processes")
    if all(isinstance(v, int) for v in (per_device, accumulation, processes)):
        batch = {"effective": per_device * accumulation * processes,
                 "how": f"{per_device} per device x {accumulation} accumulation x {processes} process(es)"}  # fmt: skip
    else:
        batch = UNKNOWN
    runtime = _get(train, "train_runtime")
    tokens = _get(train, "effective_tokens_per_sec")
    if tokens == UNKNOWN and isinstance(_get(state, "num_input_tokens_seen"), int) and isinstance(runtime, float):
        tokens = state["num_input_tokens_seen"] / runtime if state["num_input_tokens_seen"] and runtime else UNKNOWN
    return {
        "kind": "llamafactory",
        "run_dir": str(run_dir),
        "recipe": _get(record, "recipe"),
        "overrides": _get(record, "overrides"),
        "model": config.get("model_name_or_path", _get(adapter, "base_model_name_or_path")),
        "finetuning_type": finetuning,
        "lora": lora,
        "learning_rate": config.get("learning_rate", UNKNOWN),
        "epochs": config.get("num_train_epochs", _get(state, "num_train_epochs")),
        "max_steps": config.get("max_steps", _get(state, "max_steps")),
        "steps_done": _get(state, "global_step"),
        "batch": batch,
        "seed": config.get("seed", UNKNOWN),
        "git": _get(record, "git"),
        "versions": _get(record, "versions"),
        "hardware": _get(record, "hardware"),
        "world_size": _get(record, "world_size"),
        "train": {
            "runtime_s": _num(runtime, 1),
            "samples_per_s": _num(_get(train, "train_samples_per_second"), 3),
            "tokens_per_s": _num(tokens, 1),
        },
        "predict": {
            "runtime_s": _num(_get(predict, "predict_runtime"), 1),
            "samples_per_s": _num(_get(predict, "predict_samples_per_second"), 3),
        },
        "loss": _loss_points(_get(state, "log_history", default=[])),
        "logs": run_logs(run_dir, config.get("report_to")),  # the tracker and its TensorBoard folders
        "sources": sorted(
            name
            for name, found in (
                (RECORD_FILE, record), ("adapter_config.json", adapter), ("trainer_state.json", state),
                ("train_results.json", train), (f"{predict_dir.name}/predict_results.json", predict),
            )
            if found
        ),  # fmt: skip
    }


def _encoder_card(run_dir: Path, summary: dict) -> dict:
    config = summary.get("config") if isinstance(summary.get("config"), dict) else {}
    command = summary.get("command")
    overrides = UNKNOWN
    recipe = UNKNOWN
    if isinstance(command, str):
        words = shlex.split(command)
        args = [w for w in words[3:] if not w.startswith("--")] if words[:3] == ["python", "-m", "encoder_ner.train"] else []
        if args:
            recipe, overrides = args[0], args[1:]
    state = _last_checkpoint_state(run_dir)
    loss = _loss_points(_get(state, "log_history", default=[]))
    if not loss["eval"]:
        steps_per_epoch = None
        if isinstance(summary.get("steps"), int) and summary.get("val_by_epoch"):
            steps_per_epoch = summary["steps"] / max(e["epoch"] for e in summary["val_by_epoch"])
        if steps_per_epoch:
            loss["eval"] = [
                [round(e["epoch"] * steps_per_epoch), e["loss"]]
                for e in summary.get("val_by_epoch", [])
                if isinstance(e.get("loss"), (int, float))
            ]
    epochs_run = max((e["epoch"] for e in summary.get("val_by_epoch") or []), default=None)
    train_seconds = summary.get("train_seconds")
    sentences = summary.get("train_sentences")
    samples = (
        sentences * epochs_run / train_seconds
        if isinstance(sentences, int) and epochs_run and isinstance(train_seconds, (int, float)) and train_seconds
        else UNKNOWN
    )
    per_device, accumulation = config.get("per_device_train_batch_size"), config.get("gradient_accumulation_steps")
    batch = (
        {"effective": per_device * accumulation, "how": f"{per_device} x {accumulation} accumulation x 1 process"}
        if isinstance(per_device, int) and isinstance(accumulation, int)
        else UNKNOWN
    )
    device = summary.get("device", UNKNOWN)
    hardware = (
        {"kind": "cpu", "cpu_count": summary.get("cpu_count", UNKNOWN), "torch_threads": summary.get("torch_threads")}
        if device == "cpu"
        else {"kind": device}
    )
    if isinstance(summary.get("hardware"), dict):  # recorded by encoder_ner.train (provenance.run_record.hardware)
        hardware = {**summary["hardware"], "torch_threads": summary.get("torch_threads")}
    return {
        "kind": "encoder_ner",
        "run_dir": str(run_dir),
        "recipe": recipe,
        "overrides": overrides,
        "model": config.get("model_name_or_path") or "BiLSTM-CRF, character embedding trained from scratch",
        "finetuning_type": "full",
        "lora": "none (full training)",
        "learning_rate": config.get("learning_rate", UNKNOWN),
        "epochs": config.get("num_train_epochs", UNKNOWN),
        "max_steps": config.get("max_steps", UNKNOWN),
        "steps_done": summary.get("steps", UNKNOWN),
        "batch": batch,
        "seed": config.get("seed", UNKNOWN),
        "git": summary.get("git", UNKNOWN),
        "versions": summary.get("versions", UNKNOWN),
        "hardware": hardware,
        "world_size": {"processes": 1, "how": "encoder_ner trains in one process"},
        "train": {
            "runtime_s": _num(train_seconds, 1),
            "samples_per_s": _num(samples, 3),
            "tokens_per_s": UNKNOWN,
            "epochs_run": epochs_run if epochs_run is not None else UNKNOWN,
            "stopped_by_time_budget": summary.get("stopped_by_time_budget", UNKNOWN),
        },
        "predict": {"runtime_s": UNKNOWN, "samples_per_s": UNKNOWN},
        "loss": loss,
        "logs": run_logs(run_dir, config.get("report_to")),
        "sources": ["train_summary.json", *(["checkpoint-*/trainer_state.json"] if state else [])],
    }


def build_card(predictions: str | Path) -> dict | None:
    """The run card of a predictions file, or None when it is not in a training output folder with anything in it."""
    predictions = Path(predictions)
    run_dir = training_dir_of(predictions)
    if run_dir is None or not run_dir.is_dir():
        return None
    summary = _read_json(run_dir / "train_summary.json")
    if isinstance(summary, dict):
        return _encoder_card(run_dir, summary)
    known = (RECORD_FILE, "adapter_config.json", "trainer_state.json", "train_results.json", "all_results.json")
    if not any((run_dir / name).is_file() for name in known):
        return None
    return _llm_card(run_dir, predictions.parent)


# ---------------------------------------------------------------- rendering


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none"
    return str(value)


def card_rows(card: dict) -> list[tuple[str, str]]:
    """(field, value) pairs, in the order of the report's table."""
    lora = card["lora"]
    if isinstance(lora, dict):
        lora = f"rank {lora['rank']}, alpha {lora['alpha']}, target {_text(lora['target'])}"
    git = card["git"]
    if isinstance(git, dict):
        git = f"{git['commit']}" + {True: " (tree dirty)", False: " (clean tree)"}.get(git["dirty"], " (dirty: unknown)")
    versions = card["versions"]
    if isinstance(versions, dict):
        versions = ", ".join(f"{k} {v or 'not installed'}" for k, v in versions.items())
    hw = card["hardware"]
    if isinstance(hw, dict):
        if hw.get("kind") == "gpu":
            hw = f"{hw.get('gpu_count')} GPU(s): {_text(hw.get('gpus', UNKNOWN))}"
        else:
            parts = [f"CPU {hw['cpu']}" if hw.get("cpu") else "CPU", f"{hw.get('cpu_count', UNKNOWN)} cores"]
            if hw.get("torch_threads"):
                parts.append(f"{hw['torch_threads']} torch threads")
            hw = ", ".join(parts)
    batch = card["batch"]
    if isinstance(batch, dict):
        batch = f"{batch['effective']} ({batch['how']})"
    train, predict = card["train"], card["predict"]
    return [
        ("recipe", _text(card["recipe"])),
        ("overrides", _text(card["overrides"])),
        ("model", _text(card["model"])),
        ("finetuning", _text(card["finetuning_type"])),
        ("LoRA", _text(lora)),
        ("learning rate", _text(card["learning_rate"])),
        ("epochs / max steps / steps done", f"{_text(card['epochs'])} / {_text(card['max_steps'])} / "
                                            f"{_text(card['steps_done'])}"),  # fmt: skip
        ("effective batch", _text(batch)),
        ("seed", _text(card["seed"])),
        ("git commit", _text(git)),
        ("versions", _text(versions)),
        ("hardware", _text(hw)),
        ("train runtime (s) / samples/s / tokens/s",
         f"{_text(train['runtime_s'])} / {_text(train['samples_per_s'])} / {_text(train['tokens_per_s'])}"),
        ("predict runtime (s) / samples/s", f"{_text(predict['runtime_s'])} / {_text(predict['samples_per_s'])}"),
        ("logs", logs_text(card.get("logs"), card["run_dir"])),
        ("read from", f"{card['run_dir']}/: {', '.join(card['sources'])}"),
    ]  # fmt: skip


def has_loss_curve(card: dict | None) -> bool:
    return bool(card and (card["loss"]["train"] or card["loss"]["eval"]))


def loss_curve_title(card: dict) -> str:
    """What the curve holds: an encoder run may log only its validation loss, never titled "training loss".

    >>> loss_curve_title({"loss": {"train": [], "eval": [[1, 0.5]]}})
    'eval loss'
    """
    held = [name for key, name in (("train", "training loss"), ("eval", "eval loss")) if card["loss"][key]]
    return " and ".join(held)


def loss_curve_png(card: dict, title: str) -> bytes:
    """PNG of the train (and eval) loss against the optimiser step."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for key, style in (("train", "-"), ("eval", "o-")):
        points = card["loss"][key]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=f"{key} loss", markersize=3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def render_card(card: dict | None, loss_curve: str | None = None) -> list[str]:
    """The report's "Run card" section (Markdown lines)."""
    lines = ["## Run card", ""]
    if card is None:
        return lines + [
            "unknown: the predictions file is not in a training output folder "
            "(`<run_dir>/predict_<split>/generated_predictions.jsonl` with `run_command.json`, `trainer_state.json` "
            "or `train_summary.json` beside it).",
            "",
        ]
    lines += ["| field | value |", "|---|---|"]
    lines += [f"| {name} | {value.replace('|', '/')} |" for name, value in card_rows(card)]
    lines.append("")
    if loss_curve:
        lines += [f"![loss curve]({loss_curve})", ""]
    else:
        lines += ["Loss curve: unknown (no `log_history` with losses was found).", ""]
    return lines


def write_loss_curve(metrics: dict, folder: str | Path) -> str | None:
    """Write (or remove) ``folder/loss_curve.png`` from ``metrics['run_card']``; returns the file name if written."""
    from cluener.files import atomic_write_bytes

    path = Path(folder) / LOSS_CURVE_FILE
    card = metrics.get("run_card")
    if not has_loss_curve(card):
        path.unlink(missing_ok=True)
        return None
    atomic_write_bytes(path, loss_curve_png(card, f"{metrics['name']}: {loss_curve_title(card)}"))
    return LOSS_CURVE_FILE


def card_of_summary(path: str | Path) -> dict | None:
    """The card of an encoder run from a copy of its ``train_summary.json`` (e.g. kept in its report folder)."""
    summary = _read_json(Path(path))
    if not isinstance(summary, dict):
        return None
    run_dir = Path(summary["config"]["output_dir"]) if isinstance(summary.get("config"), dict) and \
        isinstance(summary["config"].get("output_dir"), str) else Path(path).parent  # fmt: skip
    return _encoder_card(run_dir, summary)
