"""What the installed Django and django-tasks-db do, asked of a configured
Django, for the reference appendix's test (tests/test_appendix_reference.py).

Run as ``python reference_facts.py FOLDER``, in a process of its own: it
configures Django with a SQLite database in FOLDER, writes a module of
tasks there, builds the parsers of the management commands, runs tasks
through each backend and records the signals, and writes what it found to
FOLDER/facts.json.
"""

import io
import json
import logging
import sys
from pathlib import Path

TASKS_MODULE = """
from django.tasks import task


@task
def add(a, b):
    return a + b


@task
def fail():
    raise ValueError("this task fails")


@task(takes_context=True)
def attempt(context):
    return context.attempt
"""

COMMANDS = ("db_worker", "prune_db_task_results")
VERBOSITIES = (0, 1, 2, 3)

# What the signal receivers saw, and who was sending at the time: the
# backends' own methods ("backends"), or the db_worker command ("db_worker").
received = []
source = "backends"


def configure(folder):
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        LOGGING_CONFIG=None,
        INSTALLED_APPS=["django_tasks_db"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(folder / "db.sqlite3"),
            }
        },
        TASKS={
            "default": {"BACKEND": "django_tasks_db.DatabaseBackend"},
            "dummy": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"},
            "immediate": {
                "BACKEND": "django.tasks.backends.immediate.ImmediateBackend"
            },
            "any_queue": {
                "BACKEND": "django.tasks.backends.dummy.DummyBackend",
                "QUEUES": [],
            },
        },
    )
    # Quiet: the failing task's log record goes nowhere.
    logging.getLogger().addHandler(logging.NullHandler())
    django.setup()


def _action(action):
    return {
        "option_strings": action.option_strings,
        "dest": action.dest,
        "class": type(action).__name__,
        "nargs": action.nargs,
        "const": action.const,
        "default": action.default,
        "choices": list(action.choices) if action.choices else None,
    }


def parsers():
    """Each command's options, from parsers built with DEBUG off, then on;
    and the options every command has (a bare BaseCommand's)."""
    from django.conf import settings
    from django.core.management import load_command_class
    from django.core.management.base import BaseCommand

    found = {}
    for name in COMMANDS:
        builds = []
        for debug in (False, True):
            settings.DEBUG = debug
            command = load_command_class("django_tasks_db", name)
            parser = command.create_parser("manage.py", name)
            builds.append(
                {"debug": debug, "actions": [_action(a) for a in parser._actions]}
            )
        settings.DEBUG = False
        found[name] = builds
    base = BaseCommand().create_parser("manage.py", "base")
    return found, [_action(a) for a in base._actions]


def log_levels():
    """{command: {verbosity: {logger: level}}}: the loggers each command's
    configure_logging() sets, starting from loggers that set nothing."""
    from django.core.management import load_command_class

    def every_logger():
        return [
            logger
            for logger in logging.Logger.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ]

    levels = {}
    for name in COMMANDS:
        command = load_command_class("django_tasks_db", name)
        command.stdout = io.StringIO()
        levels[name] = {}
        for verbosity in VERBOSITIES:
            for logger in every_logger():
                logger.setLevel(logging.NOTSET)
            command.configure_logging(verbosity)
            levels[name][verbosity] = {
                logger.name: logging.getLevelName(logger.level)
                for logger in every_logger()
                if logger.level != logging.NOTSET
            }
    for logger in every_logger():
        logger.setLevel(logging.NOTSET)
    return levels


def connect_receivers():
    from django.tasks import signals

    def receiver_for(name):
        def receive(sender, **kwargs):
            received.append(
                {
                    "signal": name,
                    "source": source,
                    "sender": "class" if isinstance(sender, type) else "object",
                    "arguments": sorted(kwargs),
                    "status": kwargs["task_result"].status.value,
                }
            )

        return receive

    receivers = []
    for name in ("task_enqueued", "task_started", "task_finished"):
        receive = receiver_for(name)
        getattr(signals, name).connect(receive)
        receivers.append(receive)  # signals keep weak references
    return receivers


