"""Each stage is a working Django project with its own verification tests.

For every ``tutorial_project/stageNN``: ``manage.py check`` passes,
``makemigrations --check`` finds nothing to do (no migration was
forgotten), and the tests in ``tests/stageNN/`` pass in a pytest process of
their own (see conftest.py for why).
"""

import os
import subprocess
import sys

import pytest

from proof.paths import stage_dir, stage_tests_dir, staged_parts
from proof.processes import clean_env

HERE = os.path.dirname(__file__)


def run_in_stage(number, *args, env=None):
    return subprocess.run(
        [sys.executable, *args],
        cwd=stage_dir(number),
        env=clean_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("number", staged_parts())
def test_check(number):
    done = run_in_stage(number, "manage.py", "check", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.parametrize("number", staged_parts())
def test_no_missing_migrations(number):
    done = run_in_stage(number, "manage.py", "makemigrations", "--check", "--dry-run")
    assert done.returncode == 0, (
        f"stage{number:02d} has model changes without a migration:\n"
        + done.stdout
        + done.stderr
    )


@pytest.mark.parametrize("number", staged_parts())
def test_verification_tests(number):
    folder = stage_tests_dir(number)
    assert folder.is_dir(), f"tests/stage{number:02d}/ is missing"
    done = run_in_stage(
        number,
        "-m",
        "pytest",
        "-c",
        os.path.join(HERE, "pytest.ini"),
        "--rootdir",
        HERE,
        "-p",
        "no:cacheprovider",
        "-q",
        folder,
        env={
            "PROOF_STAGE": str(number),
            "PYTHONPATH": f"{stage_dir(number)}{os.pathsep}{HERE}",
            "DJANGO_SETTINGS_MODULE": "mysite.settings",
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and " skipped" not in done.stdout, done.stdout
