"""`make chat`: type a sentence, get the entities: LLaMA-Factory's ChatModel (what ``llamafactory-cli chat`` runs)
asked with the prompt the recipe was trained on.

The recipes train on one user turn: the instruction of the recipe's prompt variant, a newline, the sentence
(:func:`cluener.prompts.build_prompt`, as LLaMA-Factory's alpaca converter joins them); a one-line terminal cannot type
that newline. So each line typed here is a sentence, and the model is asked exactly that turn, alone (no history:
the recipes never saw a second turn). The instruction is that of the recipe's predict dataset (``cluener_dev`` ->
the default prompt, ``cluener_guided_dev`` -> the guided one), read from ``yaml_configs/predict/<recipe>.yaml``,
the twin of the chat recipe given. ``--raw`` runs ``llamafactory-cli chat``'s own ``run_chat`` instead (free chat,
with history: type what you like).

``exit`` quits; an input that ends (a pipe, Ctrl-D) closes the chat (exit 0; LLaMA-Factory alone raises an
``EOFError`` traceback); Ctrl-C is one line (exit 130). Either way the process ends without the teardown that can
abort around LLaMA-Factory's event-loop thread (:func:`leave`). The other arguments are ``llamafactory-cli chat``'s:
``RECIPE.yaml [key=value ...]``.

Usage: ``python -m scripts.chat [--raw] yaml_configs/chat/RECIPE.yaml [key=value ...]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from cluener.layout import DEFAULT_VARIANT, REPORTING_SPLIT, RecipeError, dataset_parts, recipe_dataset
from cluener.prompts import PROMPTS, build_prompt

RAW = "--raw"
PROMPT = "\nSentence: "


def instruction_of(chat_recipe: str) -> str:
    """The instruction the recipe of ``yaml_configs/chat/<recipe>.yaml`` was trained and predicts with."""
    variant, _split = dataset_parts(recipe_dataset(Path(chat_recipe).stem, REPORTING_SPLIT))
    return PROMPTS[variant]


def sentence_chat(instruction: str) -> None:
    """Each line a sentence, each asked alone as the recipe's user turn; EOFError when the input ends."""
    from llamafactory.chat import ChatModel  # reads sys.argv[1:] as llamafactory-cli chat's arguments

    chat_model = ChatModel()
    print("Type a sentence (the recipe's instruction is added before it); `exit` to quit.")
    while True:
        sentence = input(PROMPT).strip()
        if sentence == "exit":
            return
        if not sentence:
            continue
        print("Assistant: ", end="", flush=True)
        for piece in chat_model.stream_chat([{"role": "user", "content": build_prompt(instruction, sentence)}]):
            print(piece, end="", flush=True)
        print()


def main() -> int:
    raw = RAW in sys.argv[1:2]
    if raw:
        del sys.argv[1]
    try:
        if raw:
            from llamafactory.chat.chat_model import run_chat

            run_chat()
        else:
            sentence_chat(instruction_of(sys.argv[1]) if len(sys.argv) > 1 else PROMPTS[DEFAULT_VARIANT])
    except EOFError:  # the input ended (a pipe, Ctrl-D) before `exit`: the same as typing it
        print("\n(end of input: chat closed)", flush=True)
    except KeyboardInterrupt:
        print("\n(interrupted: chat closed)", file=sys.stderr, flush=True)
        return 130
    except RecipeError as exc:  # the predict twin that names the prompt variant cannot be read
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
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
