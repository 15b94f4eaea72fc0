#!/usr/bin/env bash
# make gpu-smoke: what a GPU user runs first (about 5-10 minutes). The tiny random Qwen3 (scripts/tiny_qwen.py: real
# Qwen BPE, RoPE base 5e6) goes through the real recipes on CUDA, in bf16 (PRECISION=fp16 on GPUs without bf16):
#   LoRA train -> ZeRO-3 on one GPU -> predict -> export (RoPE base kept) -> vLLM serving the adapter (the
#   `make serve-vllm` command) with `make predict-api` against it -> a QLoRA (4-bit bitsandbytes) load and 3 steps.
# Everything is written under a temp folder (SMOKE_DIR to choose one); the repository's saves/ is not touched.
# `make data` runs first (CLUENER_DIR=<dir> or the download). vLLM comes from requirements-vllm.txt (installed
# into the venv when missing). Prints a pass/fail table; exit status 1 when a step failed.
#   scripts/gpu_smoke.sh [VENV]
set -uo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
py="$venv/bin/python"
precision=${PRECISION:-bf16}
work=${SMOKE_DIR:-$(mktemp -d /tmp/gpu-smoke.XXXXXX)}
mkdir -p "$work/logs"
export SMOKE_DIR=$work PRECISION=$precision
lora_recipe=qwen3_4b_instruct2507_lora_sft
port=${SMOKE_PORT:-8765}
rows=()
failed=0
server=
cpu_dry_run=${SMOKE_CPU_DRY_RUN:-}  # 1: the CPU-checkable steps only, PRECISION=fp32 (a check of this script)

finish() {
  printf '\n%-12s %-7s %6s  %s\n' step result secs "log / note"
  for row in "${rows[@]}"; do printf '%s\n' "$row"; done
  echo "work folder: $work"
}
trap finish EXIT

row() { rows+=("$(printf '%-12s %-7s %6s  %s' "$1" "$2" "$3" "$4")"); }

