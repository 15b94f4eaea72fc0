"""dataprep/publish.py: a build leaves exactly its own set, whatever the form of the data folder's path.

Python 3.12's ``tempfile.mkdtemp`` returns an absolute path for a relative ``dir``; publish then compared that with
the relative entries of ``sets/`` and removed the set it had just published (issue 15). These builds name the data
folder relatively (as ``make data`` does), absolutely, with ``..`` and through a symlink, on every Python version.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cluener.layout import CURRENT_SET, DATA_SETS, MANIFEST
from dataprep.publish import publish

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

FORMS = {
    "relative": lambda root: Path("data"),
    "dot-relative": lambda root: Path("./data"),
    "parent-relative": lambda root: Path("elsewhere/../data"),
    "absolute": lambda root: root / "data",
    "symlinked": lambda root: Path("link") / "data",  # link -> real/, so the set lies in real/data/sets/
}


def files_of(build: int) -> dict[str, str]:
    return {"cluener_train.json": f"[{build}]\n", "cluener_dev.json": f"[{build}, {build}]\n"}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_build_keeps_its_own_set_and_removes_the_others(tmp_path, monkeypatch, form):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    data_dir = FORMS[form](tmp_path)
    for build in (1, 2):  # the second build removes the first one's set, never its own
        made = publish(data_dir, files_of(build), {"build": build}, label=f"build{build}")
        assert [p.name for p in (data_dir / DATA_SETS).iterdir()] == [made.name]
        assert (data_dir / CURRENT_SET).resolve() == made.resolve()
        for name, text in files_of(build).items():
            assert (data_dir / name).read_text(encoding="utf-8") == text
        assert json.loads((data_dir / MANIFEST).read_text(encoding="utf-8")) == {"build": build}
