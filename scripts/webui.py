"""`make webui`: LLaMA Board (``llamafactory-cli webui``: LLaMA-Factory's own ``run_web_ui``) with this repository's
datasets listed.

The Board's "Data dir" box (Train and Evaluate & Predict tabs) starts at ``llamafactory.webui.common.DEFAULT_DATA_DIR``
(``data``), a constant that ``components/train.py`` and ``components/eval.py`` import and read when they build
their tabs. LLaMA-Factory 0.9.5 reads it from nothing else: not the user config (``llamaboard_cache/user_config.yaml``
holds only the language, hub, last model and model paths), not the environment, not an argument. This project
registers its datasets in ``dataset_info.json`` at the repository root (every recipe says ``dataset_dir: .``), so
with ``data`` the Board lists none. This launcher sets that default to ``.`` (the repository root, the folder
``make webui`` runs in) before the tabs are built, then runs LLaMA-Factory's ``run_web_ui`` unchanged; no second
dataset_info.json. A Board whose modules no longer hold the constant is one line, not a Board that lists nothing.

The server listens where ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` say (LLaMA-Factory and gradio read them;
``make webui`` sets 127.0.0.1:7860 unless WEBUI_HOST / WEBUI_PORT are given).

Usage: ``python -m scripts.webui`` (from the repository root)
"""

from __future__ import annotations

import importlib
import sys

PROJECT_DATA_DIR = "."  # where dataset_info.json is (cluener/layout.py: DATASET_INFO, in the project root)
# The modules that hold the Board's default "Data dir" (each imports it from common when it is imported).
BOARD_MODULES = ("llamafactory.webui.common", "llamafactory.webui.components.train", "llamafactory.webui.components.eval")


def set_default_data_dir(folder: str = PROJECT_DATA_DIR) -> None:
    """Make ``folder`` the Board's default dataset folder; SystemExit (one line) if LLaMA-Factory moved it."""
    for name in BOARD_MODULES:
        module = importlib.import_module(name)
        if not isinstance(getattr(module, "DEFAULT_DATA_DIR", None), str):
            import llamafactory

            sys.exit(f"error: LLaMA-Factory {llamafactory.__version__}: {name} has no DEFAULT_DATA_DIR; this launcher "
                     "knows 0.9.5's Board. Run `llamafactory-cli webui` and type . in its Data dir box")  # fmt: skip
        module.DEFAULT_DATA_DIR = folder


def main() -> int:
    set_default_data_dir()
    from llamafactory.webui.interface import run_web_ui

    run_web_ui()
    return 0


if __name__ == "__main__":
    sys.exit(main())
