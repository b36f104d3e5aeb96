"""Part 7: production on SQLite, with the DATABASES setting the page shows.

The page's alternative to PostgreSQL, for a small site on one machine: the
SQLite file in WAL mode, and every transaction, the worker's claim of a
task among them, starting with BEGIN IMMEDIATE, which takes the write lock
at once; a process that finds the lock taken waits up to 20 s for it. A copy
of stage 7 runs with mysite.production, the env file, and
:data:`SQLITE_DATABASES` in place of production.py's DATABASES:

- the file is in WAL mode, and each connection has the page's options;
- two workers drain the queue together, each task run once;
- each claim starts with BEGIN IMMEDIATE; with the stage's own SQLite
  settings (no transaction_mode) it is a plain, deferred BEGIN, although
  django-tasks-db asks for an exclusive one: it asks the connection it
  closed the moment before, and Django opening it again resets the mode
  from OPTIONS.
"""

import sqlite3

import pytest

from proof.production import ProductionProject, sqlite_settings_shown
from proof.project import check_a_stop_lets_the_running_task_finish, stop

SQLITE_DATABASES = sqlite_settings_shown()

# Django's SQL log, which it writes while DEBUG is on.
SQL_LOG = """
DEBUG = True
LOGGING["loggers"]["django.db.backends"] = {"handlers": ["console"], "level": "DEBUG"}
"""

QUEUES = ("--queue-name", "*", "--exclude-queues", "emails")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    project = ProductionProject.copy(
        tmp_path_factory.mktemp("part07-sqlite") / "community"
    )
    project.override_settings(SQLITE_DATABASES, module="proof_sqlite")
    project.add_slow_tasks()
    project.manage("migrate", "--verbosity", "0")
    return project


def test_the_file_is_in_wal_mode_with_the_pages_options(project):
    with sqlite3.connect(project.database.path) as connection:
        # WAL mode is the file's own: any program opening it finds it.
        assert connection.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    [line] = project.shell(
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    values = [cursor.execute(f'PRAGMA {name}').fetchone()[0]\n"
        "              for name in ('journal_mode', 'synchronous', 'busy_timeout')]\n"
        "print(*values, connection.transaction_mode)"
    )
    # synchronous 1 is NORMAL; the timeout in milliseconds.
    assert line == "wal 1 20000 IMMEDIATE"


def test_two_workers_drain_the_queue_each_task_once(project):
    count = 60
    ids = project.records(count, 0.03)
    workers = project.start_workers(2, *QUEUES, "--batch", interval="0")
    outputs = [stop(worker, timeout=120) for worker in workers]

    assert [w.returncode for w in workers] == [0, 0], outputs
    rows = [project.task(result_id) for result_id in ids]
    assert {row.status for row in rows} == {"SUCCESSFUL"}, outputs
    assert all(len(row.worker_ids) == 1 for row in rows)
    assert sorted(project.recorded()) == list(range(count)), "each once"
    by_worker = {
        w: sum(row.worker_ids == [w] for row in rows) for w in ("worker-1", "worker-2")
    }
    assert all(by_worker.values()), f"one worker ran every task: {by_worker}"


def claim_begins(output):
    """The BEGIN statements Django logged once the worker started, as sent."""
    _, started, worker = output.partition("INFO django_tasks_db: Starting worker")
    assert started, output
    return [
        line.split(") ", 1)[1].split(";", 1)[0]
        for line in worker.splitlines()
        if "django.db.backends:" in line and ") BEGIN" in line
    ]


@pytest.mark.parametrize(
    "settings, begin",
    [(SQLITE_DATABASES, "BEGIN IMMEDIATE"), ("", "BEGIN")],
    ids=["pages-settings", "stage-settings"],
)
def test_each_claim_begins_with(tmp_path, settings, begin):
    """The claim's transaction, in the worker's SQL log: with the page's
    settings it takes the write lock at BEGIN."""
    project = ProductionProject.copy(tmp_path / "community")
    if settings:
        project.override_settings(settings, module="proof_sqlite")
    else:
        # The stage's development DATABASES, as settings.py has it.
        project.override_settings(
            "from mysite.settings import DATABASES  # noqa: F401, E402\n",
            module="proof_sqlite",
        )
    project.manage("migrate", "--verbosity", "0")
    project.shell(
        "from testimonials.tasks import count_words\n"
        "for text in ['one', 'two words']:\n"
        "    count_words.enqueue(text)"
    )
    project.override_settings(SQL_LOG)
    done = project.run_worker(*QUEUES)
    begins = claim_begins(done.stderr)
    # Two tasks, then the look that finds none: three claims.
    assert begins == [begin] * 3, done.explain()
    assert [row.status for row in project.tasks()] == ["SUCCESSFUL"] * 2


def test_the_workers_stop_as_on_postgresql(project):
    """A SIGTERM still lets the running task finish."""
    check_a_stop_lets_the_running_task_finish(project, *QUEUES)
