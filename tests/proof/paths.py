"""Where things are, in one place."""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PARTS_DIR = DOCS / "tutorial"
STAGES = ROOT / "tutorial_project"
# PROOF_BUILD_DIR lets two runs (say, two Django releases) work side by side.
BUILD = Path(os.environ.get("PROOF_BUILD_DIR", ROOT / "_build" / "proof"))
REQUIREMENTS = ROOT / "requirements.txt"

# The folder the reader creates with startproject; the stage folders hold its
# contents at the end of each part.
PROJECT_DIR_NAME = "community"

# Generated files that are never part of a stage: one definition, the one
# the site's downloads use (docs/_ext/stages.py).
sys.path.insert(0, str(DOCS / "_ext"))
from stages import EXCLUDED_DIRS as NOISE_DIRS  # noqa: E402, F401
from stages import EXCLUDED_FILES as NOISE_FILES  # noqa: E402, F401
from stages import stage_files as _stage_files  # noqa: E402

PART_DOC = re.compile(r"^tutorial/part(\d\d)$")

# The interpreter running the proof: its bin folder holds django-admin,
# pip and everything requirements.txt installs.
VENV_BIN = Path(sys.executable).parent


def stage_dir(number):
    return STAGES / f"stage{number:02d}"


def part_numbers():
    """The numbers of the part pages, in order."""
    return sorted(
        int(m.group(1))
        for p in PARTS_DIR.glob("part*.txt")
        if (m := re.fullmatch(r"part(\d\d)", p.stem))
    )


def staged_parts():
    """The parts that have a stage: all but part 0, the introduction."""
    return [number for number in part_numbers() if number >= 1]


def stage_files(folder):
    """Relative paths of a stage's files, generated noise left out, sorted."""
    return [Path(name) for name in _stage_files(folder)]


def where(path, line=None):
    """``docs/tutorial/part01.txt:42``: a place a contributor can open."""
    try:
        shown = Path(path).resolve().relative_to(ROOT)
    except ValueError:
        shown = path
    return f"{shown}:{line}" if line else str(shown)


# From part 2 on, the project sends email, configured with MAILERS, new in
# Django 6.1 (Django 6.0 ignores it). Under Django 6.0 the proof covers the
# parts before that; conftest.py deselects the others and says so.
FIRST_PART_NEEDING_DJANGO_61 = 2


def needs_newer_django(part):
    import django

    return part >= FIRST_PART_NEEDING_DJANGO_61 and django.VERSION < (6, 1)
