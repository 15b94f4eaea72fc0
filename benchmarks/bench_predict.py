"""`make bench-predict`: prediction throughput of a recipe on dev, on a model of its real shape, at the real lengths.

For each recipe (every GPU recipe with a predict recipe, or those named):

1. the checkpoint's published shape is built as `make bench-gpu` builds it (benchmarks/bench_gpu.py: random weights,
   the real Qwen BPE; on a GPU the full shape in bf16, with ``--dry-run`` a shrunken copy in fp32 on CPU), plus, for a
   LoRA recipe, a random LoRA adapter of the recipe's rank on every linear layer (LF merges it at load, as it does a
   trained one);
2. every dev sentence gets its **gold generation length**: the tokens of its gold target through the recipe's template
   up to and including the stop token (benchmarks/predict_lengths.py). A random model practically never emits the
   stop token, so it generates exactly as many tokens as it is allowed:
   - **LF predict** (HF backend; the command `make predict` runs: ``llamafactory-cli train yaml_configs/predict/<recipe>.yaml``)
     has one ``max_new_tokens`` per run and no ``min_new_tokens``: dev is sorted by gold length and cut into
     ``--buckets`` groups, each run with ``max_new_tokens`` = its longest gold length (the tokens generated beyond the
     gold lengths are recorded as ``overshoot_tokens``); LF's own ``predict_runtime`` is the generation time;
   - **LF api** (``make api`` + ``make predict-api``): ``llamafactory-cli api yaml_configs/chat/<recipe>.yaml`` as make
     api starts it (HF backend, ``MAX_CONCURRENT=--api-concurrency``), sent every sentence with ``--concurrency``
     requests in flight (make predict-api's CONCURRENCY) and a per-request ``max_tokens`` = its gold length (LF's api
     passes ``max_tokens`` to the engine as ``max_new_tokens``); each answer's ``usage.completion_tokens`` is recorded;
   - **vLLM** (``llamafactory-cli api ... infer_backend=vllm``, the same requests): only where vLLM is installed and a
     CUDA GPU is there; otherwise null, with the reason.
3. JSON per recipe in ``BENCH_OUT/predict/<recipe>.json`` and the table in ``BENCH_OUT/predict/README.md``, with the
   projected minutes of ``make predict`` and ``make predict-api`` on dev and test (how, in predict_lengths.py and in
   ``projection`` of the JSON). The built model and the runs (saves/bench-predict/<recipe>) are removed.

Usage: ``python -m benchmarks.bench_predict [--recipes R ...] [--dry-run] [--limit N] [--buckets B] [--out DIR]``
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.bench_gpu import BenchError, build_model, check_params, gpu_recipes, load_recipe
from benchmarks.predict_lengths import (
    batches,
    buckets,
    fit_batch_seconds,
    gold_length,
    overshoot,
    project_dataset_order,
)

from cluener.files import atomic_write_json, atomic_write_text
from cluener.layout import (
    ALPACA_COLUMNS, DATA_DIR, RECIPE_DIR, SAVES_DIR, data_file, dataset_for_split, read_recipe, recipe_path,
)  # fmt: skip
from cluener.prompts import build_prompt

ROOT = Path(__file__).resolve().parents[1]

SERVER_START_TIMEOUT = 1800.0  # an 8B model in bf16 (or vLLM's graph capture) loads in minutes, not seconds
REQUEST_TIMEOUT = 600.0


def predict_recipes() -> list[str]:
    return [r for r in gpu_recipes() if recipe_path("predict", r, ROOT / RECIPE_DIR).is_file()]


def split_rows(recipe: str, split: str) -> list[dict]:
    predict = read_recipe("predict", recipe, ROOT / RECIPE_DIR)
    dataset = dataset_for_split(split, predict.get("eval_dataset"))
    path = data_file(dataset, ROOT / DATA_DIR)
    if not path.is_file():
        raise BenchError(f"{path}: missing, run 'make data' first")
    return json.loads(path.read_text(encoding="utf-8"))


def gold_lengths(recipe: str, rows: list[dict], tokenizer_dir: Path) -> list[int]:
    """Each row's gold generation length through the predict recipe's template (predict_lengths.gold_length)."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    predict = read_recipe("predict", recipe, ROOT / RECIPE_DIR)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    template = get_template_and_fix_tokenizer(
        tokenizer, DataArguments(template=predict["template"], enable_thinking=predict.get("enable_thinking", True)))
    stops = template.get_stop_token_ids(tokenizer)
    lengths = []
    for row in rows:
        messages = [{"role": "user", "content": build_prompt(row["instruction"], row["input"])},
                    {"role": "assistant", "content": row["output"]}]
        _, target = template.encode_oneturn(tokenizer, messages)
        lengths.append(gold_length(target, stops))
    return lengths


