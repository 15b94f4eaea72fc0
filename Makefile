# CLUENER2020 x LLaMA-Factory: the front door. `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Bring your own environment (README): BYO_PYTHON=<a Python that already has torch> runs every target with it, no venv:
# `make setup` installs only the missing pins into its environment, torch kept (scripts/byoe.py), and writes
# .byoe/<its path>/bin/{python,llamafactory-cli,torchrun}, which stand in for .venv/bin. WHEELHOUSE=<dir>: install
# from a `make wheelhouse` folder with no network (either way).
BYO_PYTHON  ?=
WHEELHOUSE  ?=
BYO_PATH    := $(if $(BYO_PYTHON),$(or $(shell command -v $(BYO_PYTHON)),$(error BYO_PYTHON=$(BYO_PYTHON): no such interpreter)))
VENV        ?= $(if $(BYO_PATH),.byoe/$(subst /,_,$(BYO_PATH)),.venv)
PY          := $(VENV)/bin/python
LFCLI       := $(VENV)/bin/llamafactory-cli
STAMP       := $(VENV)/.installed

# Data: the seeded validation split carved out of the official train file.
SEED        ?= 42
VAL_SIZE    ?= 500
CLUENER_DIR ?=

# Recipes: RECIPE names any recipe basename. SIZE picks the LoRA recipe of a model size, for every target that
# takes a recipe (train, predict, chat, export, api, predict-api, submit): the sizes are the table
# yaml_configs/sizes.txt (size, family, recipe; the one place a size is added), 4b (Qwen3-4B-Instruct-2507) by
# default. RECIPE wins over SIZE. The table gives RECIPE_<size> and SIZES_<family> (e.g. SIZES_Qwen3).
SIZE        ?=
DEFAULT_SIZE := 4b
SIZES_FILE  := yaml_configs/sizes.txt
SIZES_BAD   := $(shell awk '!/^\#/ && NF && NF != 3 {print FILENAME ":" FNR ": expected three columns: size family recipe"; exit}' $(SIZES_FILE) 2>&1)
$(if $(SIZES_BAD),$(error $(SIZES_BAD)))
$(foreach assignment,$(shell awk '!/^\#/ && NF == 3 {print "RECIPE_" $$1 ":=" $$3, "SIZES_" $$2 "+=" $$1}' $(SIZES_FILE)),$(eval $(assignment)))
SIZE_FAMILIES := $(shell awk '!/^\#/ && NF == 3 && !seen[$$2]++ {print $$2}' $(SIZES_FILE))
SIZE_CHOICES := $(foreach family,$(SIZE_FAMILIES),$(SIZES_$(family)) ($(family)))
size_recipe = $(or $(RECIPE_$(1)),$(error SIZE=$(1) is not one of $(SIZE_CHOICES) (yaml_configs/sizes.txt)))
RECIPE      ?= $(call size_recipe,$(or $(SIZE),$(DEFAULT_SIZE)))
# PRECISION=fp16 for GPUs without bf16 (T4, V100, anything before Ampere): the recipes say bf16: true.
# fp32: no mixed precision (CPU; slow on a GPU).
PRECISION   ?= bf16
PRECISION_ARGS_bf16 :=
PRECISION_ARGS_fp16 := bf16=false fp16=true
PRECISION_ARGS_fp32 := bf16=false
PRECISION_ARGS := $(if $(filter bf16 fp16 fp32,$(PRECISION)),$(PRECISION_ARGS_$(PRECISION)),$(error PRECISION=$(PRECISION): bf16, fp16 or fp32))
INFER_DTYPE_ARGS := $(if $(filter fp16 fp32,$(PRECISION)),infer_dtype=$(subst fp,float,$(PRECISION)))
SPLIT       ?= dev
RUN         ?=
# make chat RAW=1: LLaMA-Factory's own free chat (you type the whole user turn) instead of sentence by sentence
RAW         ?=
# Extra LLaMA-Factory overrides appended to the recipe, e.g. ARGS="per_device_train_batch_size=8 max_samples=1000"
ARGS        ?=
# Experiment tracker of training (doctor/trackers.py): the recipes say report_to: tensorboard (event files under
# <output_dir>/runs/, `make tensorboard`); TRACKER= switches it for make train / sweep / demo / train-bert-crf /
# train-bilstm-crf. Keys only from the environment (WANDB_API_KEY, SWANLAB_API_KEY, ...); README: Tracking.
TRACKER     ?=
TRACKER_ARGS := $(if $(TRACKER),report_to=$(TRACKER))
TB_PORT     ?= 6006
# make sweep: seeds, grid (key=v1,v2 ...), and overrides for training only / prediction only (scripts/sweep.py)
SEEDS       ?= 42
GRID        ?=
TRAIN_ARGS  ?=
PREDICT_ARGS ?=

