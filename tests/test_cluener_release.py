"""cluener.release: the official files are known by their pinned sha256; a folder of them is hash-checked."""

from __future__ import annotations

import shutil

import pytest

from cluener.reader import SourceError
from cluener.release import SHA256, official_split, verify_sources

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_sources_are_hash_checked(tmp_path, cluener_dir):
    assert set(verify_sources(cluener_dir)) == {"train", "dev", "test"}
    for name in SHA256:
        shutil.copyfile(cluener_dir / name, tmp_path / name)
    with open(tmp_path / "dev.json", "ab") as handle:
        handle.write(b" ")
    with pytest.raises(SourceError, match=r"dev.json: sha256 .* does not match"):
        verify_sources(tmp_path)
    (tmp_path / "test.json").unlink()
    with pytest.raises(SourceError, match=r"missing CLUENER file\(s\) test.json"):
        verify_sources(tmp_path)


def test_official_split_by_content_not_name(tmp_path, cluener_dir):
    assert official_split(cluener_dir / "dev.json") == "dev"
    shutil.copyfile(cluener_dir / "test.json", tmp_path / "renamed.json")
    assert official_split(tmp_path / "renamed.json") == "test"
    (tmp_path / "dev.json").write_bytes((cluener_dir / "dev.json").read_bytes() + b"\n")
    assert official_split(tmp_path / "dev.json") is None
