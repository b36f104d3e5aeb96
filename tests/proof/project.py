"""A copy of the reader's project, run in processes as the reader runs it.

Every test that starts the reader's project (the end-to-end tests of each
part, the screenshot script) does it through :class:`Project`::

    project = Project.copy(4, tmp_path / "community")
    project.send_email_to(inbox.port)
    project.manage("migrate", "--verbosity", "0")
    [result_id] = project.shell("... print(count_words.enqueue('a b').id)")
    worker = project.start_worker()
    project.wait_for(result_id, {"SUCCESSFUL"})
    output = stop(worker, signal.SIGTERM)

A project is a folder (a copy of ``tutorial_project/stageNN`` without its
generated files), the settings module its commands run with, and the
database its tasks table lives in, which the test reads directly, the way a
second terminal with ``dbshell`` would, so that watching a task never starts
Django. Settings that differ from the stage's (an SMTP port, another
database) go into a small module next to ``manage.py`` that imports the
stage's settings first: the stage itself is never changed.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .paths import NOISE_DIRS, NOISE_FILES, RELEASE, stage_dir
from .processes import clean_env, free_port, spawn

# The tasks table: django-tasks-db's app label is django_tasks_database.
TASKS_TABLE = "django_tasks_database_dbtaskresult"

# The columns of a task's row that tests read.
TASK_COLUMNS = (
    "status",
    "return_value",
    "exception_class_path",
    "worker_ids",
    "started_at",
    "finished_at",
)

# The stage's settings module, and the module that points a copy at a
# database other than the stage's SQLite file (the first override).
STAGE_SETTINGS = "mysite.settings"
DATABASE_MODULE = "proof_database"

# Tasks that take a while, for tests that need one still running when they
# act: the stages' tasks all return at once. Tests add the module to their
# copy (add_slow_tasks()), never to a stage.
SLOW_MODULE = "testimonials/proof_slow.py"
SLOW_TASKS = """
import time
from pathlib import Path

from django.conf import settings
from django.tasks import task


@task
def sleep(seconds):
    time.sleep(seconds)
    return seconds


@task
def record(number, seconds):
    \"\"\"Write down that this task ran, then take a while.\"\"\"
    with open(Path(settings.BASE_DIR) / "ran.txt", "a") as ran:
        ran.write(f"{number}\\n")
    time.sleep(seconds)
    return number
"""

# A worker that polls often, so that tests wait less for it.
WORKER_INTERVAL = "0.2"


def copy_stage(number, target):
    """Copy stage *number* to *target*, without generated files."""
    shutil.copytree(
        stage_dir(number),
        target,
        ignore=shutil.ignore_patterns(*NOISE_DIRS, *NOISE_FILES),
    )
    return Path(target)


@dataclass
class Done:
    """A command that ran to its end."""

    argv: list
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self):
        return self.stdout + self.stderr

    def explain(self):
        return (
            f"$ {' '.join(self.argv)}\n(exit status {self.returncode})\n{self.output}"
        )


@dataclass(frozen=True)
class Task:
    """A row of the tasks table: its JSON columns (``return_value``,
    ``worker_ids``) as Python values, whichever database holds them."""

    status: str
    return_value: str | None
    exception_class_path: str
    worker_ids: list
    started_at: str | None
    finished_at: str | None


class SQLiteFile:
    """The project's SQLite file, ``db.sqlite3`` next to ``manage.py``."""

    placeholder = "?"
    # SQLite gives JSON columns back as their text.
    json_as_text = True

    def __init__(self, folder):
        self.path = Path(folder) / "db.sqlite3"

    def for_copy(self, folder):
        return SQLiteFile(folder)

    def settings(self):
        """The settings lines that select this database: the stage's own."""
        return ""

    def key(self, result_id):
        # Django stores a UUID in SQLite as 32 hex digits.
        return result_id.replace("-", "")

    def query(self, sql, params=()):
        with sqlite3.connect(self.path, timeout=30) as connection:
            return connection.execute(sql, params).fetchall()


