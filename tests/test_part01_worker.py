"""A real worker, end to end, and what part 1 says about stopping it.

No test doubles: a copy of stage 1 with its own settings and a file SQLite
database, tasks enqueued by one process and run by a `manage.py db_worker`
subprocess, which is stopped with signals as a terminal or a service
manager stops it.

The shutdown tests need a task that takes a while. Stage 1 has none, so they
add a module with one to their copy of the project (never to the stage).
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from proof.processes import clean_env, copy_stage, spawn

TABLE = "django_tasks_database_dbtaskresult"

SLOW_TASK = """
import time

from django.tasks import task


@task
def sleep_then_return(seconds):
    time.sleep(seconds)
    return "done"
"""


@pytest.fixture
def project(tmp_path):
    folder = copy_stage(1, tmp_path / "community")
    (folder / "testimonials" / "proof_slow.py").write_text(SLOW_TASK)
    done = manage(folder, "migrate", "--verbosity", "0")
    assert done.returncode == 0, done.stderr
    return folder


def manage(project, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def enqueue(project, code):
    """Run *code* in the project's shell; it prints one result id a line."""
    done = manage(project, "shell", "--verbosity", "0", "--command", code)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def row(project, result_id):
    with sqlite3.connect(project / "db.sqlite3") as connection:
        return connection.execute(
            "SELECT status, return_value, exception_class_path"
            f" FROM {TABLE} WHERE id = ?",
            (result_id.replace("-", ""),),
        ).fetchone()


def wait_for(project, result_id, statuses, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = row(project, result_id)
        if current[0] in statuses:
            return current
        time.sleep(0.05)
    raise AssertionError(f"task {result_id} never reached {statuses}: {current}")


def start_worker(project, *options):
    """A worker in a process group of its own, as a terminal starts it."""
    return spawn(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.2",
            "--no-startup-delay",
            *(options or ["--no-reload"]),
        ],
        cwd=project,
        env=clean_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(worker, *signals, pause=0.3):
    for number in signals:
        worker.send_signal(number)
        time.sleep(pause)
    output, _ = worker.communicate(timeout=30)
    return output


def test_worker_runs_a_task_enqueued_before_it_started(project):
    [result_id] = enqueue(
        project,
        "from testimonials.tasks import count_words\n"
        "print(count_words.enqueue('a real worker ran this').id)",
    )
    assert row(project, result_id)[0] == "READY"

    worker = start_worker(project)
    try:
        status, value, _ = wait_for(project, result_id, {"SUCCESSFUL", "FAILED"})
        assert (status, value) == ("SUCCESSFUL", "5")
        time.sleep(0.5)
        assert worker.poll() is None, "the worker must keep running between tasks"
    finally:
        output = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, output
    assert "Starting worker" in output
    assert "Received Terminated - shutting down gracefully" in output


def test_sigterm_lets_the_running_task_finish_and_starts_no_other(project):
    first, second = enqueue(
        project,
        "from testimonials.proof_slow import sleep_then_return\n"
        "print(sleep_then_return.enqueue(2).id)\n"
        "print(sleep_then_return.enqueue(2).id)",
    )
    worker = start_worker(project)
    try:
        wait_for(project, first, {"RUNNING"})
    finally:
        output = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, output
    assert row(project, first)[:2] == ("SUCCESSFUL", '"done"'), output
    assert row(project, second)[0] == "READY", "a stopping worker starts no new task"


def test_second_interrupt_stops_the_running_task(project):
    [result_id] = enqueue(
        project,
        "from testimonials.proof_slow import sleep_then_return\n"
        "print(sleep_then_return.enqueue(30).id)",
    )
    worker = start_worker(project)
    try:
        wait_for(project, result_id, {"RUNNING"})
    finally:
        started = time.monotonic()
        output = stop(worker, signal.SIGINT, signal.SIGINT)
    assert time.monotonic() - started < 10, (
        "the second Ctrl+C must not wait for the task"
    )
    assert "terminating current task" in output
    status, _, exception = row(project, result_id)
    assert (status, exception) == ("FAILED", "builtins.SystemExit"), output


def test_ctrl_c_under_the_autoreloader_abandons_the_running_task(project):
    """With DEBUG = True, `db_worker` runs under Django's autoreloader.

    Ctrl+C reaches the reloader and the worker alike (a terminal signals the
    whole process group); the reloader stops its child at once, so the
    running task never finishes and its row stays RUNNING.
    """
    [result_id] = enqueue(
        project,
        "from testimonials.proof_slow import sleep_then_return\n"
        "print(sleep_then_return.enqueue(3).id)",
    )
    worker = start_worker(project, "--reload")
    try:
        wait_for(project, result_id, {"RUNNING"})
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        output, _ = worker.communicate(timeout=30)
    assert "Watching for file changes" in output, "the worker ran without the reloader"
    time.sleep(4)  # longer than the task would have needed
    assert row(project, result_id)[0] == "RUNNING", output


NO_DEBUG = "from mysite.settings import *  # noqa: F403\n\nDEBUG = False\n"


def start_worker_with(project, settings, *options):
    """A worker started with no reload option, under *settings*."""
    return spawn(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.2",
            "--no-startup-delay",
            *options,
        ],
        cwd=project,
        env=clean_env(DJANGO_SETTINGS_MODULE=settings),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_the_worker_reloads_by_default_while_debug_is_true(project):
    worker = start_worker_with(project, "mysite.settings")
    try:
        [result_id] = enqueue(
            project,
            "from testimonials.tasks import count_words\n"
            "print(count_words.enqueue('under the reloader').id)",
        )
        wait_for(project, result_id, {"SUCCESSFUL"})
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        output, _ = worker.communicate(timeout=30)
    assert output.startswith("Watching for file changes with StatReloader"), output


def test_with_debug_false_the_worker_runs_without_reloader_and_stops_gracefully(
    project,
):
    (project / "no_debug_settings.py").write_text(NO_DEBUG)
    [result_id] = enqueue(
        project,
        "from testimonials.proof_slow import sleep_then_return\n"
        "print(sleep_then_return.enqueue(1).id)",
    )
    worker = start_worker_with(project, "no_debug_settings")
    try:
        wait_for(project, result_id, {"RUNNING"})
    finally:
        output = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, output
    assert "Starting worker" in output
    assert "Watching for file changes" not in output
    assert row(project, result_id)[:2] == ("SUCCESSFUL", '"done"'), output


def test_two_workers_never_run_the_same_task(project):
    """On SQLite, each worker claims a row inside an exclusive transaction:
    two batch workers share 20 tasks, and each row names one worker only."""
    ids = enqueue(
        project,
        "from testimonials.proof_slow import sleep_then_return\n"
        "for _ in range(20):\n"
        "    print(sleep_then_return.enqueue(0.2).id)",
    )
    workers = [
        spawn(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0",
                "--worker-id",
                name,
            ],
            cwd=project,
            env=clean_env(),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for name in ("first", "second")
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    with sqlite3.connect(project / "db.sqlite3") as connection:
        rows = connection.execute(f"SELECT status, worker_ids FROM {TABLE}").fetchall()
    assert len(rows) == len(ids) == 20
    assert {status for status, _ in rows} == {"SUCCESSFUL"}
    owners = [json.loads(worker_ids) for _, worker_ids in rows]
    assert all(len(names) == 1 for names in owners), owners
    assert {names[0] for names in owners} == {"first", "second"}, (
        "both workers must have taken part"
    )
