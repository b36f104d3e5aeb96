"""What every test that starts the reader's project in a process needs."""

import os
import shutil
import socket

from .paths import stage_dir


def clean_env(**extra):
    """The test's environment, without what would leak into a child Django.

    Settings and pytest variables of this run never reach the child, and
    its output arrives line by line, as a terminal shows it.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "VIRTUAL_ENV"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def free_port():
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_stage(number, target):
    """Copy stage *number* to *target*, without caches or a database."""
    shutil.copytree(
        stage_dir(number),
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.sqlite3", "media"),
    )
    return target