# step NAME NEEDS LIMIT_SECONDS COMMAND...: run COMMAND unless a step it NEEDS (comma list, or -) did not pass.
declare -A passed=()
step() {
  local name=$1 needs=$2 limit=$3 start rc need
  shift 3
  for need in ${needs//,/ }; do
    [ "$need" = - ] || [ -n "${passed[$need]:-}" ] || { row "$name" SKIP - "needs $need"; return 1; }
  done
  start=$(date +%s)
  if declare -F "$1" >/dev/null; then  # a function of this script: run it in a fresh copy of the script
    SMOKE_RUN=$1 timeout "$limit" bash "$0" "$venv" >"$work/logs/$name.log" 2>&1
  else
    timeout "$limit" "$@" >"$work/logs/$name.log" 2>&1
  fi
  rc=$?
  local secs=$(($(date +%s) - start)) result=PASS
  if [ "$rc" -eq 0 ]; then
    passed[$name]=1
  else
    failed=1
    result=FAIL
    [ "$rc" -eq 124 ] && result=TIMEOUT
    echo "--- $name failed; the end of $work/logs/$name.log:" >&2
    tail -20 "$work/logs/$name.log" >&2
  fi
  row "$name" "$result" "$secs" "$work/logs/$name.log"
  return "$rc"
}
gpu_only() { [ -z "$cpu_dry_run" ] && return 0; row "$1" SKIP - "CPU dry run"; return 1; }

tiny="$work/tiny-qwen3"
# No evaluation or checkpoint within these few steps (not eval_strategy=no: LLaMA-Factory's command line reads a
# bare no as the boolean false).
steps_args="model_name_or_path=$tiny eval_steps=100000 save_steps=100000 report_to=none"
lora_size="max_steps=30 max_samples=480"
ds3_size="max_steps=5 max_samples=80"
n_predict=64
predict_size="max_samples=$n_predict"
if [ -n "$cpu_dry_run" ]; then  # the same commands, small enough for a CPU (the Qwen vocabulary's logits dominate)
  precision=fp32
  lora_size="max_steps=2 max_samples=8 per_device_train_batch_size=2 gradient_accumulation_steps=1"
  ds3_size=$lora_size
  n_predict=8
  predict_size="max_samples=$n_predict per_device_eval_batch_size=8 max_new_tokens=16"
fi
export PRECISION=$precision
common=("PRECISION=$precision" "VENV=$venv")

check_gpu() {
  "$py" - "$precision" <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("no CUDA GPU visible to torch: make gpu-smoke needs one (make test is the CPU check)")
name = torch.cuda.get_device_name(0)
if sys.argv[1] == "bf16" and not torch.cuda.is_bf16_supported():
    sys.exit(f"{name} has no bf16: run make gpu-smoke PRECISION=fp16")
print(f"{name}, torch {torch.__version__}, CUDA {torch.version.cuda}")
PY
}
check_export() {
  "$py" - "$work/merged" <<'PY'
import json, sys
from transformers import AutoConfig
path = sys.argv[1]
raw = json.load(open(f"{path}/config.json"))
assert raw.get("rope_theta") == 5e6, f"config.json rope_theta {raw.get('rope_theta')}, expected 5e6"
assert AutoConfig.from_pretrained(path).rope_theta == 5e6
print("merged config keeps rope_theta 5e6")
PY
}
# vLLM 0.11.0 pins torch==2.8.0: it is installed only where that keeps the environment's torch (in a bring-your-own
# environment with another torch it lives in its own environment: README), and the step says so when it cannot be.
torch_held() { echo "torch==$("$py" -c "import importlib.metadata as m; print(m.version('torch'))")"; }
vllm_unavailable() {
  "$py" -c "import vllm" 2>/dev/null && return
  "$py" -m pip install -q --dry-run -c <(torch_held) -r requirements-vllm.txt >/dev/null 2>&1 ||
    echo "vLLM 0.11.0 cannot be installed here (it pins torch==2.8.0; here $(torch_held); or no network)"
}
ensure_vllm() {
  "$py" -c "import vllm" 2>/dev/null || "$py" -m pip install -q -c <(torch_held) -r requirements-vllm.txt
  "$py" -m pip check
}
serve_and_predict() {
  trap '[ -n "$server" ] && kill "$server" 2>/dev/null' EXIT
  trap 'exit 143' TERM
  "$py" -m scripts.serve_vllm "$lora_recipe" --model "$tiny" --adapter "$work/lora" --port "$port" \
    --precision "$precision" -- --gpu-memory-utilization 0.3 --enforce-eager >"$work/logs/vllm-server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { tail -30 "$work/logs/vllm-server.log"; return 1; }
    sleep 2
  done
  make --no-print-directory predict-api "${common[@]}" RECIPE="$lora_recipe" API_PORT="$port" CONCURRENCY=16 \
    API_ARGS="--limit 64 --output $work/api/generated_predictions.jsonl" || return 1
  test "$(wc -l <"$work/api/generated_predictions.jsonl")" -eq 64
}

predict_some() {
  make --no-print-directory predict "${common[@]}" RECIPE="$lora_recipe" SPLIT=dev \
    ARGS="model_name_or_path=$tiny adapter_name_or_path=$work/lora output_dir=$work/predict $predict_size" &&
    test "$(wc -l <"$work/predict/generated_predictions.jsonl")" -eq "$n_predict"
}

if [ -n "${SMOKE_RUN:-}" ]; then  # one step's function, called by step() under timeout
  trap - EXIT
  "$SMOKE_RUN"
  exit $?
fi
if [ -n "$cpu_dry_run" ]; then
  row gpu SKIP - "CPU dry run"
  passed[gpu]=1
else
  step gpu - 60 check_gpu
fi
step data gpu 300 make --no-print-directory data "${common[@]}" ${CLUENER_DIR:+CLUENER_DIR=$CLUENER_DIR}
step tiny-model gpu 300 "$py" -m scripts.tiny_qwen "$tiny"
step lora-train data,tiny-model 600 make --no-print-directory train "${common[@]}" RECIPE="$lora_recipe" \
  ARGS="$steps_args output_dir=$work/lora $lora_size"
step zero3-1gpu data,tiny-model 600 make --no-print-directory train "${common[@]}" RECIPE=qwen3_8b_lora_sft_ds3 \
  FORCE_TORCHRUN=1 NPROC_PER_NODE=1 ARGS="$steps_args output_dir=$work/ds3 $ds3_size"
step predict lora-train 600 predict_some
step export lora-train 600 make --no-print-directory export "${common[@]}" RECIPE="$lora_recipe" \
  ARGS="model_name_or_path=$tiny adapter_name_or_path=$work/lora export_dir=$work/merged"
step rope-base export 60 check_export
if gpu_only vllm-setup; then
  why=
  [ -n "${passed[gpu]:-}" ] && why=$(vllm_unavailable)  # without a GPU, step says "needs gpu"
  if [ -n "$why" ]; then row vllm-setup SKIP - "$why"; else step vllm-setup gpu 900 ensure_vllm; fi
fi
gpu_only vllm-api && step vllm-api lora-train,vllm-setup 600 serve_and_predict
gpu_only qlora && step qlora data,tiny-model 600 make --no-print-directory train "${common[@]}" \
  RECIPE=qwen3_8b_qlora_sft ARGS="$steps_args output_dir=$work/qlora max_steps=3 max_samples=48"
exit "$failed"