def write_buckets(rows: list[dict], groups: list[list[int]], data_dir: Path) -> list[str]:
    """One alpaca file per bucket and their dataset_info.json (the columns of the project's own entries)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    info, names = {}, []
    for k, group in enumerate(groups):
        name = f"bench_bucket_{k}"
        atomic_write_json(data_dir / f"{name}.json", [rows[i] for i in group])
        info[name] = {"file_name": f"{name}.json", "formatting": "alpaca",
                      "columns": dict(ALPACA_COLUMNS)}
        names.append(name)
    atomic_write_json(data_dir / "dataset_info.json", info)
    return names


def model_args(predict: dict, model_dir: Path, adapter_dir: Path | None, dry_run: bool) -> list[str]:
    args = [f"model_name_or_path={model_dir}"]
    if "adapter_name_or_path" in predict:
        args.append(f"adapter_name_or_path={adapter_dir}")
    if dry_run and "quantization_bit" in predict:  # bitsandbytes 4-bit needs CUDA
        args.append("quantization_bit=null")
    return args


def lf_cli() -> str:
    return str(Path(sys.prefix) / "bin" / "llamafactory-cli")  # make runs this file with $(VENV)/bin/python


def lf_predict_bucket(recipe: str, base_args: list[str], data_dir: Path, dataset: str, max_new_tokens: int,
                      run_dir: Path, dry_run: bool, log_path: Path) -> dict:
    args = base_args + [f"dataset_dir={data_dir}", f"eval_dataset={dataset}", f"output_dir={run_dir}",
                        f"max_new_tokens={max_new_tokens}", "overwrite_output_dir=true", "report_to=none"]
    if dry_run:
        args += ["bf16=false", "preprocessing_num_workers=1", "dataloader_num_workers=0"]
    command = [lf_cli(), "train", f"yaml_configs/predict/{recipe}.yaml", *args]
    started = time.monotonic()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        done = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    wall = time.monotonic() - started
    results = run_dir / "predict_results.json"
    if done.returncode != 0 or not results.is_file():
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise BenchError(f"{recipe}: LF predict failed (exit {done.returncode}; log {log_path}): {' '.join(tail)}")
    runtime = float(json.loads(results.read_text(encoding="utf-8"))["predict_runtime"])
    predictions = (run_dir / "generated_predictions.jsonl").read_text(encoding="utf-8").splitlines()
    return {"predict_runtime_s": round(runtime, 3), "wall_s": round(wall, 1), "predictions": len(predictions)}


def hf_predict(recipe: str, predict: dict, base_args: list[str], rows: list[dict], lengths: list[int],
               dev_lengths: list[int], test_count: int, count: int, work: Path, dry_run: bool, log_path: Path) -> dict:
    groups = buckets(lengths, count)
    names = write_buckets(rows, groups, work / "data")
    extra = overshoot(lengths, groups)
    batch = int(predict["per_device_eval_batch_size"])
    measured = []
    for k, (name, group) in enumerate(zip(names, groups)):
        steps = max(lengths[i] for i in group)
        run = lf_predict_bucket(recipe, base_args, work / "data", name, steps, work / f"predict_{k}", dry_run, log_path)
        if run["predictions"] != len(group):
            raise BenchError(f"{recipe}: LF predict wrote {run['predictions']} predictions for {len(group)} sentences")
        measured.append({"sentences": len(group), "max_new_tokens": steps, "gold_tokens": sum(lengths[i] for i in group),
                         "overshoot_tokens": extra[k], "batches": batches(len(group), batch), **run})
    seconds = sum(b["predict_runtime_s"] for b in measured)
    a, c = fit_batch_seconds([(b["max_new_tokens"], b["predict_runtime_s"] / b["batches"]) for b in measured])
    startup = sum(b["wall_s"] - b["predict_runtime_s"] for b in measured) / len(measured)
    dev_seconds = project_dataset_order(dev_lengths, batch, a, c)
    return {
        "command": f"llamafactory-cli train yaml_configs/predict/{recipe}.yaml (what make predict runs)",
        "per_device_eval_batch_size": batch,
        "sentences_per_second": round(len(rows) / seconds, 3),
        "generated_tokens_per_second": round(sum(b["max_new_tokens"] * b["sentences"] for b in measured) / seconds, 1),
        "overshoot_tokens": sum(extra),
        "gold_tokens": sum(lengths),
        "buckets": measured,
        "startup_seconds": round(startup, 1),
        "projection": {"batch_seconds": {"a": a, "c_per_step": c},
                       "how": "startup + sum over dataset-order batches of (a + c x longest gold length in the batch); "
                              "test: dev's generation seconds x test/dev sentences (test has no gold)"},
        "projected_minutes": {"dev": round((startup + dev_seconds) / 60, 2),
                              "test": round((startup + dev_seconds * test_count / len(dev_lengths)) / 60, 2)},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def lf_api(recipe: str, base_args: list[str], backend: str, api_concurrency: int, dry_run: bool, log_path: Path):
    """``llamafactory-cli api`` as make api starts it, on a free loopback port; yields (base_url, startup seconds)."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "OPENAI_API_KEY")}
    env.update(API_HOST="127.0.0.1", API_PORT=str(port), MAX_CONCURRENT=str(api_concurrency), API_MODEL_NAME=recipe)
    args = base_args + [f"infer_backend={backend}"] + (["infer_dtype=float32"] if dry_run else [])
    command = [lf_cli(), "api", f"yaml_configs/chat/{recipe}.yaml", *args]
    log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the server's lifetime
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    started = time.monotonic()
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            if server.poll() is not None:
                raise BenchError(f"{recipe}: llamafactory-cli api ({backend}) exited {server.returncode} (log {log_path})")
            if time.monotonic() - started > SERVER_START_TIMEOUT:
                raise BenchError(f"{recipe}: llamafactory-cli api ({backend}) not up after {SERVER_START_TIMEOUT:.0f} s")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/models", timeout=5, trust_env=False).status_code == 200:
                    break
            time.sleep(1)
        yield url, time.monotonic() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def send_all(url: str, recipe: str, rows: list[dict], lengths: list[int], concurrency: int) -> tuple[float, list[int]]:
    """Every sentence with max_tokens = its gold length, ``concurrency`` at once: (seconds, completion tokens each)."""
    import httpx

    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT, trust_env=False,
                      limits=httpx.Limits(max_connections=concurrency)) as client:
        def one(i: int) -> int:
            body = {"model": recipe, "temperature": 0, "stream": False, "max_tokens": lengths[i],
                    "messages": [{"role": "user", "content": build_prompt(rows[i]["instruction"], rows[i]["input"])}]}
            try:
                response = client.post("chat/completions", json=body)
            except httpx.HTTPError as exc:
                raise BenchError(f"{recipe}: {url}/chat/completions: {type(exc).__name__}: {exc}") from None
            if response.status_code != 200:
                raise BenchError(f"{recipe}: {url}/chat/completions: HTTP {response.status_code}: {response.text[:200]}")
            try:
                return int(response.json()["usage"]["completion_tokens"])
            except (ValueError, KeyError, TypeError):
                raise BenchError(f"{recipe}: {url}/chat/completions: no usage.completion_tokens in "
                                 f"{response.text[:200]!r}") from None

        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            tokens = list(pool.map(one, range(len(rows))))
        return time.monotonic() - started, tokens


