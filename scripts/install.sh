#!/usr/bin/env bash
# Create the project's virtual environment and install what the Makefile targets need.
#   scripts/install.sh [VENV] [cpu|gpu|auto]
# auto (the default) picks gpu when nvidia-smi works, else cpu. The cpu path never downloads a CUDA torch.
# WHEELHOUSE=<dir>: install from a `make wheelhouse` folder with no network (pip --no-index).
# BYO_PYTHON=<python>: bring your own environment: no venv; scripts/byoe.py installs the missing pins into that
# Python's environment (its torch kept) and writes VENV/bin/{python,llamafactory-cli,torchrun} to stand in for one.
set -euo pipefail
venv=${1:-.venv}
mode=${2:-auto}
if [ -n "${BYO_PYTHON:-}" ]; then
  exec "$BYO_PYTHON" -m scripts.byoe --dest "$venv" ${WHEELHOUSE:+--wheelhouse "$WHEELHOUSE"} \
    ${BYO_VLLM:+--vllm} ${ALLOW_TORCH_CHANGE:+--allow-torch-change}
fi
python=${PYTHON:-python3.11}
if [ "$mode" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then mode=gpu; else mode=cpu; fi
fi
command -v "$python" >/dev/null || { echo "error: $python not found (llamafactory 0.9.5 needs Python >= 3.11)" >&2; exit 1; }
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
if [ -n "${WHEELHOUSE:-}" ]; then
  [ -d "$WHEELHOUSE" ] || { echo "error: WHEELHOUSE=$WHEELHOUSE: no such folder" >&2; exit 1; }
  pip+=(--no-index --find-links "$WHEELHOUSE")
fi
if [ "$mode" = gpu ]; then
  "${pip[@]}" -r requirements.txt
else
  # torch 2.13.0 is a CPU build; hold it there so nothing pulls a CUDA build.
  "${pip[@]}" torch==2.13.0
  constraints=$(mktemp)
  trap 'rm -f "$constraints"' EXIT
  echo "torch==2.13.0" > "$constraints"
  "${pip[@]}" -c "$constraints" -r requirements-cpu.txt
  "$venv/bin/python" -m pip uninstall -y -q torchvision || true
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # torchaudio loads lib/*.so only when present (its documented pex layout): without them it imports on CPU.
  rm -f "$site"/torchaudio/lib/*.so
fi
"$venv/bin/python" - <<'PY'
import torch, torchaudio, llamafactory  # noqa: F401  (llamafactory imports torchaudio at module level)
print(f"ok: torch {torch.__version__}, llamafactory {llamafactory.__version__}")
PY
echo "$mode" > "$venv/.installed"
