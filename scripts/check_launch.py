"""Check the multi-process / multi-node launch variables before `make train` / `make predict` start anything.

    python -m scripts.check_launch NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 ...

The Makefile passes the launch variables that are set (its LAUNCH_ENV) as KEY=VALUE arguments. LLaMA-Factory's
launcher hands them to torchrun unchecked, and a mistake there is a hang (a node waiting for peers that never come)
or a silent single-node run, not an error. This prints one line naming the variable and the problem and exits 2.
"""

from __future__ import annotations

import sys

KNOWN = ("FORCE_TORCHRUN", "NPROC_PER_NODE", "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "USE_MODELSCOPE_HUB")


class LaunchError(ValueError):
    """A launch variable that cannot work; the message is the one line the user sees."""


def _positive_int(name: str, value: str, minimum: int) -> int:
    if not value.isdigit() or int(value) < minimum:
        raise LaunchError(f"{name}={value!r}: must be an integer >= {minimum}")
    return int(value)


def check(variables: dict[str, str]) -> None:
    """Raise LaunchError for the first launch mistake in ``variables`` (the launch variables that are set)."""
    unknown = sorted(set(variables) - set(KNOWN))
    if unknown:
        raise LaunchError(f"{unknown[0]}: not a launch variable (known: {', '.join(KNOWN)})")
    nproc = variables.get("NPROC_PER_NODE")
    if nproc is not None:
        _positive_int("NPROC_PER_NODE", nproc, 1)
    nnodes = _positive_int("NNODES", variables["NNODES"], 1) if "NNODES" in variables else None
    if "NODE_RANK" in variables:
        rank = variables["NODE_RANK"]
        if nnodes is None:
            raise LaunchError(f"NODE_RANK={rank}: set NNODES (the number of nodes) as well")
        if not rank.isdigit() or int(rank) >= nnodes:
            raise LaunchError(f"NODE_RANK={rank!r}: must be an integer from 0 to NNODES-1 ({nnodes - 1})")
    if nnodes is not None and nnodes > 1:
        if "NODE_RANK" not in variables:
            raise LaunchError(f"NNODES={nnodes}: set NODE_RANK (0 on the master node, 1..{nnodes - 1} on the others)")
        if not variables.get("MASTER_ADDR"):
            raise LaunchError(
                f"NNODES={nnodes}: set MASTER_ADDR to the address of the NODE_RANK=0 node that every node can reach"
            )
        if "MASTER_PORT" not in variables:
            raise LaunchError(f"NNODES={nnodes}: set MASTER_PORT to the same free port on every node")
    if "MASTER_PORT" in variables:
        port = variables["MASTER_PORT"]
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise LaunchError(f"MASTER_PORT={port!r}: must be a port number from 1 to 65535")
    force = variables.get("FORCE_TORCHRUN")
    if force is not None and force.lower() not in ("0", "1", "true", "false"):
        raise LaunchError(f"FORCE_TORCHRUN={force!r}: must be 1 or 0")


def parse(arguments: list[str]) -> dict[str, str]:
    variables = {}
    for argument in arguments:
        name, sep, value = argument.partition("=")
        if not sep:
            raise LaunchError(f"{argument!r}: expected KEY=VALUE")
        variables[name] = value
    return variables


def main(arguments: list[str]) -> int:
    try:
        check(parse(arguments))
    except LaunchError as error:
        print(f"error: launch: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
