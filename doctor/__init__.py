"""`make doctor` and the pre-flight checks of the GPU targets: can this machine run a target, and if not, why.

One module per kind of check, each a function returning :class:`doctor.report.Check` rows:

- ``system``: Python, torch, CUDA, the GPU, its memory and bf16; the precision a run needs; free disk space;
- ``versions``: installed llamafactory / transformers / peft / trl / deepspeed / bitsandbytes / vllm against the pins
  of requirements*.txt;
- ``model_source``: whether a model is reachable (local path, HF cache, the hub, ModelScope), offline-aware;
- ``estimates``: each recipe's memory and disk need (the one copy of yaml_configs/README.md's figures in code);
- ``recipe_args``: a recipe plus overrides through LLaMA-Factory's own argument parser, without loading a model;
- ``trained``: whether a recipe's output holds a trained adapter or model (not just a failed run's run card);
- ``targets``: which checks each make target needs (``python -m doctor preflight TARGET``).

Nothing here imports torch or LLaMA-Factory at module level: the checks that need them import them when they run.
"""
