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
import sys

import pytest

from proof.processes import clean_env, copy_stage

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
from mysite.settings import *  # noqa: F403

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


class Project:
    def __init__(self, folder, settings):
        self.folder = folder
        self.settings = settings

    def env(self):
        return clean_env(DJANGO_SETTINGS_MODULE=self.settings)

    def manage(self, *args):
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.folder,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    def tasks_seen_from_outside(self):
        """The statuses of the task rows, as another connection sees them."""
        [line] = [
            line
            for line in self.manage("shell", "--command", COUNT_TASKS).splitlines()
            if line.startswith("tasks:")
        ]
        return line

    def start(self, *args, stdin=None):
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=self.folder,
            env=self.env(),
            text=True,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def start_worker(self):
        return self.start(
            "manage.py",
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
            "--interval",
            "0.2",
        )


def read_line(process, timeout=60):
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the driver said nothing in time"
    return process.stdout.readline().strip()


def finish(process, timeout=60):
    output, _ = process.communicate(timeout=timeout)
    return output


def make_project(tmp_path, settings="mysite.settings"):
    folder = copy_stage(2, tmp_path / "community")
    (folder / "driver.py").write_text(DRIVER)
    (folder / "other_alias_settings.py").write_text(OTHER_ALIAS_SETTINGS)
    project = Project(folder, settings)
    project.manage("migrate", "--verbosity", "0")
    if settings != "mysite.settings":
        project.manage("migrate", "--database", "tasks", "--verbosity", "0")
    project.manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
    )
    return project


@pytest.fixture
def same_database(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def other_alias(tmp_path):
    return make_project(tmp_path, "other_alias_settings")


def test_the_worker_runs_the_task_only_after_the_commit(same_database):
    project = same_database
    driver = project.start("driver.py", stdin=subprocess.PIPE)
    try:
        assert read_line(driver).startswith("enqueued ")
        # While the transaction is open, other connections see no task...
        assert project.tasks_seen_from_outside() == "tasks: []"
        # ...and a worker finds nothing to run, and exits.
        before = finish(project.start_worker())
        assert "state=" not in before and "No more tasks to run" in before, before

        driver.stdin.write("commit\n")
        driver.stdin.flush()
        assert read_line(driver) == "committed"
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()

    assert project.tasks_seen_from_outside() == "tasks: ['READY']"
    after = finish(project.start_worker())
    assert "state=SUCCESSFUL" in after, after
    assert "Subject: New testimonial: Sent from inside" in after, after


def test_a_rollback_leaves_the_worker_nothing(same_database):
    project = same_database
    driver = project.start("driver.py", stdin=subprocess.PIPE)
    assert read_line(driver).startswith("enqueued ")
    driver.stdin.write("rollback\n")
    driver.stdin.flush()
    assert read_line(driver) == "rolled back"
    driver.wait(timeout=30)

    assert project.tasks_seen_from_outside() == "tasks: []"
    output = project.manage("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert "state=" not in output and "No more tasks to run" in output, output


def test_tasks_in_another_database_race_the_transaction(other_alias):
    project = other_alias
    driver = project.start("driver.py", stdin=subprocess.PIPE)
    try:
        assert read_line(driver).startswith("enqueued ")
        # The row was committed on its own: everyone sees it at once...
        assert project.tasks_seen_from_outside() == "tasks: ['READY']"
        # ...and a worker runs the task before the testimonial is committed.
        output = finish(project.start_worker())
        assert "state=FAILED" in output, output
        assert "Testimonial matching query does not exist" in output, output

        driver.stdin.write("rollback\n")
        driver.stdin.flush()
        assert read_line(driver) == "rolled back"
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()

    # The rollback took the testimonial, and left the task.
    assert project.tasks_seen_from_outside() == "tasks: ['FAILED']"
    count = project.manage(
        "shell",
        "--command",
        "from testimonials.models import Testimonial\n"
        "print('testimonials', Testimonial.objects.count())",
    )
    assert "testimonials 0" in count, count