def api_bench(recipe: str, base_args: list[str], backend: str, rows: list[dict], lengths: list[int], dev_count: int,
              test_count: int, concurrency: int, api_concurrency: int, dry_run: bool, log_path: Path) -> dict:
    with lf_api(recipe, base_args, backend, api_concurrency, dry_run, log_path) as (url, startup):
        seconds, tokens = send_all(url, recipe, rows, lengths, concurrency)
    over = [i for i, (t, g) in enumerate(zip(tokens, lengths)) if t > g]
    if over:
        raise BenchError(f"{recipe}: the {backend} api generated more than max_tokens for {len(over)} requests")
    rate = len(rows) / seconds
    return {
        "command": f"llamafactory-cli api yaml_configs/chat/{recipe}.yaml infer_backend={backend} (make api) + "
                   f"{concurrency} concurrent requests (make predict-api CONCURRENCY)",
        "backend": backend, "concurrency": concurrency, "server_concurrency": api_concurrency,
        "sentences_per_second": round(rate, 3),
        "generated_tokens_per_second": round(sum(tokens) / seconds, 1),
        "completion_tokens": sum(tokens), "gold_tokens": sum(lengths),
        "stopped_early": sum(t < g for t, g in zip(tokens, lengths)),
        "startup_seconds": round(startup, 1),
        "projected_minutes": {"dev": round(dev_count / rate / 60, 2), "test": round(test_count / rate / 60, 2)},
    }


