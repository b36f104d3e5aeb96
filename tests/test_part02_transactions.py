"""Part 2's "Why on_commit?", with a real worker in a process of its own.

On a copy of stage 2 with its file SQLite database, a driver process saves a
testimonial and enqueues its notification directly inside ``atomic()``
(no ``on_commit()``), then keeps the transaction open until the test tells
it to commit or to roll back. Meanwhile the test looks at the queue from
other processes, as a worker would:

- with django-tasks-db on the same database, nothing outside the
  transaction sees the task before the commit, the worker runs it after the
  commit, and a rollback removes it;
- with the task table in another database (another alias), the worker runs
  the task at once, before the testimonial is committed, and the task stays
  queued when the transaction rolls back: the race that ``on_commit()``
  prevents.
"""

import select
import subprocess

import pytest

from proof.project import Project

DRIVER = """
import sys

import django

django.setup()

from django.contrib.auth import get_user_model
from django.db import transaction

from testimonials.models import Testimonial
from testimonials.tasks import notify_staff_about_testimonial


class RolledBack(Exception):
    pass


try:
    with transaction.atomic():
        testimonial = Testimonial.objects.create(
            author=get_user_model().objects.get(username="admin"),
            title="Sent from inside",
            text="A transaction that is still open.",
        )
        result = notify_staff_about_testimonial.enqueue(testimonial.pk)
        print("enqueued", result.id, flush=True)
        if sys.stdin.readline().strip() == "rollback":
            raise RolledBack
except RolledBack:
    print("rolled back", flush=True)
else:
    print("committed", flush=True)
"""

# The task table in a database of its own, behind a router.
OTHER_ALIAS_SETTINGS = """
DATABASES = {
    **DATABASES,  # noqa: F405
    "tasks": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "tasks.sqlite3",  # noqa: F405
    },
}
DATABASE_ROUTERS = ["other_alias_settings.TasksRouter"]


class TasksRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label == "django_tasks_database":
            return "tasks"
        return None

    db_for_write = db_for_read

    def allow_migrate(self, db, app_label, **hints):
        return db == ("tasks" if app_label == "django_tasks_database" else "default")
"""

COUNT_TASKS = (
    "from django_tasks_db.models import DBTaskResult\n"
    "print('tasks:', list(DBTaskResult.objects.values_list('status', flat=True)))"
)


def tasks_seen_from_outside(project):
    """The statuses of the task rows, as another connection sees them."""
    [line] = [line for line in project.shell(COUNT_TASKS) if line.startswith("tasks:")]
    return line


def batch_worker(project):
    """A batch worker in the background: it ends when nothing is due."""
    return project.start_worker("--batch")


def read_line(process, timeout=60):
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the driver said nothing in time"
    return process.stdout.readline().strip()


def tell(driver, answer):
    """Answer the driver (commit or rollback); what it says next."""
    driver.stdin.write(answer + "\n")
    driver.stdin.flush()
    return read_line(driver)


def finish(process, timeout=60):
    output, _ = process.communicate(timeout=timeout)
    return output


def make_project(tmp_path, other_alias=False):
    project = Project.copy(2, tmp_path / "community")
    project.write("driver.py", DRIVER)
    project.manage("migrate", "--verbosity", "0")
    if other_alias:
        project.override_settings(OTHER_ALIAS_SETTINGS, module="other_alias_settings")
        project.manage("migrate", "--database", "tasks", "--verbosity", "0")
    project.create_superuser()
    return project


@pytest.fixture
def same_database(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def other_alias(tmp_path):
    return make_project(tmp_path, other_alias=True)


def test_the_worker_runs_the_task_only_after_the_commit(same_database):
    project = same_database
    driver = project.start("driver.py", stdin=subprocess.PIPE)
    try:
        assert read_line(driver).startswith("enqueued ")
        # While the transaction is open, other connections see no task...
        assert tasks_seen_from_outside(project) == "tasks: []"
        # ...and a worker finds nothing to run, and exits.
        before = finish(batch_worker(project))
        assert "state=" not in before and "No more tasks to run" in before, before

        assert tell(driver, "commit") == "committed"
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()

    assert tasks_seen_from_outside(project) == "tasks: ['READY']"
    after = finish(batch_worker(project))
    assert "state=SUCCESSFUL" in after, after
    assert "Subject: New testimonial: Sent from inside" in after, after


def test_a_rollback_leaves_the_worker_nothing(same_database):
    project = same_database
    driver = project.start("driver.py", stdin=subprocess.PIPE)
    assert read_line(driver).startswith("enqueued ")
    assert tell(driver, "rollback") == "rolled back"
    driver.wait(timeout=30)

    assert tasks_seen_from_outside(project) == "tasks: []"
    output = project.run_worker().output
    assert "state=" not in output and "No more tasks to run" in output, output


def test_tasks_in_another_database_race_the_transaction(other_alias):
    project = other_alias
    driver = project.start("driver.py", stdin=subprocess.PIPE)
    try:
        assert read_line(driver).startswith("enqueued ")
        # The row was committed on its own: everyone sees it at once...
        assert tasks_seen_from_outside(project) == "tasks: ['READY']"
        # ...and a worker runs the task before the testimonial is committed.
        output = finish(batch_worker(project))
        assert "state=FAILED" in output, output
        assert "Testimonial matching query does not exist" in output, output

        assert tell(driver, "rollback") == "rolled back"
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()

    # The rollback took the testimonial, and left the task.
    assert tasks_seen_from_outside(project) == "tasks: ['FAILED']"
    count = project.shell(
        "from testimonials.models import Testimonial\n"
        "print('testimonials', Testimonial.objects.count())",
    )
    assert count == ["testimonials 0"], count
