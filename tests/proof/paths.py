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
from variants import EXCLUDED_DIRS as NOISE_DIRS  # noqa: E402, F401
from variants import EXCLUDED_FILES as NOISE_FILES  # noqa: E402, F401
from variants import stage_files as _stage_files  # noqa: E402

PART_DOC = re.compile(r"^tutorial/part(\d\d)$")

# The interpreter running the proof: its bin folder holds django-admin,
# pip and everything requirements.txt installs.
VENV_BIN = Path(sys.executable).parent


# The release pass (``make test-release RELEASE=5.2``) sets PROOF_RELEASE:
# the proof then runs the stages' variants for that Django release, which
# docs/_ext/variants.py writes from tutorial_project/variants/rules.toml.
RELEASE = os.environ.get("PROOF_RELEASE", "").strip() or None


def stage_dir(number):
    """The folder of stage *number*: the variant's, in a release pass."""
    if RELEASE:
        return variants_dir() / f"stage{number:02d}"
    return STAGES / f"stage{number:02d}"


def stage_tests_dir(number):
    """``tests/stageNN``: the variant's, in a release pass."""
    if RELEASE:
        return variants_dir() / "tests" / f"stage{number:02d}"
    return ROOT / "tests" / f"stage{number:02d}"


_written = {}


def seen(text):
    """Output of Django 6.1 as the release pass's release shows it.

    The identity in the main pass; in a release pass, the ``[[seen]]``
    entries of rules.toml (module names in tracebacks and loggers).
    """
    if not RELEASE:
        return text
    import variants

    return variants.seen(text, RELEASE)


def variants_dir():
    """The release's variants of every stage, written once per process.

    Each process of the run (pytest-xdist's workers) writes its own copy:
    it takes a fraction of a second, and no process reads a half-written one.
    """
    if RELEASE not in _written:
        import variants

        rules = variants.load()
        release = rules.release(RELEASE)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        folder = BUILD / "variants" / f"{release.name}-{worker}"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        for number in variants.stage_numbers():
            name = f"stage{number:02d}"
            variants.variant(number, RELEASE, rules).write(
                folder / name, folder / "tests" / name
            )
        # The variant's tests/stageNN find the proof's conftest.py next to
        # them, as tests/stageNN do (not a stage's own conftest.py, which a
        # plugin of that name on the stage's path would be).
        (folder / "tests" / "conftest.py").symlink_to(ROOT / "tests" / "conftest.py")
        _written[RELEASE] = folder
    return _written[RELEASE]


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
