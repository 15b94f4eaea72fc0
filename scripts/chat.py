"""`make chat`: LLaMA-Factory's command-line chat (``llamafactory-cli chat``'s own ``run_chat``, unchanged), whose
input may end.

``llamafactory-cli chat`` reads ``input()`` until the user types ``exit``; a piped input or a Ctrl-D that ends first
comes out as an ``EOFError`` traceback. Here the end of the input closes the chat (exit 0) and a Ctrl-C is one line
(exit 130); either way the process ends without the teardown that can abort around LLaMA-Factory's event-loop
thread (:func:`leave`). The arguments are ``llamafactory-cli chat``'s: ``RECIPE.yaml [key=value ...]``.

Usage: ``python -m scripts.chat yaml_configs/chat/RECIPE.yaml [key=value ...]``
"""

from __future__ import annotations

import sys


def main() -> int:
    from llamafactory.chat.chat_model import run_chat  # reads sys.argv[1:] as llamafactory-cli chat's arguments

    try:
        run_chat()
    except EOFError:  # the input ended (a pipe, Ctrl-D) before `exit`: the same as typing it
        print("\n(end of input: chat closed)", flush=True)
    except KeyboardInterrupt:
        print("\n(interrupted: chat closed)", file=sys.stderr, flush=True)
        return 130
    return 0


def leave(code: int) -> None:
    """Exit with ``code`` once the output is flushed, without the interpreter's teardown: LLaMA-Factory's ChatModel
    keeps its event loop running in a daemon thread, and tearing the interpreter down around it sometimes aborts
    (``terminate called without an active exception``, SIGABRT) after the chat has ended. Nothing is left to write."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    leave(main())
