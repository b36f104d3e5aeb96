"""A real worker, end to end: the part-1 task runs in a `db_worker` process.

No test doubles: the stage's own settings with a file SQLite database, the
task enqueued by one process, run by a `manage.py db_worker` subprocess,
and the worker stopped with SIGTERM as a service manager would stop it.
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from proof.paths import stage_dir

TABLE = "django_tasks_database_dbtaskresult"


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "community"
    shutil.copytree(stage_dir(1), folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return folder


def manage(project, *args, **kwargs):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, **kwargs,
    )


def status_of(project, result_id):
    with sqlite3.connect(project / "db.sqlite3") as connection:
        row = connection.execute(
            f"SELECT status, return_value FROM {TABLE} WHERE id = ?",
            (result_id.replace("-", ""),),
        ).fetchone()
    return row


def test_db_worker_runs_the_task_and_stops_on_sigterm(project):
    assert manage(project, "migrate", "--verbosity", "0").returncode == 0
    enqueued = manage(
        project, "shell", "--verbosity", "0", "--command",
        "from testimonials.tasks import count_words\n"
        "print(count_words.enqueue('a real worker ran this').id)",
    )
    assert enqueued.returncode == 0, enqueued.stderr
    result_id = enqueued.stdout.strip().splitlines()[-1]
    assert status_of(project, result_id)[0] == "READY"

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload",
         "--interval", "0.2", "--no-startup-delay"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
             "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, value = status_of(project, result_id)
            if status not in ("READY", "RUNNING"):
                break
            time.sleep(0.1)
        assert status == "SUCCESSFUL", f"the task ended {status}"
        assert value == "5"
        assert worker.poll() is None, "the worker must keep running between tasks"
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0, output
    assert "Starting worker" in output
    assert "Received Terminated - shutting down gracefully" in output