def run_tasks():
    """Run tasks through each backend and db_worker; what the results say."""
    global source
    import reference_tasks as tasks
    from django.core.management import call_command
    from django.tasks import task_backends
    from django.tasks.exceptions import InvalidTask

    call_command("migrate", verbosity=0)
    facts = {}

    dummy = task_backends["dummy"]
    dummy_result = tasks.add.using(backend="dummy").enqueue(1, 2)
    facts["dummy"] = {
        "status": dummy_result.status.value,
        "kept": [r.id for r in dummy.results] == [dummy_result.id],
        "found": dummy.get_result(dummy_result.id).id == dummy_result.id,
        "args": dummy_result.args,
        "args_type": type(dummy_result.args).__name__,
    }
    dummy.clear()
    facts["dummy"]["cleared"] = dummy.results == []

    immediate = tasks.add.using(backend="immediate").enqueue(1, 2)
    tasks.fail.using(backend="immediate").enqueue()
    facts["immediate"] = {
        "status": immediate.status.value,
        "return_value": immediate.return_value,
        "attempt": tasks.attempt.using(backend="immediate").enqueue().return_value,
    }
    for method in ("get_result", "refresh"):
        try:
            if method == "get_result":
                task_backends["immediate"].get_result(immediate.id)
            else:
                immediate.refresh()
        except NotImplementedError:
            facts["immediate"][method] = "NotImplementedError"
        else:
            facts["immediate"][method] = "works"

    queued = {
        "add": tasks.add.enqueue(1, 2),
        "fail": tasks.fail.enqueue(),
        "attempt": tasks.attempt.enqueue(),
    }
    source = "db_worker"
    call_command(
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--no-reload",
        verbosity=0,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    source = "backends"
    for result in queued.values():
        result.refresh()
    failed = queued["fail"]
    facts["database"] = {
        "statuses": {name: r.status.value for name, r in queued.items()},
        "attempt": queued["attempt"].return_value,
        "last_attempted_at_is_started_at": all(
            r.last_attempted_at == r.started_at for r in queued.values()
        ),
        "errors_of_failed": len(failed.errors),
        "id": queued["add"].id,
    }

    queues = {}
    for backend in ("dummy", "any_queue"):
        try:
            tasks.add.using(backend=backend, queue_name="not-listed")
        except InvalidTask:
            queues[backend] = "refused"
        else:
            queues[backend] = "accepted"
    facts["unlisted_queue"] = queues
    facts["entry_defaults"] = {
        "QUEUES": sorted(dummy.queues),
        "OPTIONS": dummy.options,
    }
    return facts


def database_backend():
    """The defaults django-tasks-db takes for what a TASKS entry leaves out."""
    from dataclasses import fields

    from django.tasks import TaskResult as DjangoTaskResult
    from django_tasks_db import DatabaseBackend
    from django_tasks_db.backend import TaskResult
    from django_tasks_db.models import DBTaskResult, get_date_max

    default = DBTaskResult._meta.pk.default
    by_path = DatabaseBackend("x", {"OPTIONS": {"id_function": "uuid.uuid1"}})
    import uuid

    by_callable = DatabaseBackend("x", {"OPTIONS": {"id_function": uuid.uuid1}})
    no_run_after = get_date_max()
    return {
        "id_function_default": f"{default.__module__}.{default.__qualname__}",
        "id_function_by_path": by_path.id_function is uuid.uuid1,
        "id_function_callable": by_callable.id_function is uuid.uuid1,
        "extra_result_fields": sorted(
            {f.name for f in fields(TaskResult)}
            - {f.name for f in fields(DjangoTaskResult)}
        ),
        "no_run_after": [no_run_after.year, no_run_after.month, no_run_after.day],
        "no_run_after_aware": no_run_after.tzinfo is not None,
    }


def main(folder):
    folder = Path(folder)
    (folder / "reference_tasks.py").write_text(TASKS_MODULE)
    sys.path.insert(0, str(folder))
    configure(folder)

    from django.conf import global_settings

    commands, base = parsers()
    receivers = connect_receivers()
    facts = {
        "commands": commands,
        "base_actions": base,
        "log_levels": log_levels(),
        "runs": run_tasks(),
        "database_backend": database_backend(),
        "signals": received,
        "global_tasks": global_settings.TASKS,
    }
    del receivers
    (folder / "facts.json").write_text(json.dumps(facts, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