def vllm_reason(dry_run: bool) -> str | None:
    """Why vLLM serving is not measured here, or None when it can be."""
    if importlib.util.find_spec("vllm") is None:
        return "vllm is not installed in this environment (the GPU set installs it: requirements-vllm.txt)"
    if dry_run:
        return "dry run: vLLM needs a CUDA GPU"
    return None


def bench(recipe: str, dry_run: bool, limit: int | None, count: int, concurrency: int, api_concurrency: int,
          out: Path, gpu: str | None) -> dict:
    config = load_recipe(recipe)
    predict = read_recipe("predict", recipe, ROOT / RECIPE_DIR)
    shape, params = check_params(recipe)
    work = ROOT / SAVES_DIR / "bench-predict" / recipe
    shutil.rmtree(work, ignore_errors=True)
    lora = ({"r": int(config["lora_rank"]), "alpha": int(config.get("lora_alpha", 2 * int(config["lora_rank"])))}
            if "adapter_name_or_path" in predict else None)
    model_dir = build_model(shape, work / "model", dry_run, lora=lora)
    adapter_dir = model_dir.parent / "adapter" if lora else None
    dev_rows, test_rows = split_rows(recipe, "dev"), split_rows(recipe, "test")
    dev_lengths = gold_lengths(recipe, dev_rows, model_dir)
    rows, lengths = dev_rows[:limit], dev_lengths[:limit]
    base_args = model_args(predict, model_dir, adapter_dir, dry_run)
    log_path = out / f"{recipe}.log"
    log_path.write_text("", encoding="utf-8")
    started = time.monotonic()
    row = {
        "recipe": recipe, "params": params, "gpu": gpu, "dry_run": dry_run,
        "model": "shrunken copy (2 layers, hidden 64), fp32, CPU" if dry_run else "full shape, bf16",
        "adapter": f"random LoRA r{lora['r']} on every linear layer" if lora else None,
        "split": "dev", "sentences": len(rows), "dev_sentences": len(dev_rows), "test_sentences": len(test_rows),
        "gold_tokens": {"mean": round(sum(lengths) / len(lengths), 2), "max": max(lengths)},
        "hf_predict": hf_predict(recipe, predict, base_args, rows, lengths, dev_lengths, len(test_rows), count, work,
                                 dry_run, log_path),
        "api": api_bench(recipe, base_args, "huggingface", rows, lengths, len(dev_rows), len(test_rows), concurrency,
                         api_concurrency, dry_run, log_path),
    }
    reason = vllm_reason(dry_run)
    row["vllm"] = None if reason else api_bench(recipe, base_args, "vllm", rows, lengths, len(dev_rows),
                                                len(test_rows), concurrency, api_concurrency, dry_run, log_path)
    row["vllm_reason"] = reason
    row["wall_seconds"] = round(time.monotonic() - started, 1)
    row["gold_lengths"] = lengths  # of the sentences measured, in dev order
    row["date"] = time.strftime("%Y-%m-%d", time.gmtime())
    atomic_write_json(out / f"{recipe}.json", row)
    shutil.rmtree(work, ignore_errors=True)
    return row


