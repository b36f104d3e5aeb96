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

import re
import time

import pytest

from proof.inbox import smtp_inbox
from proof.paths import RELEASE, seen
from proof.project import Project, interrupt, stop

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
def migrated(tmp_path_factory):
    """Stage 5, migrated, with the admin; each test works on a copy."""
    with smtp_inbox() as inbox:
        project = Project.copy(5, tmp_path_factory.mktemp("stage05") / "community")
        project.send_email_to(inbox.port)
        project.manage("migrate", "--verbosity", "0")
        project.shell(ADMIN)
        yield project


def worker(project, *options, settings=None):
    """A batch worker for every queue; returns (stdout, stderr)."""
    done = project.run_worker("--queue-name", "*", *options, settings=settings)
    return done.stdout, done.stderr


def logged(text):
    """(level, logger, message) of each log line; other lines are left out."""
    return [
        (m.group(1), m.group(2), line[m.end() :])
        for line in text.splitlines()
        if (m := LINE.match(line))
    ]


def test_the_log_has_time_level_and_logger_and_shows_a_failure_once(project):
    failed, counted = project.shell(FAILURE_THEN_SUCCESS)
    stdout, stderr = worker(project)

    assert stdout == "", "the worker printed to its own standard output"
    lines = logged(stderr)
    loggers = {name for _, name, _ in lines}
    assert loggers == {
        seen("django.tasks"),
        "django_tasks_db",
        "testimonials.signals",
    }, loggers
    assert (
        "ERROR",
        seen("django.tasks"),
        f"Task id={failed} path=testimonials.tasks.notify_staff_about_testimonial "
        "state=FAILED",
    ) in lines
    assert (
        "INFO",
        seen("django.tasks"),
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
    failed, counted = project.shell(FAILURE_THEN_SUCCESS)
    stdout, stderr = worker(project, "-v", "0")

    assert (
        project.status(failed) == "FAILED" and project.status(counted) == "SUCCESSFUL"
    )
    loggers = {name for _, name, _ in logged(stderr)}
    assert loggers == {"testimonials.signals"}, stderr
    assert "FAILED" not in stderr and "Traceback" not in stderr
    assert "notify_staff_about_testimonial reached a worker in " in stderr


def test_verbosity_2_logs_the_tasks_a_task_enqueues(project):
    project.shell("from testimonials.tasks import send_digest\nsend_digest.enqueue()")

    _, quiet = worker(project, "-v", "1")
    assert not [line for line in logged(quiet) if line[0] == "DEBUG"], quiet
    assert "path=testimonials.tasks.send_digest_batch state=SUCCESSFUL" in quiet

    project.shell("from testimonials.tasks import send_digest\nsend_digest.enqueue()")
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
    project.override_settings("LOGGING = {}\n", module="no_logging_settings")
    project.shell(
        "from testimonials.tasks import count_words\ncount_words.enqueue('a b')",
    )
    stdout, stderr = worker(project)

    assert stdout.startswith("Starting worker worker_id="), stdout
    assert "No more tasks to run" in stdout
    task_line = re.compile(
        r"^Task id=\S+ path=testimonials\.tasks\.count_words state=SUCCESSFUL$", re.M
    )
    if RELEASE == "5.2":
        # The backport's logger, django_tasks, is no child of Django's
        # "django" logger, so it has no handler: the worker gives it its own.
        assert task_line.search(stdout) and not task_line.search(stderr), (
            stdout,
            stderr,
        )
    else:
        assert task_line.search(stderr) and not task_line.search(stdout), (
            stdout,
            stderr,
        )
    assert not logged(stdout + stderr)


def test_a_raising_receiver_ends_a_worker_without_the_reloader(project):
    signals = project.folder / "testimonials" / "signals.py"
    signals.write_text(signals.read_text() + CARELESS_RECEIVER)
    first, second = project.shell(
        """
from testimonials.tasks import count_words
print(count_words.enqueue("first").id)
print(count_words.enqueue("second").id)
""",
    )
    process = project.start_worker()
    output = stop(process, timeout=60)

    assert process.returncode == 1, output
    assert output.rstrip().endswith("RuntimeError: a bug in a receiver"), output
    assert (
        f"Task id={first} path=testimonials.tasks.count_words state=SUCCESSFUL"
        in output
    )
    assert project.status(first) == "FAILED"
    assert project.status(second) == "READY"


def test_under_the_reloader_a_raising_receiver_leaves_a_worker_that_runs_nothing(
    project,
):
    signals = project.folder / "testimonials" / "signals.py"
    signals.write_text(signals.read_text() + CARELESS_RECEIVER)
    first, second = project.shell(
        """
from testimonials.tasks import count_words
print(count_words.enqueue("first").id)
print(count_words.enqueue("second").id)
""",
    )
    process = project.start_worker(reload=None)  # DEBUG is True: it reloads
    try:
        project.wait_for(first, {"FAILED"})
        time.sleep(4)  # twenty times the worker's interval
        assert process.poll() is None, "the worker's process ended"
        assert project.status(second) == "READY", "the worker went on"
        # A changed file restarts the worker, which takes the next task (and
        # fails it, since the receiver is still there).
        signals.touch()
        project.wait_for(second, {"FAILED"})
    finally:
        output = interrupt(process)
    assert "Watching for file changes with StatReloader" in output
    assert "Exception in thread django-main-thread:" in output, output
    assert output.count("RuntimeError: a bug in a receiver") >= 2
