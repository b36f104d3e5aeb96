"""Stage 1: the first task counts words, through the database backend."""

from django.tasks import TaskResultStatus, task_backends
from django_tasks_db.backend import DatabaseBackend
from testimonials.tasks import count_words

from proof.in_stage import run_worker


def test_the_backend_is_the_database_backend():
    assert isinstance(task_backends["default"], DatabaseBackend)


def test_count_words_counts_words():
    assert count_words.call("one two  three\nfour") == 4
    assert count_words.call("") == 0


def test_enqueued_task_waits_until_a_worker_runs_it(db):
    result = count_words.enqueue("Tasks run outside the request")
    assert result.status == TaskResultStatus.READY
    result.refresh()
    assert result.status == TaskResultStatus.READY

    run_worker()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert result.args == ["Tasks run outside the request"]
