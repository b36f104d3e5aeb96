"""Stage 6: the recording backend runs tasks as django-tasks-db's worker does.

Runs in its own pytest process against stage06's settings. The same tasks
go to the real database backend, run by the real ``db_worker`` command in
this process, and to the recording backend; both must run them in the same
order and end with the same statuses and return values.
"""

from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus, task_backends
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from mysite.testing import RecordingBackend
from testimonials.tasks import count_words

from proof.in_stage import run_worker

# (words, priority, run_after in seconds from now or None): due and
# waiting tasks, with and without run_after, at several priorities.
PLAN = [
    ("one", 0, None),
    ("two words", 0, -60),
    ("three more words", 10, None),
    ("four words at last", -10, None),
    ("not yet due at all", 50, 3600),
    ("five words and a due one", 0, -120),
    ("six words with no priority here", 0, None),
]


def enqueue_plan(now):
    for words, priority, offset in PLAN:
        run_after = None if offset is None else now + timedelta(seconds=offset)
        count_words.using(priority=priority, run_after=run_after).enqueue(words)


@pytest.mark.django_db
def test_runs_in_the_order_of_the_real_worker(settings):
    now = timezone.now()
    enqueue_plan(now)
    run_worker()
    real = list(
        DBTaskResult.objects.exclude(started_at=None)
        .order_by("started_at")
        .values_list("args_kwargs", "status", "return_value")
    )
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()

    settings.TASKS = {
        "default": {
            "BACKEND": "mysite.testing.RecordingBackend",
            "QUEUES": ["default", "emails"],
        }
    }
    backend = task_backends["default"]
    assert isinstance(backend, RecordingBackend)
    enqueue_plan(now)
    ran = backend.run_all(now=timezone.now())

    assert [(r.args, r.status, r.return_value) for r in ran] == [
        (row[0]["args"], row[1], row[2]) for row in real
    ]
    assert len(backend.ready(now=now + timedelta(hours=2))) == waiting == 1


def test_tests_log_warnings_and_errors_only(settings):
    """Under pytest, every logger of the setting prints warnings and up.

    (The live loggers can't tell: a worker run with verbosity=0 raises the
    level of its two loggers for the rest of the process.)
    """
    loggers = settings.LOGGING["loggers"]
    assert set(loggers) >= {"django.tasks", "django_tasks_db", "testimonials"}
    assert {name: logger["level"] for name, logger in loggers.items()} == dict.fromkeys(
        loggers, "WARNING"
    )


def test_a_recorded_result_is_safe_from_the_test(settings):
    settings.TASKS = {
        "default": {"BACKEND": "mysite.testing.RecordingBackend", "QUEUES": ["default"]}
    }
    backend = task_backends["default"]
    result = count_words.enqueue("a b c")
    result.args.append("changed")
    backend.get_result(result.id).args.append("changed too")

    [done] = backend.run_all()

    assert done.args == ["a b c"]
    assert done.return_value == 3