class Project:
    """A folder holding a copy of the reader's project, and how to run it."""

    def __init__(self, folder, settings=STAGE_SETTINGS, database=None):
        self.folder = Path(folder)
        self.settings = settings
        self.database = database or SQLiteFile(self.folder)

    @classmethod
    def copy(cls, stage, target, database=None):
        """A copy of stage *stage* in *target*, on *database* (SQLite by default).

        A database other than the stage's gets its settings module at once.
        """
        project = cls(copy_stage(stage, target), database=database)
        if lines := project.database.settings():
            project.override_settings(lines, module=DATABASE_MODULE)
        return project

    def clone(self, target):
        """A copy of this copy, for one test: its files, and a copy of its
        database (of the SQLite file, or of the PostgreSQL database)."""
        shutil.copytree(self.folder, target)
        clone = Project(target, self.settings, self.database.for_copy(target))
        if lines := clone.database.settings():
            clone.write(
                f"{DATABASE_MODULE}.py",
                f"from {STAGE_SETTINGS} import *  # noqa: F403\n\n{lines}",
            )
        return clone

    # -- files and settings ----------------------------------------------------

    def write(self, relative, text):
        """Add (or replace) a file of this copy; the stage is never changed.

        In a release pass the text goes through the release's rules first,
        as the stage's own files did (so ``django.tasks`` becomes the
        backport's ``django_tasks`` on Django 5.2).
        """
        path = self.folder / relative
        if RELEASE:
            import variants

            text = variants.transform(Path(relative).as_posix(), text, RELEASE)
        path.write_text(text)
        return path

    def add_slow_tasks(self):
        """Add SLOW_TASKS to this copy, as testimonials.proof_slow."""
        self.write(SLOW_MODULE, SLOW_TASKS)
        return self

    def sleepers(self, *seconds):
        """Enqueue one ``sleep`` task per duration; their result ids."""
        return self.shell(
            "from testimonials.proof_slow import sleep\n"
            f"for seconds in {list(seconds)!r}:\n"
            "    print(sleep.enqueue(seconds).id)"
        )

    def records(self, count, seconds):
        """Enqueue *count* ``record`` tasks (numbered from 0); their ids."""
        return self.shell(
            "from testimonials.proof_slow import record\n"
            f"for number in range({count}):\n"
            f"    print(record.enqueue(number, {seconds!r}).id)"
        )

    def recorded(self):
        """The numbers of the ``record`` tasks that ran, in the order they ran."""
        ran = self.folder / "ran.txt"
        return [int(n) for n in ran.read_text().split()] if ran.exists() else []

    def override_settings(self, lines, module="proof_settings"):
        """Run from now on with the current settings, changed by *lines*."""
        self.write(
            f"{module}.py", f"from {self.settings} import *  # noqa: F403\n\n{lines}"
        )
        self.settings = module
        return self

    def send_email_to(self, port):
        """Send the project's email to an SMTP server on 127.0.0.1:*port*.

        The variants for releases before 6.1 configure email with the
        EMAIL_* settings (tutorial_project/variants/rules.toml).
        """
        if RELEASE:
            return self.override_settings(
                'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\n'
                f'EMAIL_HOST = "127.0.0.1"\nEMAIL_PORT = {port}\nEMAIL_TIMEOUT = 10\n',
                module="proof_email",
            )
        return self.override_settings(
            "MAILERS = {\n"
            '    "default": {\n'
            '        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",\n'
            f'        "OPTIONS": {{"host": "127.0.0.1", "port": {port}, '
            '"timeout": 10},\n'
            "    },\n"
            "}\n",
            module="proof_email",
        )

    # -- commands ----------------------------------------------------------------

    def env(self, settings=None, **extra):
        return clean_env(DJANGO_SETTINGS_MODULE=settings or self.settings, **extra)

    def run(self, *argv, check=True, timeout=120, settings=None, env=None):
        """``python *argv`` in the project folder, to its end."""
        argv = [sys.executable, *argv]
        finished = subprocess.run(
            argv,
            cwd=self.folder,
            env={**self.env(settings), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        done = Done(argv[1:], finished.returncode, finished.stdout, finished.stderr)
        if check:
            assert done.returncode == 0, done.explain()
        return done

    def manage(self, *args, **options):
        """``python manage.py *args``; see :meth:`run` for the options."""
        return self.run("manage.py", *args, **options)

    def create_superuser(self, username="admin", password=None):
        """``createsuperuser --noinput``, as the reader answers its questions."""
        env = {"DJANGO_SUPERUSER_PASSWORD": password} if password else {}
        return self.manage(
            "createsuperuser",
            "--noinput",
            "--username",
            username,
            "--email",
            f"{username}@example.com",
            env=env,
        )

    def shell(self, code, **options):
        """Run *code* in ``manage.py shell``; what it printed, line by line."""
        done = self.manage("shell", "--verbosity", "0", "--command", code, **options)
        return done.stdout.splitlines()

    def start(self, *argv, settings=None, env=None, stdin=None, output=None):
        """``python *argv`` in the background, in a process group of its own
        (as a terminal starts it), its output merged into one pipe, or into
        the file *output*."""
        return spawn(
            [sys.executable, *argv],
            cwd=self.folder,
            env={**self.env(settings), **(env or {})},
            text=True,
            stdin=stdin,
            stdout=subprocess.PIPE if output is None else output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    # -- workers -----------------------------------------------------------------

    def worker_argv(self, options, reload=False, interval=WORKER_INTERVAL):
        """``db_worker`` with *options*; *reload* None leaves it to DEBUG."""
        argv = ["manage.py", "db_worker", "--no-startup-delay"]
        if interval is not None:
            argv += ["--interval", interval]
        if reload is not None:
            argv.append("--reload" if reload else "--no-reload")
        return [*argv, *options]

    def run_worker(self, *options, reload=False, check=True, settings=None):
        """A ``--batch`` worker: it runs what is due and ends."""
        argv = self.worker_argv(["--batch", *options], reload=reload)
        return self.run(*argv, check=check, settings=settings)

    def start_worker(self, *options, reload=False, settings=None, interval=None):
        """A worker in the background, until a test stops it."""
        argv = self.worker_argv(
            options, reload=reload, interval=interval or WORKER_INTERVAL
        )
        return self.start(*argv, settings=settings)

    def start_workers(self, count, *options, **keywords):
        """*count* workers at once, with the ids worker-1 ... worker-*count*."""
        return [
            self.start_worker("--worker-id", f"worker-{n}", *options, **keywords)
            for n in range(1, count + 1)
        ]

    # -- the tasks table -----------------------------------------------------------

    def task(self, result_id):
        """The row of task *result_id*, read from the database."""
        db = self.database
        rows = db.query(
            f"SELECT {', '.join(TASK_COLUMNS)} FROM {TASKS_TABLE} "
            f"WHERE id = {db.placeholder}",
            (db.key(result_id),),
        )
        assert rows, f"no task {result_id} in {TASKS_TABLE}"
        return _task(rows[0], db.json_as_text)

    def tasks(self):
        """Every row of the tasks table, oldest first."""
        rows = self.database.query(
            f"SELECT {', '.join(TASK_COLUMNS)} FROM {TASKS_TABLE} ORDER BY enqueued_at"
        )
        return [_task(row, self.database.json_as_text) for row in rows]

    def status(self, result_id):
        return self.task(result_id).status

    def wait_for(self, result_id, statuses, timeout=30):
        """Wait until task *result_id* has one of *statuses*; its row."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.task(result_id)
            if current.status in statuses:
                return current
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"task {result_id} never reached {sorted(statuses)} in "
                    f"{timeout} s: {current}"
                )
            time.sleep(0.05)

    # -- the site ------------------------------------------------------------------

    @contextmanager
    def serve(self, path="/accounts/login/", timeout=60):
        """``runserver --noreload`` on a free port; yields the site's URL
        once *path* answers."""
        port = free_port()
        server = self.start("manage.py", "runserver", "--noreload", f"127.0.0.1:{port}")
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while not _answers(url + path):
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    output, _ = server.communicate()
                    raise AssertionError(f"runserver did not start:\n{output}")
                time.sleep(0.2)
            yield url
        finally:
            stop(server, signal.SIGTERM, pause=0)


def _task(row, json_as_text):
    values = dict(zip(TASK_COLUMNS, row, strict=True))
    if json_as_text:
        for column in ("return_value", "worker_ids"):
            if values[column] is not None:
                values[column] = json.loads(values[column])
    return Task(**values)


def _answers(url):
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError:
        return True  # an answer, if not a happy one
    except OSError:
        return False
    return True


def stop(process, *signals, pause=0.3, timeout=30):
    """Send *signals* to *process*, *pause* seconds apart; its output."""
    for number in signals:
        process.send_signal(number)
        time.sleep(pause)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(
            f"the process did not end within {timeout} s of "
            f"{[signal.Signals(n).name for n in signals]}:\n{output}"
        ) from None
    return output


def check_a_stop_lets_the_running_task_finish(project, *options):
    """What parts 1 and 7 say of SIGTERM (systemd's stop, a terminal's
    Ctrl+C): the running task finishes, no other starts, the worker exits 0."""
    first, second = project.sleepers(2, 0)
    worker = project.start_worker(*options)
    try:
        project.wait_for(first, {"RUNNING"})
    finally:
        output = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, output
    finished = project.task(first)
    assert (finished.status, finished.return_value) == ("SUCCESSFUL", 2), output
    assert project.status(second) == "READY", "a stopping worker starts no new task"
    assert "Received Terminated - shutting down gracefully" in output
    return output


def interrupt(process, timeout=30):
    """Ctrl+C in the process's terminal: SIGINT to its whole process group."""
    os.killpg(process.pid, signal.SIGINT)
    return stop(process, timeout=timeout)
