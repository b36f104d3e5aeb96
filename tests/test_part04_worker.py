"""Part 4 with real workers: queues, priorities, start times, the long job.

Each test works on a copy of stage 4 with a file SQLite database, enqueues
from ``manage.py shell`` and runs ``manage.py db_worker`` in processes of
its own, as the reader does. Email goes over SMTP, as in the stage, to an
aiosmtpd server this test starts; the copy's settings module only changes
the port. Result rows are read from the SQLite file.
"""

import math
import os
import signal
import socket
import time
from collections import Counter
from datetime import datetime
from email import message_from_bytes

import pytest

from proof.paths import seen
from proof.processes import free_port
from proof.project import Project, stop

# The stage has no coroutine task: the async test adds this module to its
# copy of the project, never to the stage.
ASYNC_TASK = """
from django.tasks import task

from .models import Testimonial


@task
async def count_titles_with(word):
    return await Testimonial.objects.filter(title__icontains=word).acount()
"""

# A staff account, a member and their pending testimonial, in the shell.
PEOPLE = """
from django.contrib.auth.models import User
from testimonials.models import Testimonial
User.objects.create_superuser("admin", "admin@example.com")
member = User.objects.create_user("member", "member@example.com")
testimonial = Testimonial.objects.create(
    author=member, title="Kind folks", text="Thanks"
)
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """Stage 4, migrated once; each test works on a copy of this copy."""
    project = Project.copy(4, tmp_path_factory.mktemp("stage04") / "community")
    project.manage("migrate", "--verbosity", "0")
    return project


@pytest.fixture
def project(migrated, tmp_path, inbox):
    return migrated.clone(tmp_path / "community").send_email_to(inbox.port)


def worker(project, *options):
    """A batch worker, as the reader runs it; returns its output."""
    return project.run_worker(*options).output


def test_a_worker_serves_only_the_queues_it_is_given(project, inbox):
    """The notification waits in "emails" until a worker for "emails" runs.

    A worker started without --queue-name serves "default" only, and one for
    every queue except "emails" leaves it too; both run the default-queue
    task next to it, so they did work. --exclude-queues without "*" is an
    error. Then a worker for "emails" sends the email.
    """
    notification, first_count = project.shell(
        PEOPLE
        + """
from testimonials.tasks import count_words, enqueue_notification
print(enqueue_notification(testimonial.pk).id)
print(count_words.enqueue("one two").id)
""",
    )

    output = worker(project)
    assert "queues=default" in output
    assert project.status(first_count) == "SUCCESSFUL", output
    assert project.status(notification) == "READY", output

    [second_count] = project.shell(
        "from testimonials.tasks import count_words\n"
        "print(count_words.enqueue('three').id)",
    )
    output = worker(project, "--queue-name", "*", "--exclude-queues", "emails")
    assert project.status(second_count) == "SUCCESSFUL", output
    assert project.status(notification) == "READY", output

    refused = project.run_worker("--exclude-queues", "emails", check=False)
    assert refused.returncode == 1
    assert (
        "CommandError: --exclude-queues can only be used with --queue-name=*"
        in refused.output
    )
    assert project.status(notification) == "READY"
    assert inbox.envelopes == []

    output = worker(project, "--queue-name", "emails")
    assert "queues=emails" in output
    assert project.status(notification) == "SUCCESSFUL", output
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["admin@example.com"]
    assert inbox.subjects() == ["New testimonial: Kind folks"]


def test_the_notification_overtakes_digest_batches_enqueued_before_it(project, inbox):
    """Priority 10 beats -10: a worker allowed one task takes the notification,
    although three digest batches waited in the same queue before it."""
    *batches, notification = project.shell(
        PEOPLE
        + """
from testimonials.tasks import enqueue_notification, send_digest_batch
for _ in range(3):
    print(send_digest_batch.enqueue([member.pk], []).id)
