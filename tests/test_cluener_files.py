"""cluener/files.py: temp folders keep their parent's path form on every Python version."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluener.files import temp_dir_in

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


@pytest.mark.parametrize("parent", ["rel", "./rel", "sub/../rel"])
def test_temp_dir_in_keeps_the_parent_form(tmp_path, monkeypatch, parent):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel").mkdir()
    (tmp_path / "sub").mkdir()
    made = temp_dir_in(parent, prefix="x-")
    assert made.is_dir() and made.parent == Path(parent) and not made.is_absolute()
