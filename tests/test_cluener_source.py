"""Where the tests find CLUENER2020 on a fresh clone (tests/cluener_source.py, conftest's ``cluener_dir``)."""

from __future__ import annotations

import io
import shutil
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cluener_source import FILES, NoCluenerCopy, cache_dir, find_cluener

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def fake_copy(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (folder / name).write_text("{}\n", encoding="utf-8")
    return folder


@pytest.fixture
def layout(tmp_path) -> dict[str, Path]:
    """A clone at tmp/work/repo with every place a copy can be: CLUENER_DIR, ../shared, data/raw, the cache."""
    root = tmp_path / "work" / "repo"
    root.mkdir(parents=True)
    return {
        "root": root,
        "env": fake_copy(tmp_path / "elsewhere"),
        "shared": fake_copy(tmp_path / "work" / "shared" / "cluener2020"),
        "raw": fake_copy(root / "data" / "raw"),
        "cache": fake_copy(cache_dir(root)),
    }


def test_discovery_order(layout):
    root = layout["root"]
    assert find_cluener(root, {"CLUENER_DIR": str(layout["env"])}) == layout["env"]
    assert find_cluener(root, {}) == layout["shared"]  # what CI reads
    shutil.rmtree(layout["shared"])
    assert find_cluener(root, {}) == layout["raw"]  # the copy `make data` keeps
    shutil.rmtree(layout["raw"])
    assert find_cluener(root, {}) == layout["cache"]  # an earlier download


def test_a_relative_cluener_dir_is_made_absolute(layout, tmp_path, monkeypatch):
    """The tests run commands in other folders (temp project roots): a relative CLUENER_DIR must still find it."""
    monkeypatch.chdir(tmp_path)
    found = find_cluener(layout["root"], {"CLUENER_DIR": "elsewhere"})
    assert found.is_absolute() and found == layout["env"]


def test_a_cluener_dir_without_the_files_is_an_error_not_a_fall_through(layout, tmp_path):
    with pytest.raises(NoCluenerCopy) as info:
        find_cluener(layout["root"], {"CLUENER_DIR": str(tmp_path / "missing")})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"CLUENER_DIR={tmp_path / 'missing'}: no train.json")


class _Archive:
    """A loopback HTTP server serving one zip (the official archive's layout) and counting requests."""

    def __init__(self, payload: bytes):
        self.hits = 0
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                archive.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cluener_public.zip"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


def test_no_copy_downloads_the_official_archive_once_into_the_cache(cluener_dir, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in FILES:
            archive.write(cluener_dir / name, f"cluener_public/{name}")
    server = _Archive(buffer.getvalue())
    root = tmp_path / "work" / "repo"
    root.mkdir(parents=True)
    try:
        found = find_cluener(root, {}, url=server.url)
        assert found == cache_dir(root)
        for name in FILES:  # sha256-checked by the download code; the same bytes as the official files
            assert (found / name).read_bytes() == (cluener_dir / name).read_bytes()
        assert find_cluener(root, {}, url=server.url) == found
        assert server.hits == 1, "downloaded once, then read from the cache"
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_offline_without_a_copy_says_what_to_do_in_one_line(tmp_path):
    root = tmp_path / "work" / "repo"
    root.mkdir(parents=True)
    with pytest.raises(NoCluenerCopy) as info:
        find_cluener(root, {}, url="http://127.0.0.1:9/cluener_public.zip")  # port 9 (discard): nothing listens
    message = str(info.value)
    assert "\n" not in message
    assert "the download failed" in message and "set CLUENER_DIR=<folder with train.json/dev.json/test.json>" in message
