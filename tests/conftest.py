"""Shared fixtures of the proof, and the split between its two kinds of run.

`make test` runs everything in tests/ except the stage folders: each
``tests/stageNN/`` holds verification tests that import the reader's project
of that stage (``mysite``, ``testimonials``), and the stages' modules share
those names. So ``test_stages.py`` runs each ``tests/stageNN/`` in a pytest
process of its own, with PROOF_STAGE=NN, the stage on the path and
pytest-django pointed at the stage's settings.
"""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from proof.audit import AUDIT_REPORT  # noqa: E402

_STAGE = os.environ.get("PROOF_STAGE")
if _STAGE:
    collect_ignore_glob = ["test_*.py", "checker/*"] + [
        f"stage{n:02d}/*" for n in range(100) if n != int(_STAGE)
    ]
else:
    collect_ignore_glob = ["stage[0-9][0-9]/*"]


# The end-to-end tests' fixtures (inbox), the browser tests' (server,
# browser); in a stage's run, the stage tests' own (member, post_form).
pytest_plugins = ["proof.fixtures", "proof.browsing"] + (
    ["proof.in_stage"] if _STAGE else []
)


if _STAGE:

    @pytest.fixture(autouse=True)
    def fast_password_hashing(settings):
        """Hash test users' passwords fast: Django's default is slow on purpose."""
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    """Mark this run's processes, and end them with it (see proof.processes).

    From here on SIGTERM stops the run as Ctrl+C does, with cleanup.
    """
    from proof.processes import install

    install()


def pytest_unconfigure(config):
    from proof.processes import sweep

    sweep()


@pytest.fixture(scope="session")
def site():
    """The site, built once per run exactly as `make html` builds it."""
    from proof.sphinx_build import build_site

    return build_site()


def pytest_collection_modifyitems(config, items):
    """Leave out the parts the running Django release cannot follow.

    With PROOF_PART=N (``make test PART=N``), keep only the tests of part N.
    """
    from proof.paths import needs_newer_django

    # A stage's own run (PROOF_STAGE) is one part already.
    only = "" if _STAGE else os.environ.get("PROOF_PART", "").strip()
    if only and not only.isdigit():
        raise pytest.UsageError(f"PART={only!r}: give a part number, such as PART=3")
    kept, dropped, other_parts = [], [], []
    numbers = set()
    for item in items:
        number = part_of(item)
        if only and number != int(only):
            other_parts.append(item)
        elif number and needs_newer_django(number):
            dropped.append(item)
            numbers.add(number)
        else:
            kept.append(item)
    if only and not kept and not dropped:
        raise pytest.UsageError(f"PART={only}: no test proves part {int(only)}")
    if dropped or other_parts:
        config.hook.pytest_deselected(items=dropped + other_parts)
        items[:] = kept
    if dropped:
        config.stash[DESELECTED_PARTS] = sorted(numbers)


# tests/test_partNN_*.py proves part NN.
PART_FILE = re.compile(r"test_part(\d\d)_\w+\.py")


def part_of(item):
    """The part a test proves: its `number` parameter, its file, or its marker."""
    callspec = getattr(item, "callspec", None)
    if callspec and "number" in callspec.params:
        return callspec.params["number"]
    if match := PART_FILE.fullmatch(item.path.name):
        return int(match.group(1))
    marker = item.get_closest_marker("part")
    return marker.args[0] if marker else None


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(AUDIT_REPORT, None)
    if lines:
        terminalreporter.section("audit: code blocks per part")
        for line in lines:
            terminalreporter.write_line(line)
    parts = config.stash.get(DESELECTED_PARTS, None)
    if parts:
        import django

        terminalreporter.section("parts left out")
        terminalreporter.write_line(
            f"Django {django.get_version()} has no MAILERS setting: the checks of "
            f"parts {', '.join(f'{n:02d}' for n in parts)} run with Django 6.1 only."
        )


DESELECTED_PARTS = pytest.StashKey[list]()


# CI forbids skips: a check that did not run proved nothing.
FORBID_SKIPS = bool(os.environ.get("PROOF_FORBID_SKIPS"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if FORBID_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, and PROOF_FORBID_SKIPS is set: {report.longrepr}"