COLUMNS = ["recipe", "params", "gpu", "sentences", "LF predict sent/s", "overshoot tokens",
           "make predict min (dev / test)", "LF api sent/s", "make predict-api min (dev / test)", "vLLM sent/s"]


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        hf, api, vllm = r["hf_predict"], r["api"], r["vllm"]
        cells = [r["recipe"], f"{r['params']:,}", r["gpu"] or "cpu (dry run)", str(r["sentences"]),
                 str(hf["sentences_per_second"]), str(hf["overshoot_tokens"]),
                 f"{hf['projected_minutes']['dev']} / {hf['projected_minutes']['test']}",
                 str(api["sentences_per_second"]),
                 f"{api['projected_minutes']['dev']} / {api['projected_minutes']['test']}",
                 str(vllm["sentences_per_second"]) if vllm else "— (" + r["vllm_reason"].split(" (")[0] + ")"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="*", default=None, help="training recipes (default: every GPU recipe)")
    parser.add_argument("--dry-run", action="store_true", help="CPU: shrunken fp32 model, the first --limit sentences")
    parser.add_argument("--limit", type=int, default=None, help="the first N dev sentences (default: all; dry run 24)")
    parser.add_argument("--buckets", type=int, default=None, help="gold-length buckets of LF predict (6; dry run 2)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (make predict-api's)")
    parser.add_argument("--api-concurrency", type=int, default=4, help="MAX_CONCURRENT of the api (make api's)")
    parser.add_argument("--out", default=str(ROOT / "reports" / "gpu-bench"))
    args = parser.parse_args(argv)
    limit = args.limit if args.limit is not None else (24 if args.dry_run else None)
    count = args.buckets or (2 if args.dry_run else 6)
    out = Path(args.out).resolve() / "predict"
    try:
        for name, value in (("LIMIT", limit), ("buckets", count), ("CONCURRENCY", args.concurrency),
                            ("API_CONCURRENCY", args.api_concurrency)):
            if value is not None and value < 1:
                raise BenchError(f"{name}={value}: must be at least 1")
        recipes = args.recipes or predict_recipes()
        for recipe in recipes:
            load_recipe(recipe)
            if recipe not in predict_recipes():
                raise BenchError(f"RECIPE={recipe}: no yaml_configs/predict/{recipe}.yaml")
        if not (ROOT / DATA_DIR / "manifest.json").is_file():
            raise BenchError("no prepared data; run 'make data' first")
        gpu = None
        if not args.dry_run:
            import torch

            if not torch.cuda.is_available():
                raise BenchError("no CUDA GPU: make bench-predict needs one (DRY_RUN=1 runs the harness on CPU)")
            gpu = torch.cuda.get_device_name(0)
        out.mkdir(parents=True, exist_ok=True)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows, failed = [], []
    for recipe in recipes:
        try:
            rows.append(bench(recipe, args.dry_run, limit, count, args.concurrency, args.api_concurrency, out, gpu))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed.append(recipe)
            continue
        print(f"{recipe}: LF predict {rows[-1]['hf_predict']['sentences_per_second']} sent/s, "
              f"LF api {rows[-1]['api']['sentences_per_second']} sent/s", flush=True)
    header = (f"# make bench-predict{' DRY_RUN=1' if args.dry_run else ''}: {len(rows)} recipe(s), "
              f"{gpu or 'CPU (dry run: a shrunken model, not a GPU figure)'}, {time.strftime('%Y-%m-%d', time.gmtime())}"
              f"\n\nGeneration lengths forced to the gold targets' token lengths; see benchmarks/bench_predict.py.\n\n")
    failures = f"\nFailed (see <recipe>.log): {' '.join(failed)}\n" if failed else ""
    table = markdown(rows)
    atomic_write_text(out / "README.md", header + table + failures)
    print(table, end="")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
