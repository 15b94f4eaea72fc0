#!/usr/bin/env bash
# vLLM's own loaders on CPU, for tests/test_vllm_loaders.py: vllm (pure-Python part) + the few modules its config,
# tokenizer and LoRA loaders import, unpacked into DEST, which the tests put on PYTHONPATH beside the CPU .venv.
#   scripts/install_vllm_loaders.sh [DEST] [VENV]
# The CPU .venv holds the transformers / tokenizers / huggingface_hub of the GPU set (requirements-common.txt), so
# the loaders read the tiny model exactly as `vllm serve` in the GPU environment reads a model. vllm's compiled
# CUDA kernels (*.so, 1.3 GB) are left out: no loader imports them. Not a serving environment.
set -euo pipefail
dest=${1:-.cache/vllm-loaders}
venv=${2:-.venv}
req=requirements-vllm-loaders.txt
[ -f "$dest/.installed" ] && cmp -s "$req" "$dest/.installed" && exit 0
pip=("$venv/bin/python" -m pip)
mkdir -p "$(dirname "$dest")"  # a fresh clone has no .cache/ yet
scratch=$(mktemp -d "${dest%/}.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
vllm=$(grep -E '^vllm==' "$req")
"${pip[@]}" download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$scratch/wheel" "$vllm"
python_dir="$scratch/site"
mkdir -p "$python_dir"
"$venv/bin/python" - "$scratch/wheel" "$python_dir" <<'PY'
import sys, zipfile
from pathlib import Path
wheel = next(Path(sys.argv[1]).glob("vllm-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    for info in archive.infolist():
        if not info.filename.endswith(".so"):  # the CUDA kernels; the loaders never import them
            archive.extract(info, sys.argv[2])
PY
grep -vE '^(vllm==|#|$)' "$req" | xargs "${pip[@]}" install -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --target "$python_dir"
cp "$req" "$python_dir/.installed"
rm -rf "$dest"
mv "$python_dir" "$dest"
echo "ok: vllm loaders in $dest"