# Encoder baselines (encoder_ner/, yaml_configs/encoder/): MODEL = a BERT checkpoint, LSTM=1 adds a BiLSTM.
MODEL       ?= bert-base-chinese
LSTM        ?=
ENCODER     := $(subst -,_,$(notdir $(MODEL)))$(if $(LSTM),_bilstm)_crf

# Servers listen on loopback unless you say otherwise; an API key comes only from the environment (API_KEY).
API_HOST    ?= 127.0.0.1
API_PORT    ?= 8000
CONCURRENCY ?= 16
# make api (LLaMA-Factory's huggingface backend): how many requests generate at once (LLaMA-Factory's MAX_CONCURRENT,
# one thread each, no batching). vLLM (make serve-vllm) batches instead. SERVED_MODEL: the model predict-api asks
# for when the server serves several (default: the one named like the recipe).
API_CONCURRENCY ?= 4
SERVED_MODEL ?=
# make webui: LLaMA Board on loopback (gradio reads GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)
WEBUI_HOST  ?= 127.0.0.1
WEBUI_PORT  ?= 7860
# More options of `python -m infer` for predict-api, e.g. API_ARGS="--limit 100"
API_ARGS    ?=

# Multi-GPU / multi-node: passed through to LLaMA-Factory's launcher (torchrun) when set, once
# scripts/check_launch.py has found them consistent. NPROC_PER_NODE or NNODES implies FORCE_TORCHRUN=1 (else
# LLaMA-Factory starts torchrun only when it sees more than one GPU); torchrun is taken from the venv.
LAUNCH_VARS := FORCE_TORCHRUN NPROC_PER_NODE NNODES NODE_RANK MASTER_ADDR MASTER_PORT USE_MODELSCOPE_HUB
FORCE_TORCHRUN ?= $(if $(NPROC_PER_NODE)$(NNODES),1)
LAUNCH_SET := $(foreach v,$(LAUNCH_VARS),$(if $($(v)),$(v)=$($(v))))
LAUNCH_ENV := $(LAUNCH_SET) PATH="$(abspath $(VENV))/bin:$$PATH"

# Names and paths (a recipe's dataset on a split, predictions files, run names) come from cluener/layout.py.
layout = $(shell $(PY) -m cluener.layout $(1) --recipe $(RECIPE) --split $(2))

.PHONY: help setup wheelhouse data tokens test test-light demo bench bench-gpu bench-predict doctor train train-qwen3 train-qwen25 \
        predict predict-api submit chat export api webui serve-vllm gpu-smoke report sweep train-bert-crf train-bilstm-crf tensorboard \
        predict-encoder check-tracker check-launch check-offload check-recipe check-split check-trained check-data check-train \
        check-predict check-chat check-api check-export check-serve-vllm check-gpu-smoke check-sweep check-predict-encoder

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'
	@echo ""
	@echo "  Variables: CLUENER_DIR=<dir> SEED=$(SEED) VAL_SIZE=$(VAL_SIZE) SIZE=<$(SIZE_CHOICES)>"
	@echo "             RECIPE=$(RECIPE) SPLIT=$(SPLIT) API_HOST=$(API_HOST) API_PORT=$(API_PORT)"
	@echo "             PRECISION=bf16|fp16 (fp16 for GPUs without bf16) SERVED_MODEL=<name> API_CONCURRENCY=$(API_CONCURRENCY)"
	@echo "             ARGS=\"key=value ...\" (LLaMA-Factory overrides for train/predict/chat/export/api)"
	@echo "             TRACKER=tensorboard|wandb|swanlab|mlflow|none (train/sweep/demo; default: the recipe's, tensorboard) TB_PORT=$(TB_PORT)"
	@echo "             MODEL=<BERT checkpoint> LSTM=1 (train-bert-crf)"
	@echo "             FORCE_TORCHRUN=1 NPROC_PER_NODE=N [NNODES NODE_RANK MASTER_ADDR MASTER_PORT] USE_MODELSCOPE_HUB=1"
	@echo "             BYO_PYTHON=<a python with torch> (your own environment, no .venv) WHEELHOUSE=<dir> (no network)"

