"""make wheelhouse: every wheel a machine without network needs, written on a machine with one.

    python -m scripts.wheelhouse --dest DIR [--python-version 3.12] [--platform manylinux_2_28_x86_64]
                                 [--target-torch VERSION]

Without --target-torch: the GPU set (requirements.txt: torch 2.8.0 with its nvidia-* wheels, vLLM) and the CPU
set's tools, for `make setup WHEELHOUSE=DIR` (a new .venv) or bring your own on a torch 2.8.0.
With --target-torch 2.11.0 (the target already has that torch): the bring-your-own set (scripts/pins.py) resolved
beside that torch, without torch and what only torch needs (nvidia-*, triton, sympy, ...), for
`make setup BYO_PYTHON=... WHEELHOUSE=DIR`.
pip resolves for the target's Python and platform (--only-binary: no build runs for another machine); what has no
wheel there (deepspeed's sdist, jieba) is built here with `pip wheel --no-deps` (DeepSpeed with DS_BUILD_OPS=0: its
ops compile on the target at first use) and must come out pure Python (py3-none-any). DIR/wheelhouse.json records
the parameters and every file.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from scripts import pins
from scripts.byoe import pip_reason

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
MAX_BUILDS = 20
LF = pins.LLAMAFACTORY


class WheelhouseError(Exception):
    """Stops the build; the message is the one line the user sees."""


def target_args(python_version: str, platform: str) -> list[str]:
    """pip's options for the target. pip matches wheel tags to --python-version and --platform but evaluates
    environment markers with the Python it runs on (vllm asks for setuptools<80 only on Python > 3.11): so this
    runs on a Python of the target's version, on the target's OS and machine."""
    if not re.fullmatch(r"3\.\d+", python_version):
        raise WheelhouseError(f"TARGET_PYTHON={python_version}: expected 3.N, e.g. 3.12")
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if here != python_version:
        raise WheelhouseError(f"TARGET_PYTHON={python_version} but this is Python {here}: pip evaluates markers with "
                              f"the Python it runs on; set WHEELHOUSE_PYTHON to a python{python_version}")
    if sysconfig.get_platform().split("-", 1)[-1] not in platform or not platform.startswith(("manylinux", "linux")):
        raise WheelhouseError(f"TARGET_PLATFORM={platform}: this machine is {sysconfig.get_platform()}; pip "
                              "evaluates markers with it, so build on a machine of the target's OS and machine")
    abi = "cp3" + python_version.split(".")[1]
    args = ["--only-binary=:all:", "--python-version", python_version, "--implementation", "cp", "--abi", abi,
            "--abi", "abi3", "--abi", "none"]
    for tag in pins.manylinux_platforms(platform):
        args += ["--platform", tag]
    return args


def pip(args: list[str], what: str, allow: str = "No matching distribution found") -> subprocess.CompletedProcess:
    """pip ARGS; a failure is an error unless its output says ALLOW."""
    done = subprocess.run(PIP + args, capture_output=True, text=True, env={**os.environ, "DS_BUILD_OPS": "0"})
    if done.returncode != 0 and not re.search(allow, done.stdout + done.stderr):
        raise WheelhouseError(f"pip could not {what}: {pip_reason(done.stdout + done.stderr)}")
    return done


def build_from_source(requirement: str, dest: Path) -> Path:
    """REQUIREMENT built here from its sdist into DEST; it must be pure Python to serve another machine."""
    name = pins.name_of(requirement)
    before = set(dest.glob("*.whl"))
    pip(["wheel", "-q", "--no-deps", "--no-binary", name, "-w", str(dest), requirement], f"build {requirement}")
    built = sorted(set(dest.glob("*.whl")) - before)
    if not built:
        raise WheelhouseError(f"{requirement}: no wheel for the target and none built from its sdist")
    if not built[0].name.endswith("-py3-none-any.whl") and not built[0].name.endswith("-py2.py3-none-any.whl"):
        built[0].unlink()
        raise WheelhouseError(f"{requirement} has no wheel for the target and its sdist builds {built[0].name} "
                              "here, which is not pure Python: build the wheelhouse on a machine like the target")
    print(f"  built  {built[0].name} (no wheel on the index)")
    return built[0]


def resolve(requirements: list[str], constraints: list[str], target: list[str], dest: Path, scratch: Path):
    """pip's resolution for the target (the report's install list), building what has no wheel as it goes."""
    (scratch / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
    (scratch / "constraints.txt").write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
    report = scratch / "report.json"
    for _ in range(MAX_BUILDS):
        torchaudio = [c for c in constraints if pins.name_of(c) == "torchaudio"]
        done = pip(["install", "--dry-run", "--ignore-installed", "--report", str(report), "--target",
                    str(scratch / "target"), *target, "--find-links", str(dest), "-c", str(scratch / "constraints.txt"),
                    "-r", str(scratch / "requirements.txt")], "resolve the set for the target",
                   "|".join(["No matching distribution found", *map(re.escape, torchaudio)]))
        if done.returncode == 0:
            return json.loads(report.read_text(encoding="utf-8"))["install"]
        if torchaudio and torchaudio[0] in done.stdout + done.stderr:  # no torchaudio released with that torch
            constraints.remove(torchaudio[0])
            (scratch / "constraints.txt").write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
            continue
        build_from_source(re.search(r"No matching distribution found for (\S+)", done.stderr).group(1), dest)
    raise WheelhouseError(f"more than {MAX_BUILDS} packages without a wheel for the target")


def requires(item: dict, extras: set[str]) -> dict[str, set[str]]:
    """What an item of pip's report requires when asked for EXTRAS: {name: extras asked of it}. Markers other than
    extra are not evaluated (an edge too many keeps a wheel, none is dropped)."""
    out: dict[str, set[str]] = {}
    for line in item["metadata"].get("requires_dist", []):
        requirement = pins.Requirement(line)
        marker = requirement.marker
        if marker is not None and "extra" in str(marker) and not any(marker.evaluate({"extra": e}) for e in extras):
            continue
        out.setdefault(pins.name_of(line), set()).update(requirement.extras)
    return out


def without_torch(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """(kept, skipped): skipped is torch and what is reached only through it (nvidia-*, triton, sympy, ...), following
    extras where they are asked for (datasets asks for fsspec[http], which brings aiohttp)."""
    by_name = {pins.canonicalize_name(i["metadata"]["name"]): i for i in items}
    asked = {n: set(i.get("requested_extras") or []) for n, i in by_name.items() if i["requested"] and n != "torch"}
    changed = True
    while changed:  # until no name and no extra is added
        changed = False
        for name in list(asked):
            for needed, extras in requires(by_name[name], asked[name]).items():
                if needed == "torch" or needed not in by_name or (needed in asked and extras <= asked[needed]):
                    continue
                asked[needed] = asked.get(needed, set()) | extras
                changed = True
    return [i for n, i in by_name.items() if n in asked], [i for n, i in by_name.items() if n not in asked]


def key(name: str, version: str) -> str:
    return f"{pins.canonicalize_name(name)}=={version}"


def wheel_key(path: Path) -> str:
    """NAME==VERSION of a wheel file (name-version-...whl)."""
    name, version = path.name.split("-")[:2]
    return key(name, version)


def build(args: argparse.Namespace) -> dict:
    dest = args.dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    target = target_args(args.python_version, args.platform)
    with tempfile.TemporaryDirectory(prefix="wheelhouse-") as scratch_name:
        scratch = Path(scratch_name)
        lf_pin = pins.llamafactory_pin()
        pip(["download", "-q", "--no-deps", *target, "-d", str(dest), lf_pin], f"download {lf_pin}")
        lf_version = pins.pinned_version(lf_pin)
        lf_wheel = next(dest.glob(f"{LF}-{lf_version}-*.whl"))
        if args.target_torch:
            requirements = [p for p in pins.project_pins(with_torch=False, with_vllm=False) if p != lf_pin]
            requirements += pins.llamafactory_requirements(lf_wheel)
            constraints = [f"torch=={args.target_torch}", pins.matching_torchaudio(args.target_torch)]
        else:
            requirements, constraints = pins.project_pins(with_torch=True, with_vllm=True), []
        items = resolve(requirements, constraints, target, dest, scratch)
        kept, skipped = without_torch(items) if args.target_torch else (items, [])
        wanted = {key(i["metadata"]["name"], i["metadata"]["version"]) for i in kept} | {key(LF, lf_version)}
        to_fetch = sorted(wanted - {wheel_key(p) for p in dest.glob("*.whl")})
        if to_fetch:
            (scratch / "fetch.txt").write_text("".join(f"{w}\n" for w in to_fetch), encoding="utf-8")
            pip(["download", "-q", "--no-deps", *target, "-d", str(dest), "-r", str(scratch / "fetch.txt")],
                "download the wheels")
    files = sorted(p for p in dest.glob("*.whl") if wheel_key(p) in wanted)  # other wheels there are left alone
    record = {
        "python_version": args.python_version, "platform": args.platform, "target_torch": args.target_torch,
        "skipped_with_torch": sorted(i["metadata"]["name"] for i in skipped),
        "files": {p.name: p.stat().st_size for p in files}, "bytes": sum(p.stat().st_size for p in files),
    }
    manifest = dest / "wheelhouse.json"
    manifest.with_suffix(".tmp").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    manifest.with_suffix(".tmp").replace(manifest)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, required=True, help="the wheelhouse folder (WHEELHOUSE=)")
    parser.add_argument("--python-version", default=f"{sys.version_info[0]}.{sys.version_info[1]}",
                        help="the target's Python, 3.N (default and only choice: this one's; see target_args)")
    parser.add_argument("--platform", default="manylinux_2_28_x86_64", help="the target's platform tag")
    parser.add_argument("--target-torch", help="the torch version the target already has: leave torch out")
    args = parser.parse_args(argv)
    try:
        record = build(args)
    except (WheelhouseError, pins.PinError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    torch = f"without torch (target has {args.target_torch})" if args.target_torch else "with torch"
    print(f"wheelhouse {args.dest}: {len(record['files'])} wheels, {record['bytes'] / 2**20:.1f} MiB, "
          f"Python {args.python_version}, {args.platform}, {torch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
