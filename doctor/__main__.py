"""`make doctor` and the GPU targets' pre-flight checks.

    python -m doctor table [--recipe R] [--precision P] [--no-probe] [-- OVERRIDES]   # make doctor: one table
    python -m doctor preflight TARGET --recipe R [--split S] [--precision P] [-- OVERRIDES]

``table`` prints the machine (Python, torch, CUDA, GPU, memory, bf16), the package versions against the pins, and
for the recipe: trained or not, precision, base model reachable, disk, memory against the GPU, LF's parser. It exits
1 when `make train` of that recipe cannot run here. ``preflight`` runs the checks TARGET needs (doctor/targets.py),
prints nothing when all pass, else one ``error:`` line per failed check (and ``warning:`` lines), and exits 1.
OVERRIDES are the ``key=value`` words the target passes to llamafactory-cli (PRECISION's and ARGS).
"""

from __future__ import annotations

import argparse
import sys

from cluener.layout import RecipeError, check_recipe
from cluener.yaml_files import YamlFileError

from . import estimates, system
from .report import FAIL, INFO, WARN, Check, render
from .targets import TARGETS, Plan, smoke_dry_run
from .trained import trained_check
from .versions import torch_pin_note, version_checks


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m doctor", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    table = sub.add_parser("table", help="make doctor: the machine, the packages, the recipe")
    preflight = sub.add_parser("preflight", help="the checks a make target needs, before it starts")
    preflight.add_argument("target", choices=sorted(TARGETS))
    for p in (table, preflight):
        p.add_argument("--recipe", default=None)
        p.add_argument("--split", default="dev")
        p.add_argument("--precision", default="bf16", choices=("bf16", "fp16", "fp32"))
        p.add_argument("--no-probe", action="store_true", help="do not ask the hub whether the model is there")
    return parser


def machine_rows(gpu: system.Gpu) -> list[Check]:
    rows = [system.python_check(), *system.gpu_checks(gpu)]
    note = torch_pin_note(gpu.torch_version, gpu.available)
    if note and rows[1].name == "torch":
        rows[1] = Check("torch", WARN, rows[1].value, note)
    return rows


def table(args, gpu: system.Gpu) -> int:
    rows = machine_rows(gpu) + version_checks(gpu.available)
    if args.recipe:
        plan = Plan("train", args.recipe, args.overrides, args.split, args.precision)
        rows.append(trained_check(f"saves/{args.recipe}", _trained_kind(plan), args.recipe))
        if rows[-1].failed:  # a fact here (predict / chat / export need it), not what decides the exit status
            rows[-1] = Check("trained", INFO, "no", rows[-1].note)
        recipe_rows = plan.checks(gpu, probe=not args.no_probe)
        recipe_rows = [c for c in recipe_rows if not c.name.startswith("GPU memory")]
        rows += recipe_rows + _memory_rows(args.recipe, gpu)
        rows.append(plan.parser_check() if not any(c.failed for c in recipe_rows) else
                    Check("recipe", INFO, "not parsed", "fix the failures above first"))  # fmt: skip
    print(render(rows))
    failed = [c for c in rows if c.failed]
    if failed:
        print(f"\n{len(failed)} check(s) failed: `make train{' RECIPE=' + args.recipe if args.recipe else ''}` "
              "cannot run here", file=sys.stderr)  # fmt: skip
    return 1 if failed else 0


def _trained_kind(plan: Plan) -> str:
    return "adapter" if plan.config.get("finetuning_type", "lora") == "lora" else "model"


def _memory_rows(recipe: str, gpu: system.Gpu) -> list[Check]:
    rows = []
    for target in ("train", "predict"):
        figure = estimates.gpu_memory_gb(recipe, target)
        if figure is not None:
            rows.append(system.memory_check(f"GPU memory ({target})", figure[0], figure[1], gpu))
    return rows or [Check("GPU memory", INFO, "no estimate for this recipe")]


def preflight(args, gpu_probe) -> int:
    if args.target == "gpu-smoke" and smoke_dry_run():
        return 0
    plan = Plan(args.target, args.recipe or "", args.overrides, args.split, args.precision)
    rows = plan.checks(gpu_probe(), probe=not args.no_probe)
    failed = [c for c in rows if c.failed]
    if not failed:
        parsed = plan.parser_check()
        rows.append(parsed)
        failed = [parsed] if parsed.failed else []
    for row in rows:
        if row.status in (FAIL, WARN):
            print(row.line(), file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = _parser().parse_args(argv[:cut])
    args.overrides = argv[cut + 1 :]  # the key=value words of the target's llamafactory-cli command
    try:
        if args.recipe is not None:
            check_recipe(args.recipe)
        elif args.mode == "preflight" and TARGETS[args.target].kind:
            raise RecipeError(f"{args.target} needs --recipe")
        if args.mode == "table":
            return table(args, system.probe_gpu())
        return preflight(args, system.probe_gpu)
    except (RecipeError, YamlFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

if __name__ == "__main__":
    sys.exit(main())