$(STAMP): requirements.txt requirements-common.txt requirements-cpu.txt scripts/install.sh $(if $(BYO_PATH),scripts/byoe.py scripts/pins.py)
	BYO_PYTHON=$(BYO_PATH) WHEELHOUSE=$(WHEELHOUSE) bash scripts/install.sh $(VENV)
	@# This repository's packages, editable, without dependencies (the pins above are the set): the console commands
	@# of pyproject.toml (cluener-data, cluener-eval, ...) beside the make targets. Not into a BYO_PYTHON environment.
	$(if $(BYO_PATH),,$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
	  || { rm -f $(STAMP); exit 1; })

setup: $(STAMP) ## Create .venv and install (GPU set when nvidia-smi works, else the CPU set; never a CUDA torch on CPU); BYO_PYTHON=, WHEELHOUSE=

# make wheelhouse on a machine with network, for one without: TARGET_TORCH=<the torch the target has> leaves torch out.
TARGET_PYTHON   ?= 3.11
TARGET_PLATFORM ?= manylinux_2_28_x86_64
TARGET_TORCH    ?=
# pip evaluates environment markers with the Python it runs on: one of the target's version (scripts/wheelhouse.py).
WHEELHOUSE_PYTHON ?= python$(TARGET_PYTHON)
wheelhouse: ## Every wheel an offline machine needs: WHEELHOUSE=<dir> [TARGET_PYTHON=3.12 TARGET_PLATFORM=... TARGET_TORCH=2.11.0]
	@test -n "$(WHEELHOUSE)" || { echo "error: make wheelhouse needs WHEELHOUSE=<dir>" >&2; exit 1; }
	$(WHEELHOUSE_PYTHON) -m scripts.wheelhouse --dest $(WHEELHOUSE) --python-version $(TARGET_PYTHON) \
	  --platform $(TARGET_PLATFORM) $(if $(TARGET_TORCH),--target-torch $(TARGET_TORCH))

data: $(STAMP) ## CLUENER -> data/cluener_*.json + dataset_info.json (download, or CLUENER_DIR=<dir>), print round trip
	$(PY) -m dataprep.build --seed $(SEED) --val-size $(VAL_SIZE) $(if $(CLUENER_DIR),--cluener-dir "$(CLUENER_DIR)")

check-data:
	@test -f data/manifest.json || { echo "error: no prepared data; run 'make data' first" >&2; exit 1; }

tokens: $(STAMP) check-data ## Token cost per split with the real Qwen BPE (mean/max prompt, target, cutoff_len)
	$(PY) -m benchmarks.token_stats

# vLLM's own loaders for the CPU tests (tests/test_vllm_loaders.py): unpacked beside the venv, never a serving setup.
VLLM_LOADERS := .cache/vllm-loaders/.installed
$(VLLM_LOADERS): requirements-vllm-loaders.txt scripts/install_vllm_loaders.sh | $(STAMP)
	bash scripts/install_vllm_loaders.sh .cache/vllm-loaders $(VENV)

test: $(STAMP) $(VLLM_LOADERS) ## Run the test suite (CPU; builds its own tiny Qwen3; CLUENER from CLUENER_DIR, ../shared, data/raw or a download), then the light tiers
	$(PY) -m ruff check .
	$(PY) -m pytest -q
	@for v in $(LIGHT_PYTHONS); do bash scripts/test_light.sh $$v || exit 1; done

