"""Docstrings tell the truth (issue 19): each package's docstring names every module it has, ``python -m eval``'s
docstrings name every subcommand its parser has, and the run card's header names the sweep layout that
``scripts/sweep.py`` writes (:func:`cluener.layout.sweep_save_dir`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import eval as eval_package
import eval.report as report_package
import eval.run_card as run_card
import infer as infer_package
from cluener.layout import sweep_save_dir
from eval.__main__ import __doc__ as eval_main_doc, build_parser

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

ROOT = Path(__file__).resolve().parents[1]


def modules(package: Path) -> set[str]:
    """The modules of a package folder (``name``) and its sub-packages (``name/``)."""
    names = {p.stem for p in package.glob("*.py") if p.name != "__init__.py"}
    return names | {f"{p.parent.name}/" for p in package.glob("*/__init__.py")}


@pytest.mark.parametrize(
    ("package", "doc"),
    [(ROOT / "eval", eval_package.__doc__), (ROOT / "eval" / "report", report_package.__doc__),
     (ROOT / "infer", infer_package.__doc__)],
    ids=["eval", "eval.report", "infer"],
)  # fmt: skip
def test_the_package_docstring_names_every_module(package, doc):
    named = set(re.findall(r"``([a-z_]+/?)``", doc))
    assert modules(package) - named == set(), f"{package.name}/__init__.py does not name them"


def test_every_eval_subcommand_is_in_the_docstrings():
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    commands = set(subparsers.choices)
    listed = re.search(r"python -m eval ([a-z |]+)``", eval_package.__doc__)[1]
    assert set(listed.replace("|", " ").split()) == commands
    usage = {line.split()[0] for line in eval_main_doc.splitlines() if re.match(r"  [a-z]+ ", line)}
    assert usage == commands


def test_the_run_card_names_the_sweep_layout_the_sweep_writes():
    layout = sweep_save_dir("<recipe>", "<combo>").as_posix()
    assert layout == "saves/<recipe>-sweep-<combo>"
    assert f"``{layout}/``" in run_card.__doc__
    sweep_doc = (ROOT / "scripts" / "sweep.py").read_text(encoding="utf-8").split('"""')[1]
    assert f"``{layout}/``" in sweep_doc
