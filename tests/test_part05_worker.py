"""Part 5 with real worker processes: the log, its verbosity, a bad receiver.

Each test works on a copy of stage 5 with a file SQLite database, enqueues
from ``manage.py shell`` and runs ``manage.py db_worker`` in a process of
its own, as the reader does. Email goes over SMTP to an aiosmtpd server
this module starts; the copy's settings module only changes the port.
What part 5 says, and these tests check:

- every line of the three loggers starts with the time, the level and the
  logger's name, and appears once;
- ``-v 0`` silences ``django.tasks`` and ``django_tasks_db``, failures
  included, but not the app's loggers; ``-v 2`` adds the ``DEBUG`` lines of
  tasks that tasks enqueue; the worker adds a handler of its own only to a
  logger without one;
- a receiver that raises on ``task_finished`` ends a ``--no-reload``
  worker with the traceback, while under the autoreloader the process stays
  up and runs nothing more until a file changes.
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import screenshots

from proof.processes import clean_env, copy_stage, spawn

TABLE = "django_tasks_database_dbtaskresult"
LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) ([\w.]+): "
)

ADMIN = """
from django.contrib.auth.models import User
User.objects.create_superuser("admin", "admin@example.com")
"""

# A notification whose testimonial is gone, then a word count.
FAILURE_THEN_SUCCESS = """
from django.contrib.auth.models import User
from testimonials.models import Testimonial
from testimonials.tasks import count_words, enqueue_notification
gone = Testimonial.objects.create(author=User.objects.get(), title="Gone", text="x")
print(enqueue_notification(gone.pk).id)
gone.delete()
print(count_words.enqueue("one two three").id)
"""

CARELESS_RECEIVER = """

@receiver(task_finished)
def careless_receiver(sender, task_result, **kwargs):
    raise RuntimeError("a bug in a receiver")