# The light tier (tests/light_tier.py): the tests that import no torch, on another Python, in .venv-<version> from
# requirements-light.txt. A missing interpreter is one "skipped" line; with REQUIRE_PYTHONS=1 (CI) an error.
LIGHT_PYTHONS := 3.12 3.13
PYTHON_VERSION ?= 3.12
test-light: ## The torch-free tests on PYTHON_VERSION=3.12|3.13 (python3.X on PATH, else pyenv's), in .venv-3.X
	bash scripts/test_light.sh $(PYTHON_VERSION)

demo: $(STAMP) check-tracker ## The whole chain on CPU with a tiny Qwen3: data -> train -> predict -> report (progress on the terminal, TensorBoard logs)
	$(PY) -m scripts.demo $(if $(CLUENER_DIR),--cluener-dir "$(CLUENER_DIR)") $(if $(TRACKER),--tracker $(TRACKER))

bench: $(STAMP) check-data ## Benchmarks: token statistics, scoring speed, `make report` over 4-16 runs, `make demo` wall time
	$(PY) -m benchmarks.token_stats
	$(PY) -m benchmarks.bench_score
	$(PY) -m benchmarks.bench_report
	$(PY) -m benchmarks.bench_demo $(if $(CLUENER_DIR),--cluener-dir "$(CLUENER_DIR)")

check-launch:
	@$(PY) -m scripts.check_launch $(LAUNCH_SET)

# ZeRO-3 offload: DeepSpeed compiles its CPU Adam on first use, against a CUDA toolkit (headers, libcurand) when
# torch sees a GPU; on a machine without one it compiles it with g++ alone (tests/test_distributed.py runs it).
OFFLOAD_MSG := error: ds_z3_offload_config.json needs DeepSpeed's CPU Adam, which DeepSpeed compiles on first use against a CUDA toolkit: install one (with nvcc) and set CUDA_HOME
check-offload:
	@$(if $(findstring ds_z3_offload,$(ARGS) $(shell cat yaml_configs/train/$(RECIPE).yaml 2>/dev/null)),\
	  $(PY) -c "import sys; import torch; from torch.utils.cpp_extension import CUDA_HOME; sys.exit(sys.argv[1] if torch.cuda.is_available() and not CUDA_HOME else None)" "$(OFFLOAD_MSG)",true)

# RECIPE becomes yaml_configs/<kind>/RECIPE.yaml and saves/RECIPE: only the basename of an existing recipe passes
# (never a path: RECIPE=../../x would write outside the repository). SPLIT: one of cluener/layout.py's splits.
check-recipe:
	@$(PY) -m cluener.layout check --recipe '$(subst ','\'',$(RECIPE))'

check-split:
	@$(PY) -m cluener.layout check --split '$(subst ','\'',$(SPLIT))'

# TRACKER: one of doctor/trackers.py's words and installed here (one line, before anything runs).
check-tracker:
	@$(PY) -m doctor.trackers '$(subst ','\'',$(TRACKER))'

# What each GPU target needs before it starts (doctor/targets.py): the precision the resolved recipe asks for (bf16 /
# fp16 need a CUDA GPU with that dtype; fp32 runs on the CPU), the base model reachable (local folder, HF cache, hub,
# ModelScope), the trained adapter or model for predict / chat / api / export / serve-vllm, disk, the packages, and
# the recipe + overrides through LLaMA-Factory's own parser. One line per problem, exit 1; silent when all pass.
PREFLIGHT = $(PY) -m doctor preflight $(1) --recipe '$(RECIPE)' --split '$(subst ','\'',$(SPLIT))' --precision '$(PRECISION)' -- $(2)

check-train: check-recipe
	@$(call PREFLIGHT,train,$(PRECISION_ARGS) $(TRACKER_ARGS) $(ARGS))

check-predict: check-recipe check-split
	@$(call PREFLIGHT,predict,$(PRECISION_ARGS) $(ARGS))

check-chat: check-recipe
	@$(call PREFLIGHT,chat,$(INFER_DTYPE_ARGS) $(ARGS))

check-api: check-recipe
	@$(call PREFLIGHT,api,$(INFER_DTYPE_ARGS) $(ARGS))