print(enqueue_notification(testimonial.pk).id)
""",
    )
    assert len(batches) == 3

    output = worker(project, "--max-tasks", "1", "--queue-name", "emails")
    assert "Run maximum tasks (1)" in output
    assert project.status(notification) == "SUCCESSFUL", output
    assert [project.status(b) for b in batches] == ["READY"] * 3, output
    assert inbox.subjects() == ["New testimonial: Kind folks"]


def test_a_task_with_run_after_waits_for_its_time(project, inbox):
    """A reminder due in 4 seconds: a worker before then leaves it READY,
    a worker after then runs it and the staff get the reminder."""
    reminder, due = project.shell(
        PEOPLE
        + """
from datetime import timedelta
from django.utils import timezone
from testimonials.tasks import remind_staff_to_review
reminder = remind_staff_to_review.using(
    run_after=timezone.now() + timedelta(seconds=4)
).enqueue(testimonial.pk)
print(reminder.id)
print(reminder.task.run_after.timestamp())
""",
    )
    due = float(due)

    output = worker(project, "--queue-name", "emails")
    early_by = due - time.time()
    assert project.status(reminder) == "READY", (
        f"{output}\n(the worker ended {early_by:.2f} s before the reminder was due)"
    )
    assert inbox.envelopes == []

    time.sleep(max(0, due - time.time()) + 0.1)
    output = worker(project, "--queue-name", "emails")
    assert project.status(reminder) == "SUCCESSFUL", output
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["admin@example.com"]
    assert inbox.subjects() == ["Still waiting for review: Kind folks"]


MEMBERS = 160  # with admin; in batches of 50, that is 4 batches


def test_the_digest_shows_its_progress_and_reaches_every_member_once(project, inbox):
    """The long job, split: after three tasks, the plan and two batches are
    done, which digest_progress() reports and the worker's log shows; a
    second worker sends the rest, one email per batch, each member once."""
    batches = math.ceil(MEMBERS / 50)
    [digest] = project.shell(
        PEOPLE
        + f"""
User.objects.bulk_create(
    User(username=f"member{{n}}", email=f"member{{n}}@example.com")
    for n in range(1, {MEMBERS - 1})
)
User.objects.create_user("gone", "gone@example.com", is_active=False)
User.objects.create_user("no-email")
from testimonials.tasks import send_digest
print(send_digest.enqueue().id)
""",
    )
    progress = (
        "from testimonials.tasks import digest_progress\n"
        f"print(digest_progress({digest!r}))"
    )
    assert project.shell(progress) == ["None"]

    output = worker(project, "--max-tasks", "3", "--queue-name", "*")
    assert (
        f"Digest {digest}, attempt 1: {MEMBERS} members in {batches} batches" in output
    )
    assert output.count("Digest sent to 50 members") == 2, output
    assert "Run maximum tasks (3)" in output
    assert project.shell(progress) == [f"(2, {batches})"]
    assert len(inbox.envelopes) == 2

    output = worker(project, "--queue-name", "*")
    assert project.shell(progress) == [f"({batches}, {batches})"], output

    assert len(inbox.envelopes) == batches
    received = Counter(address for e in inbox.envelopes for address in e.rcpt_tos)
    expected = {"admin@example.com", "member@example.com"} | {
        f"member{n}@example.com" for n in range(1, MEMBERS - 1)
    }
    assert len(expected) == MEMBERS
    assert set(received) == expected
    assert set(received.values()) == {1}, "someone got the digest twice"
    for envelope in inbox.envelopes:
        headers = message_from_bytes(envelope.content)
        assert headers["Subject"] == "What our members say"
        assert (
            headers["To"] is None and headers["Cc"] is None and headers["Bcc"] is None
        )


def test_the_database_backend_runs_a_coroutine_task(project):
    """An ``async def`` task, enqueued and run by a batch worker, succeeds
    with the value its awaited database query returned."""
    project.write("testimonials/proof_async.py", ASYNC_TASK)
    [result_id] = project.shell(
        PEOPLE
        + """
Testimonial.objects.create(author=member, title="Kind again", text="x")
Testimonial.objects.create(author=member, title="Rude", text="x")
from testimonials.proof_async import count_titles_with
print(count_titles_with.enqueue("kind").id)
""",
    )

    output = worker(project)
    path = "testimonials.proof_async.count_titles_with"
    finished = f"Task id={result_id} path={path} state=SUCCESSFUL"
    assert finished in output, output
    done = project.task(result_id)
    assert (done.status, done.return_value) == ("SUCCESSFUL", 2)


# Settings in which the backend knows only the "default" queue, as before
# part 4 added "emails" to it.
ONE_QUEUE = """
from proof_email import *  # noqa: F403

