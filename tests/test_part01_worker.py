"""A real worker, end to end, and what part 1 says about stopping it.

No test doubles: a copy of stage 1 with its own settings and a file SQLite
database, tasks enqueued by one process and run by a `manage.py db_worker`
subprocess, which is stopped with signals as a terminal or a service
manager stops it.

The shutdown tests need a task that takes a while. Stage 1 has none, so they
add proof.project's SLOW_TASKS to their copy of the project (never to the
stage).
"""

import signal
import time

import pytest

from proof.project import (
    Project,
    check_a_stop_lets_the_running_task_finish,
    interrupt,
    stop,
)


@pytest.fixture
def project(tmp_path):
    project = Project.copy(1, tmp_path / "community")
    project.add_slow_tasks()
    project.manage("migrate", "--verbosity", "0")
    return project


def test_worker_runs_a_task_enqueued_before_it_started(project):
    [result_id] = project.shell(
        "from testimonials.tasks import count_words\n"
        "print(count_words.enqueue('a real worker ran this').id)",
    )
    assert project.status(result_id) == "READY"

    worker = project.start_worker()
    try:
        done = project.wait_for(result_id, {"SUCCESSFUL", "FAILED"})
        assert (done.status, done.return_value) == ("SUCCESSFUL", 5)
        time.sleep(0.5)
        assert worker.poll() is None, "the worker must keep running between tasks"
    finally:
        output = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, output
    assert "Starting worker" in output
    assert "Received Terminated - shutting down gracefully" in output


def test_sigterm_lets_the_running_task_finish_and_starts_no_other(project):
    check_a_stop_lets_the_running_task_finish(project)


def test_second_interrupt_stops_the_running_task(project):
    [result_id] = project.sleepers(30)
    worker = project.start_worker()
    try:
        project.wait_for(result_id, {"RUNNING"})
    finally:
        started = time.monotonic()
        output = stop(worker, signal.SIGINT, signal.SIGINT)
    assert time.monotonic() - started < 10, (
        "the second Ctrl+C must not wait for the task"
    )
    assert "terminating current task" in output
    failed = project.task(result_id)
    assert (failed.status, failed.exception_class_path) == (
        "FAILED",
        "builtins.SystemExit",
    ), output


def test_ctrl_c_under_the_autoreloader_abandons_the_running_task(project):
    """With DEBUG = True, `db_worker` runs under Django's autoreloader.

    Ctrl+C reaches the reloader and the worker alike (a terminal signals the
    whole process group); the reloader stops its child at once, so the
    running task never finishes and its row stays RUNNING.
    """
    [result_id] = project.sleepers(3)
    worker = project.start_worker(reload=True)
    try:
        project.wait_for(result_id, {"RUNNING"})
    finally:
        output = interrupt(worker)
    assert "Watching for file changes" in output, "the worker ran without the reloader"
    time.sleep(4)  # longer than the task would have needed
    assert project.status(result_id) == "RUNNING", output


def test_the_worker_reloads_by_default_while_debug_is_true(project):
    worker = project.start_worker(reload=None)
    try:
        [result_id] = project.shell(
            "from testimonials.tasks import count_words\n"
            "print(count_words.enqueue('under the reloader').id)",
        )
        project.wait_for(result_id, {"SUCCESSFUL"})
    finally:
        output = interrupt(worker)
    assert output.startswith("Watching for file changes with StatReloader"), output


def test_with_debug_false_the_worker_runs_without_reloader_and_stops_gracefully(
    project,
):
    project.override_settings("DEBUG = False\n")
    [result_id] = project.sleepers(1)
    worker = project.start_worker(reload=None)
    try:
        project.wait_for(result_id, {"RUNNING"})
    finally:
        output = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, output
    assert "Starting worker" in output
    assert "Watching for file changes" not in output
    finished = project.task(result_id)
    assert (finished.status, finished.return_value) == ("SUCCESSFUL", 1), output


def test_two_workers_never_run_the_same_task(project):
    """On SQLite, each worker claims a row inside an exclusive transaction:
    two batch workers share 20 tasks, and each row names one worker only."""
    ids = project.sleepers(*[0.2] * 20)
    workers = project.start_workers(2, "--batch", interval="0")
    outputs = [stop(worker, timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    rows = project.tasks()
    assert len(rows) == len(ids) == 20
    assert {row.status for row in rows} == {"SUCCESSFUL"}
    owners = [row.worker_ids for row in rows]
    assert all(len(names) == 1 for names in owners), owners
    assert {names[0] for names in owners} == {"worker-1", "worker-2"}, (
        "both workers must have taken part"
    )