check-export: check-recipe
	@$(call PREFLIGHT,export,$(ARGS))

check-serve-vllm: check-recipe
	@$(call PREFLIGHT,serve-vllm,)

check-gpu-smoke:
	@$(PY) -m doctor preflight gpu-smoke --precision '$(PRECISION)'

check-predict-encoder: check-recipe check-split
	@$(call PREFLIGHT,predict-encoder,)

# predict-api's RECIPE and SPLIT become saves/RECIPE/predict_SPLIT_api/: checked like every recipe target's.
predict-api: check-recipe check-split
# make report PRED=... SPLIT=...: SPLIT checked like every target's.
report: $(if $(PRED),check-split)

# The sweep's own arguments first (its GRID / SEEDS mistakes are one line), then what its make train runs need.
check-sweep: check-recipe
	@$(SWEEP) --dry-run >/dev/null
	@$(call PREFLIGHT,sweep,$(PRECISION_ARGS) $(TRACKER_ARGS) $(ARGS) $(TRAIN_ARGS))

# The old name of the predict check.
check-trained: check-predict

doctor: $(STAMP) check-recipe ## Can this machine run RECIPE (default SIZE=4b)? Python, torch, CUDA, GPU, bf16, package pins, model reachable, disk, memory; exit 1 if make train cannot
	@$(PY) -m doctor table --recipe '$(RECIPE)' --precision '$(PRECISION)' -- $(PRECISION_ARGS) $(ARGS)

train: $(STAMP) check-launch check-data check-recipe check-tracker check-offload check-train ## Train any recipe: make train RECIPE=qwen3_8b_lora_sft_ds3
	@# run_command.json in the output folder (recipe, overrides, commit, versions, hardware): the report's run card
	$(LAUNCH_ENV) $(PY) -m provenance.run_record yaml_configs/train/$(RECIPE).yaml $(PRECISION_ARGS) $(TRACKER_ARGS) $(ARGS)
	$(LAUNCH_ENV) $(LFCLI) train yaml_configs/train/$(RECIPE).yaml $(PRECISION_ARGS) $(TRACKER_ARGS) $(ARGS)

SWEEP = $(PY) -m scripts.sweep --recipe '$(RECIPE)' --seeds "$(SEEDS)" --grid "$(GRID)" --args "$(ARGS)" \
	  --train-args "$(TRAIN_ARGS)" --predict-args "$(PREDICT_ARGS)"
sweep: $(STAMP) check-data check-recipe check-tracker check-sweep ## Seeds x GRID: make sweep RECIPE=R SEEDS="42 43 44" GRID="learning_rate=1e-4,2e-4" (val selects)
	$(SWEEP)

train-qwen3: ## LoRA SFT of Qwen3 (default SIZE=4b: Qwen3-4B-Instruct-2507, one 24 GB GPU; SIZE= a Qwen3 size of yaml_configs/sizes.txt)
	$(MAKE) train RECIPE=$(call size_recipe,$(or $(filter $(SIZES_Qwen3),$(or $(SIZE),4b)),$(SIZE)-is-not-a-Qwen3-size))

train-qwen25: ## LoRA SFT of Qwen2.5-Instruct (default SIZE=7b, one 24 GB GPU; SIZE= a Qwen2.5 size of yaml_configs/sizes.txt)
	$(MAKE) train RECIPE=$(call size_recipe,$(or $(filter $(SIZES_Qwen2.5),$(or $(SIZE),7b)),$(SIZE)-is-not-a-Qwen2.5-size))

predict: $(STAMP) check-launch check-data check-recipe check-split check-predict ## Greedy predictions of RECIPE on SPLIT=dev|val|test with llamafactory-cli
	@# The recipe's dataset variant (cluener_dev, or cluener_guided_dev for the guided prompt) on SPLIT, and the
	@# predictions folder: cluener/layout.py names both.
	dataset=$$($(PY) -m cluener.layout dataset --recipe $(RECIPE) --split $(SPLIT)) && \
	out=$$($(PY) -m cluener.layout predictions-dir --recipe $(RECIPE) --split $(SPLIT)) && \
	$(LAUNCH_ENV) $(LFCLI) train yaml_configs/predict/$(RECIPE).yaml eval_dataset=$$dataset output_dir=$$out $(PRECISION_ARGS) $(ARGS)

