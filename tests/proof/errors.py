"""Triggering the errors of docs/appendix/errors.txt on the reader's project.

Each message block of that page carries a ``:name:`` starting with
``error-``. The test module (``tests/test_appendix_errors.py``) triggers
each error for real and compares what the reader would see with the block:

- :func:`raise_in_shell` runs snippets of Python in one process of a stage
  copy, with the stage's settings, as the reader types them into
  ``manage.py shell``, and returns each traceback as Python prints it;
- :func:`virtualenv` makes (once, in the build folder) a virtual environment
  with other packages than the proof's own: a server's, or Django 5.2's.
"""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

from .paths import BUILD

# The name of every message block starts with this.
PREFIX = "error-"

# What the page calls its blocks, and where to find them.
ERRORS_DOC = "appendix/errors"

# A script for the project's folder: it sets Django up with the settings of
# DJANGO_SETTINGS_MODULE, runs each snippet of a JSON file in a namespace of
# its own, and prints, as JSON, the traceback each one ended with (None for
# a snippet that raised nothing), formatted as the interactive shell does.
DRIVER = "proof_errors.py"
DRIVER_SOURCE = """
import json
import sys
import traceback

import django

django.setup()

snippets = json.loads(open(sys.argv[1]).read())
printed = {}
for name, code in snippets.items():
    try:
        exec(compile(code, "<console>", "exec"), {"__name__": "__main__"})
    except Exception as error:
        printed[name] = "".join(traceback.format_exception(error))
    else:
        printed[name] = None
print(json.dumps(printed))
"""


def raise_in_shell(project, snippets):
    """{name: the traceback that snippet *name* ended with} for *snippets*,
    {name: Python code}, run one after the other in one process of
    *project*, each in a fresh namespace."""
    project.write(DRIVER, DRIVER_SOURCE)
    project.write("proof_snippets.json", json.dumps(snippets))
    done = project.run(DRIVER, "proof_snippets.json")
    return json.loads(done.stdout)


def run_with(python, project, *argv, env=None):
    """``python *argv`` in *project*'s folder, with another interpreter
    (a virtual environment's), to its end: (exit status, stdout + stderr).

    *env* adds variables to the project's; a variable set to None is unset.
    """
    merged = {**project.env(), **(env or {})}
    finished = subprocess.run(
        [str(python), *argv],
        cwd=project.folder,
        env={name: value for name, value in merged.items() if value is not None},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return finished.returncode, finished.stdout + finished.stderr


def virtualenv(name, requirements):
    """The Python of a virtual environment with *requirements* installed
    (pip's arguments), made in the build folder on first use and kept.

    Parallel test processes wait for the one that makes it.
    """
    folder = BUILD / "venvs" / name
    python = folder / "bin" / "python"
    stamp = folder / "installed.json"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = _with_files(requirements)
        if stamp.exists() and json.loads(stamp.read_text()) == wanted:
            return python
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(folder)], check=True
        )
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *requirements],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "PIP_REQUIRE_VIRTUALENV"},
        )
        assert done.returncode == 0, (
            f"pip install {' '.join(requirements)} failed:\n{done.stdout}{done.stderr}"
        )
        stamp.write_text(json.dumps(wanted))
    return Path(python)


def _with_files(requirements):
    """pip's arguments, with the text of each ``-r`` file after its name, so
    that a changed requirements file makes the environment again."""
    wanted = []
    for previous, argument in zip(["", *requirements], requirements, strict=False):
        wanted.append(argument)
        if previous == "-r":
            wanted.append(Path(argument).read_text())
    return wanted
