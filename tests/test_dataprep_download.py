"""dataprep.download: the official archive fetched from a (loopback) server, verified before anything is kept; a
source folder given or found in data/raw is hash-checked."""

from __future__ import annotations

import shutil

import pytest

from cluener.reader import SourceError
from cluener.release import SHA256, verify_sources
from dataprep.download import download_official, resolve_source

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_a_given_folder_is_hash_checked(tmp_path, cluener_dir):
    assert set(resolve_source(str(cluener_dir))) == {"train", "dev", "test"}
    for name in SHA256:
        shutil.copyfile(cluener_dir / name, tmp_path / name)
    (tmp_path / "test.json").unlink()
    with pytest.raises(SourceError, match=r"missing CLUENER file\(s\) test.json"):
        resolve_source(str(tmp_path))


@pytest.fixture
def archive_server(tmp_path):
    """A loopback HTTP server over tmp_path/www (bounded: shut down after the test)."""
    import functools
    import http.server
    import threading

    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def make_archive(path, cluener_dir, corrupt: str | None = None):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name in SHA256:
            data = (cluener_dir / name).read_bytes()
            archive.writestr(f"cluener_public/{name}", data + (b"\n" if name == corrupt else b""))


def test_download_official_archive(tmp_path, cluener_dir, archive_server):
    www, base = archive_server
    make_archive(www / "cluener_public.zip", cluener_dir)
    dest = download_official(tmp_path / "raw", url=f"{base}/cluener_public.zip")
    assert set(verify_sources(dest)) == {"train", "dev", "test"}
    assert (dest / "cluener_public.zip").is_file()


def test_download_checks_the_hashes(tmp_path, cluener_dir, archive_server):
    www, base = archive_server
    make_archive(www / "cluener_public.zip", cluener_dir, corrupt="train.json")
    with pytest.raises(SourceError, match=r"train.json: sha256 .* does not match"):
        download_official(tmp_path / "raw", url=f"{base}/cluener_public.zip")
    assert not list((tmp_path / "raw").glob("*.json")) and not list((tmp_path / "raw").glob(".extract*"))
    with pytest.raises(SourceError, match=r"could not download .*missing.zip"):
        download_official(tmp_path / "raw2", url=f"{base}/missing.zip")
