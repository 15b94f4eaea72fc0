"""Bad downloads of the CLUENER release (issue 17): ``python -m dataprep.download`` (what `make data` does without
CLUENER_DIR) against a real local HTTP server serving bad bodies -- cut short of their Content-Length, a truncated
zip, an HTML page, a damaged member. One line naming the URL, a non-zero exit, and nothing left behind.
"""

from __future__ import annotations

import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fault_harness import assert_ok, assert_user_error, run_cli

from cluener import layout
from cluener.release import SHA256

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def _archive(cluener_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in SHA256:
            archive.writestr(f"cluener_public/{name}", (cluener_dir / name).read_bytes())
    return buffer.getvalue()


class ArchiveServer:
    """Serves ``bodies[path] = (body, declared Content-Length or None)``; the connection closes after the body, so a
    declared length over the body is a download cut short."""

    def __init__(self, bodies: dict[str, tuple[bytes, int | None]]):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body, declared = bodies[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                if declared is not None:
                    self.send_header("Content-Length", str(declared))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


DOWNLOAD_ROWS = [  # (id, body of the good archive -> (body, Content-Length), needles of the error; None: ok)
    ("a good archive", lambda good: (good, len(good)), None),
    ("a body shorter than its Content-Length", lambda good: (good[: len(good) // 2], len(good)),
     ("cut short after", " bytes of ")),  # fmt: skip
    ("a truncated zip, length as sent", lambda good: (good[: len(good) // 2], len(good) // 2),
     ("not a valid CLUENER zip archive",)),  # fmt: skip
    ("a truncated zip, no Content-Length", lambda good: (good[:-100], None), ("not a valid CLUENER zip archive",)),
    ("an HTML page instead of a zip", lambda good: (b"<html>quota exceeded</html>", 27),
     ("not a valid CLUENER zip archive", "File is not a zip file")),  # fmt: skip
    ("a zip with a damaged member", lambda good: (good[:200] + bytes(b ^ 0xFF for b in good[200:4000]) + good[4000:],
     len(good)), ("not a valid CLUENER zip archive",)),  # fmt: skip
]


@pytest.mark.parametrize("make_body, needles", [r[1:] for r in DOWNLOAD_ROWS], ids=[r[0] for r in DOWNLOAD_ROWS])
def test_a_bad_download_is_one_line_and_leaves_nothing(tmp_path, cluener_dir, make_body, needles):
    """``python -m dataprep.download`` (what `make data` does without CLUENER_DIR) from a real local server: a bad
    body is one line naming the URL, and data/raw is left as it was (absent here); a good one is extracted."""
    server = ArchiveServer({"/cluener_public.zip": make_body(_archive(Path(cluener_dir)))})
    try:
        url, dest = f"{server.url}/cluener_public.zip", tmp_path / "data" / "raw"
        proc = run_cli(["-m", "dataprep.download", "--url", url, "--dest", str(dest)], tmp_path)
        if needles is None:
            assert_ok(proc)
            assert sorted(p.name for p in dest.iterdir()) == sorted([*layout.RAW_FILES.values(), "cluener_public.zip"])
        else:
            assert_user_error(proc, (url, *needles))
            assert not dest.exists()
    finally:
        server.close()