predict-api: $(STAMP) check-data ## Fast, resumable predictions through an OpenAI-compatible server (make api / vllm serve)
	$(PY) -m infer --split $(SPLIT) --name $(RECIPE) --base-url http://$(API_HOST):$(API_PORT)/v1 \
	  --concurrency $(CONCURRENCY) $(if $(SERVED_MODEL),--model $(SERVED_MODEL)) $(API_ARGS)

submit: $(STAMP) check-recipe ## Leaderboard file for the test split: predict SPLIT=test, then reports/<run>/cluener_predict.json
	@test -f $(call layout,predictions,test) || \
	  $(MAKE) $(if $(wildcard yaml_configs/encoder/$(RECIPE).yaml),predict-encoder,predict) SPLIT=test RECIPE=$(RECIPE)
	$(PY) -m eval score $(call layout,predictions,test) --split test --name $(call layout,run-name,test)
	$(PY) -m eval index

chat: $(STAMP) check-recipe check-chat ## Type a sentence, get RECIPE's entities (the recipe's instruction is added; RAW=1: LF's free chat); exit or end the input to quit
	$(PY) -m scripts.chat $(if $(RAW),--raw) yaml_configs/chat/$(RECIPE).yaml $(INFER_DTYPE_ARGS) $(ARGS)

export: $(STAMP) check-recipe check-export ## Merge RECIPE's LoRA adapter into the base model (saves/RECIPE/merged)
	$(LFCLI) export yaml_configs/merge/$(RECIPE).yaml $(ARGS)

api: $(STAMP) check-recipe check-api ## OpenAI-compatible server for RECIPE on API_HOST:API_PORT (127.0.0.1:8000), serving the model as RECIPE, API_CONCURRENCY requests at once
	API_HOST=$(API_HOST) API_PORT=$(API_PORT) MAX_CONCURRENT=$(API_CONCURRENCY) API_MODEL_NAME=$(RECIPE) \
	  $(LFCLI) api yaml_configs/chat/$(RECIPE).yaml $(INFER_DTYPE_ARGS) $(ARGS)

webui: $(STAMP) ## LLaMA Board (llamafactory-cli webui) on WEBUI_HOST:WEBUI_PORT (127.0.0.1:7860), this repository's datasets listed (Data dir .)
	GRADIO_SERVER_NAME=$(WEBUI_HOST) GRADIO_SERVER_PORT=$(WEBUI_PORT) GRADIO_ANALYTICS_ENABLED=False \
	  PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m scripts.webui

serve-vllm: $(STAMP) check-recipe check-serve-vllm ## vLLM server for RECIPE's adapter (GPU; vLLM 0.11.0 is in the GPU set): --max-model-len, --max-lora-rank from the recipe
	$(PY) -m scripts.serve_vllm $(RECIPE) --host $(API_HOST) --port $(API_PORT) --precision $(PRECISION)

gpu-smoke: $(STAMP) check-gpu-smoke ## What a GPU user runs first (<= 10 min): tiny Qwen3 through LoRA, ZeRO-3, predict, export, vLLM, QLoRA; a pass/fail table
	bash scripts/gpu_smoke.sh "$(VENV)"

train-bert-crf: $(STAMP) check-data check-tracker ## BERT-family + CRF tagger, one GPU: MODEL=bert-base-chinese|hfl/chinese-bert-wwm-ext|hfl/chinese-roberta-wwm-ext [LSTM=1]
	@test -f "yaml_configs/encoder/$(ENCODER).yaml" || { echo "error: no yaml_configs/encoder/$(ENCODER).yaml (MODEL=$(MODEL) LSTM=$(LSTM))" >&2; exit 1; }
	$(PY) -m encoder_ner.train "yaml_configs/encoder/$(ENCODER).yaml" $(TRACKER_ARGS) $(ARGS)

