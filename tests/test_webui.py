"""`make webui` (scripts/webui.py): the real LLaMA Board, started in a `make data` project root on 127.0.0.1, lists
this repository's datasets with no dataset folder typed: asked through the running gradio app itself (its config and
the Board's own ``list_datasets`` event), as the browser asks it when the dataset box gets the focus."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from llm_assets import ROOT, cli_env, free_port

from cluener.layout import dataset_names
from cluener.prompts import PROMPTS

TRAIN_STAGE = "Supervised Fine-Tuning"


@pytest.fixture(scope="module")
def board(project_root, tmp_path_factory):
    """The Board started as `make webui` starts it, in a project root that `make data` built; stopped afterwards."""
    port = free_port()
    log = tmp_path_factory.mktemp("webui") / "webui.log"
    env = cli_env(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "webui.py")], cwd=project_root, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            if process.poll() is not None:
                pytest.fail(f"the Board exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url + "config", timeout=5).close()
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"the Board did not answer on {url}:\n{log.read_text()[-3000:]}")
        yield url, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def test_the_board_lists_the_project_datasets(board):
    from gradio_client import Client

    url, log = board
    client = Client(url, verbose=False)
    config = client.config
    components = {c["id"]: c for c in config["components"]}
    # The two "Data dir" boxes (Train, Evaluate & Predict): the inputs of the Board's list_datasets events.
    listing = {d["api_name"]: d for d in config["dependencies"] if str(d.get("api_name")).startswith("list_datasets")}
    assert set(listing) == {"list_datasets", "list_datasets_1"}, sorted(listing)
    boxes = [components[d["inputs"][0]] for d in listing.values()]
    assert [box["props"]["value"] for box in boxes] == [".", "."]  # the repository root, not LF's "data"
    expected = dataset_names(PROMPTS)  # cluener_train ... cluener_guided_test, as `make data` registered them
    for api_name, dependency in listing.items():
        values = [components[i]["props"]["value"] for i in dependency["inputs"]]  # what the page holds
        assert values[0] == "." and values[1:] in ([], [TRAIN_STAGE])
        update = client.predict(*values, api_name=f"/{api_name}")
        assert [choice[0] for choice in update["choices"]] == expected, (api_name, update)
    assert f"Running on local URL:  {url.rstrip('/')}" in log.read_text()  # loopback only


def test_make_webui_listens_on_loopback():
    dry = subprocess.run(["make", "--old-file=.venv/.installed", "-n", "webui"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    assert "GRADIO_SERVER_NAME=127.0.0.1 GRADIO_SERVER_PORT=7860" in dry.stdout
    assert "-m scripts.webui" in dry.stdout
