"""The Makefile explains itself, and refuses clearly when Python is too old."""

import shutil
import subprocess

import pytest

from proof.paths import ROOT

MAKE = shutil.which("make")


def make(*args, env, tmp_path):
    return subprocess.run(
        [MAKE, "-s", f"VENV={tmp_path / 'venv'}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# What the Makefile's recipes use besides Python.
TOOLS = ("sh", "bash", "grep", "awk", "ls", "sort", "rm", "touch", "mkdir", "cat")


def only_old_python(tmp_path):
    """A PATH with the usual tools and one python3, too old to use.

    The fake python3 fails the Makefile's version check the way a 3.11 does;
    no other Python is reachable, whatever the machine has installed.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    fake = bin_dir / "python3"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    return {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
    }


def test_make_alone_lists_every_target_with_a_line(tmp_path):
    done = make(env={"PATH": "/usr/bin:/bin"}, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    for target in ("livehtml", "html", "test", "clean", "django-inventory"):
        assert f"  {target} " in done.stdout, done.stdout


@pytest.mark.parametrize("target", ["test", "livehtml"])
def test_no_suitable_python_stops_with_the_fix(tmp_path, target):
    env = only_old_python(tmp_path)
    done = make(target, env=env, tmp_path=tmp_path)
    assert done.returncode != 0
    assert "Python 3.12 or newer is needed" in done.stderr
    assert "make PYTHON=/path/to/python3.12 " + target in done.stderr
    assert not (tmp_path / "venv").exists(), "nothing may be created"


def test_a_named_python_that_is_too_old_is_refused(tmp_path):
    env = only_old_python(tmp_path)
    done = make("PYTHON=python3", "test", env=env, tmp_path=tmp_path)
    assert done.returncode != 0
    assert "PYTHON=python3 is not a Python 3.12 or newer" in done.stderr