train-bilstm-crf: $(STAMP) check-data check-tracker ## BiLSTM-CRF from scratch on CPU (2 threads, ~23 min; dev span micro F1 0.71)
	$(PY) -m encoder_ner.train yaml_configs/encoder/bilstm_crf_cpu.yaml $(TRACKER_ARGS) $(ARGS)

predict-encoder: $(STAMP) check-data check-recipe check-split check-predict-encoder ## A trained encoder run on SPLIT: make predict-encoder RECIPE=bilstm_crf_cpu SPLIT=test
	$(PY) -m encoder_ner.predict saves/$(RECIPE) --split $(SPLIT)

# TensorBoard over every run's event files under saves/ (<output_dir>/runs/), on loopback only: from another machine,
# `ssh -L $(TB_PORT):127.0.0.1:$(TB_PORT) host` first.
tensorboard: $(STAMP) ## TensorBoard of every training run under saves/ (their <output_dir>/runs/), on 127.0.0.1 only, port TB_PORT=6006
	@$(PY) -m doctor.trackers tensorboard
	@find saves -name 'events.out.tfevents.*' -print -quit 2>/dev/null | grep -q . || \
	  { echo "error: no TensorBoard event files under saves/ yet: train a run first (make demo, or make train)" >&2; exit 1; }
	$(PY) -m tensorboard.main --logdir saves --host 127.0.0.1 --port '$(subst ','\'',$(TB_PORT))'

# make report PRED=<file>: SPLIT when given (command line or environment), else the split the file's path or prompts
# name; RUN when given, else the run of its path (cluener/layout.py's default_run_name).
REPORT_SPLIT = $(if $(filter-out default file,$(origin SPLIT)),--split "$(SPLIT)")
report: $(STAMP) ## Two passes: score each predictions file under saves/ (LLaMA Board's runs too) without an up-to-date report (PRED=<any file> [SPLIT=] [RUN=]: that one), then the index reports/README.md
	@# The run pass writes reports/<run>/ from that run alone; the index pass (python -m eval index) reads every run.
	$(if $(PRED),$(PY) -m eval score "$(PRED)" $(REPORT_SPLIT) $(if $(RUN),--name "$(RUN)") && $(PY) -m eval index,$(PY) -m eval report)

# make bench-gpu (benchmarks/bench_gpu.py): each recipe's real shape, random weights, a few dozen steps of make train.
# LIGER=1: each recipe again with LF's enable_liger_kernel (GPU only: null with the reason on CPU).
LIGER       ?=
STEPS       ?=
BENCH_OUT   ?= reports/gpu-bench
bench-gpu: $(STAMP) check-data ## Speed + memory of every training recipe (or SIZE/RECIPE) on its real shape: [STEPS=30] [DRY_RUN=1: CPU] [LIGER=1: + enable_liger_kernel] [BENCH_OUT=reports/gpu-bench]
	$(PY) -m benchmarks.bench_gpu --out "$(BENCH_OUT)" $(if $(STEPS),--steps $(STEPS)) $(if $(DRY_RUN),--dry-run) $(if $(LIGER),--liger) \
	  $(if $(or $(SIZE),$(filter command line,$(origin RECIPE))),--recipes $(RECIPE))

# make bench-predict (benchmarks/bench_predict.py): LF predict and LF api (vLLM where installed) on dev, the same shaped
# models, generation lengths forced to the gold targets' token lengths; LIMIT=<n>: the first n dev sentences.
LIMIT       ?=
bench-predict: $(STAMP) check-data ## Prediction sentences/s on dev (LF predict, LF api, vLLM) on each recipe's real shape at the gold lengths: [SIZE|RECIPE] [DRY_RUN=1: CPU] [LIMIT=] [BENCH_OUT]
	$(PY) -m benchmarks.bench_predict --out "$(BENCH_OUT)" $(if $(DRY_RUN),--dry-run) $(if $(LIMIT),--limit $(LIMIT)) \
	  --concurrency $(CONCURRENCY) --api-concurrency $(API_CONCURRENCY) \
	  $(if $(or $(SIZE),$(filter command line,$(origin RECIPE))),--recipes $(RECIPE))