TASKS = {{
    "default": {{
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": {queues!r},
    }},
}}
"""

INVALID = seen(
    "django.tasks.exceptions.InvalidTask: Queue 'emails' is not valid for backend."
)


def answers(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition, timeout=30, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_queue_missing_from_queues_stops_db_worker_but_not_runserver(project):
    """db_worker (and runserver --noreload) exit at once; runserver under its
    reloader prints the traceback, serves nothing, and serves once the
    mistake is fixed."""
    settings = project.write(
        "one_queue_settings.py", ONE_QUEUE.format(queues=["default"])
    )
    project.settings = "one_queue_settings"

    stopped = project.manage("db_worker", check=False, timeout=60)
    assert stopped.returncode == 1
    assert INVALID in stopped.output
    assert "Starting worker" not in stopped.output

    port = free_port()
    stopped = project.manage("runserver", "--noreload", str(port), check=False)
    assert stopped.returncode == 1
    assert INVALID in stopped.output

    log = project.folder / "runserver.log"
    with open(log, "w") as output:
        server = project.start("manage.py", "runserver", str(port), output=output)
    try:
        wait_until(lambda: INVALID in log.read_text(), what="the traceback")
        time.sleep(1.5)
        assert server.poll() is None, log.read_text()
        assert not answers(port), "the server must serve nothing"
        assert "Starting development server" not in log.read_text()

        settings.write_text(ONE_QUEUE.format(queues=["default", "emails"]))
        wait_until(lambda: answers(port), what="the server after the fix")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        stop(server)


RELOAD_WARNING = "Warning: --reload and --batch cannot be specified together."


def test_the_reload_warning_of_batch_workers_follows_debug(project):
    """--reload defaults to DEBUG: the warning shows with DEBUG = True, and
    neither with --no-reload nor with DEBUG = False."""
    batch = ("db_worker", "--batch", "--no-startup-delay")
    output = project.manage(*batch).output
    assert RELOAD_WARNING in output
    assert "No more tasks to run" in output
    assert RELOAD_WARNING not in project.manage(*batch, "--no-reload").output

    project.override_settings("DEBUG = False\n")
    output = project.manage(*batch).output
    assert "No more tasks to run" in output
    assert RELOAD_WARNING not in output


def test_queue_name_takes_a_list_and_checks_no_name(project, inbox):
    """A misspelled queue runs and finds nothing; "default,emails" serves both."""
    notification, count = project.shell(
        PEOPLE
        + """
from testimonials.tasks import count_words, enqueue_notification
print(enqueue_notification(testimonial.pk).id)
print(count_words.enqueue("one two").id)
""",
    )
    output = worker(project, "--queue-name", "emials")
    assert "queues=emials" in output
    assert "No more tasks to run" in output
    assert [project.status(notification), project.status(count)] == ["READY"] * 2

    output = worker(project, "--queue-name", "default,emails")
    assert "queues=default,emails" in output
    assert [project.status(notification), project.status(count)] == [
        "SUCCESSFUL",
        "SUCCESSFUL",
    ], output
    assert inbox.subjects() == ["New testimonial: Kind folks"]


SLEEPING_TASK = """
import asyncio

from django.tasks import task


@task
async def nap(seconds):
    await asyncio.sleep(seconds)
    return seconds
"""


def test_the_worker_runs_one_coroutine_task_to_the_end_before_the_next(project):
    project.write("testimonials/proof_nap.py", SLEEPING_TASK)
    first, second = project.shell(
        """
from testimonials.proof_nap import nap
print(nap.enqueue(0.5).id)
print(nap.enqueue(0.5).id)
""",
    )
    output = worker(project)
    rows = sorted((project.task(first), project.task(second)), key=started)
    assert [row.status for row in rows] == ["SUCCESSFUL"] * 2, output
    earlier, later = rows
    assert started(later) >= datetime.fromisoformat(earlier.finished_at), rows


def started(task):
    return datetime.fromisoformat(task.started_at)