"""


@pytest.fixture(scope="module")
def inbox():
    with screenshots.smtp_server() as port:
        yield port


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, inbox):
    """Stage 5, migrated, with the admin; each test works on a copy."""
    folder = copy_stage(5, tmp_path_factory.mktemp("stage05") / "community")
    (folder / "screenshot_settings.py").write_text(
        screenshots.SETTINGS.format(port=inbox)
    )
    screenshots.manage(folder, "migrate", "--verbosity", "0")
    screenshots.manage(folder, "shell", "--verbosity", "0", "--command", ADMIN)
    return folder


@pytest.fixture
def project(migrated, tmp_path):
    return shutil.copytree(migrated, tmp_path / "community")


def shell(project, code):
    output = screenshots.manage(project, "shell", "--verbosity", "0", "--command", code)
    return [line for line in output.splitlines() if not LINE.match(line)]


def worker(project, *options, settings="screenshot_settings"):
    """A batch worker; returns (stdout, stderr)."""
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--batch",
            "--no-reload",
            "--no-startup-delay",
            "--queue-name",
            "*",
            *options,
        ],
        cwd=project,
        env=clean_env(DJANGO_SETTINGS_MODULE=settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, done.stderr


def status(project, result_id):
    with sqlite3.connect(project / "db.sqlite3") as connection:
        [(value,)] = connection.execute(
            f"SELECT status FROM {TABLE} WHERE id = ?", (result_id.replace("-", ""),)
        )
    return value


def logged(text):
    """(level, logger, message) of each log line; other lines are left out."""
    return [
        (m.group(1), m.group(2), line[m.end() :])
        for line in text.splitlines()
        if (m := LINE.match(line))
    ]


def test_the_log_has_time_level_and_logger_and_shows_a_failure_once(project):
    failed, counted = shell(project, FAILURE_THEN_SUCCESS)
    stdout, stderr = worker(project)

    assert stdout == "", "the worker printed to its own standard output"
    lines = logged(stderr)
    loggers = {name for _, name, _ in lines}
    assert loggers == {"django.tasks", "django_tasks_db", "testimonials.signals"}, (
        loggers
    )
    assert (
        "ERROR",
        "django.tasks",
        f"Task id={failed} path=testimonials.tasks.notify_staff_about_testimonial "
        "state=FAILED",
    ) in lines
    assert (
        "INFO",
        "django.tasks",
        f"Task id={counted} path=testimonials.tasks.count_words state=SUCCESSFUL",
    ) in lines
    # Once each: nothing reaches Django's own console handler as well.
    assert stderr.count(f"Task id={failed}") == 2, stderr
    assert stderr.count("Traceback (most recent call last):") == 1, stderr
    assert (
        "Testimonial.DoesNotExist: Testimonial matching query does not exist." in stderr
    )
    # The notification (priority 10) ran before the word count.
    assert stderr.index(f"Task id={failed}") < stderr.index(f"Task id={counted}")


def test_verbosity_0_hides_even_failures_but_not_the_apps_lines(project):
    failed, counted = shell(project, FAILURE_THEN_SUCCESS)
    stdout, stderr = worker(project, "-v", "0")

    assert (
        status(project, failed) == "FAILED" and status(project, counted) == "SUCCESSFUL"
    )
    loggers = {name for _, name, _ in logged(stderr)}
    assert loggers == {"testimonials.signals"}, stderr
    assert "FAILED" not in stderr and "Traceback" not in stderr
    assert "notify_staff_about_testimonial reached a worker in " in stderr


def test_verbosity_2_logs_the_tasks_a_task_enqueues(project):
    shell(project, "from testimonials.tasks import send_digest\nsend_digest.enqueue()")

    _, quiet = worker(project, "-v", "1")
    assert not [line for line in logged(quiet) if line[0] == "DEBUG"], quiet
    assert "path=testimonials.tasks.send_digest_batch state=SUCCESSFUL" in quiet

    shell(project, "from testimonials.tasks import send_digest\nsend_digest.enqueue()")
    _, loud = worker(project, "-v", "2")
    debug = [message for level, _, message in logged(loud) if level == "DEBUG"]
    assert len(debug) == 1, loud
    assert re.fullmatch(
        r"Task id=\S+ path=testimonials\.tasks\.send_digest_batch"
        r" enqueued backend=default",
        debug[0],
    ), debug


def test_the_worker_adds_its_own_handler_only_to_a_logger_without_one(project):
    """Without the part's LOGGING: the worker's lines reach its standard
    output through a handler it added, the task lines Django's console
    handler on standard error, both without the time."""
    (project / "no_logging_settings.py").write_text(
        "from screenshot_settings import *  # noqa: F403\nLOGGING = {}\n"
    )
    shell(
        project,
        "from testimonials.tasks import count_words\ncount_words.enqueue('a b')",
    )
    stdout, stderr = worker(project, settings="no_logging_settings")

    assert stdout.startswith("Starting worker worker_id="), stdout
    assert "No more tasks to run" in stdout
    assert re.search(
        r"^Task id=\S+ path=testimonials\.tasks\.count_words state=SUCCESSFUL$",
        stderr,
        re.M,
    ), stderr
    assert not logged(stdout + stderr)


def start_worker(project, *options):
    return spawn(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", *options],
        cwd=project,
        env=clean_env(DJANGO_SETTINGS_MODULE="screenshot_settings"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_a_raising_receiver_ends_a_worker_without_the_reloader(project):
    with open(project / "testimonials" / "signals.py", "a") as f:
        f.write(CARELESS_RECEIVER)
    first, second = shell(
        project,
        """
from testimonials.tasks import count_words
print(count_words.enqueue("first").id)
print(count_words.enqueue("second").id)
""",
    )
    process = start_worker(project, "--no-reload")
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 1, output
    assert output.rstrip().endswith("RuntimeError: a bug in a receiver"), output
    assert (
        f"Task id={first} path=testimonials.tasks.count_words state=SUCCESSFUL"
        in output
    )
    assert status(project, first) == "FAILED"
    assert status(project, second) == "READY"


def test_under_the_reloader_a_raising_receiver_leaves_a_worker_that_runs_nothing(
    project,
):
    with open(project / "testimonials" / "signals.py", "a") as f:
        f.write(CARELESS_RECEIVER)
    first, second = shell(
        project,
        """
from testimonials.tasks import count_words
print(count_words.enqueue("first").id)
print(count_words.enqueue("second").id)
""",
    )
    process = start_worker(project)  # DEBUG is True: --reload by default
    try:
        deadline = time.monotonic() + 30
        while status(project, first) != "FAILED" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status(project, first) == "FAILED"
        time.sleep(4)  # four times the worker's interval
        assert process.poll() is None, "the worker's process ended"
        assert status(project, second) == "READY", "the worker went on"
        # A changed file restarts the worker, which takes the next task (and
        # fails it, since the receiver is still there).
        (project / "testimonials" / "signals.py").touch()
        deadline = time.monotonic() + 30
        while status(project, second) == "READY" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status(project, second) == "FAILED"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "Watching for file changes with StatReloader" in output
    assert "Exception in thread django-main-thread:" in output, output
    assert output.count("RuntimeError: a bug in a receiver") >= 2
