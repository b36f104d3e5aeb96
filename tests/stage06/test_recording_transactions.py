"""Stage 6: the recording backend counts transactions as the database backend.

Runs in its own pytest process against stage06's settings. The same code
enqueues tasks inside atomic blocks that commit, roll back, nest and repeat,
once with django-tasks-db's DatabaseBackend (a task is a row written in the
enqueuing transaction) and once with the recording backend; the tasks that
are left must be the same. Each runs both inside a TestCase's transaction
(pytest-django's ``db``), where the code's commit is the release of a
savepoint, and with real commits (``transactional_db``).

Also: the strict option refuses exactly the enqueues inside the code's own
transactions, and the reader's ``run_worker()`` leaves the log levels as the
settings made them.
"""

import logging
from contextlib import nullcontext

import pytest
from django.db import transaction
from django.tasks import task_backends
from django_tasks_db.models import DBTaskResult
from mysite.testing import EnqueuedInTransaction, RecordingBackend, Transaction
from testimonials.tasks import count_words

# Inside a TestCase's transaction, and with real commits.
BOTH_WAYS = pytest.mark.parametrize(
    "real_commits",
    [
        pytest.param(False, marks=pytest.mark.django_db, id="db"),
        pytest.param(True, marks=pytest.mark.django_db(transaction=True), id="real"),
    ],
)


def check_the_way(real_commits):
    """Fail unless the test runs inside a TestCase's blocks, or outside any."""
    blocks = transaction.get_connection().atomic_blocks
    if real_commits:
        assert blocks == []
    else:
        assert blocks and all(block._from_testcase for block in blocks)


RECORDING = {
    "default": {
        "BACKEND": "mysite.testing.RecordingBackend",
        "QUEUES": ["default", "emails"],
    }
}


class RolledBack(Exception):
    pass


@transaction.atomic
def in_a_decorated_block(words, then=lambda: None):
    count_words.enqueue(words)
    then()


def scenarios(look):
    """Enqueue in every shape of transaction; *look* reports what is ready.

    Returns what *look* saw at the points where it was called.
    """
    seen = {}
    count_words.enqueue("outside any transaction")
    with transaction.atomic():
        count_words.enqueue("committed")
        seen["inside its block"] = look()
    with pytest.raises(RolledBack), transaction.atomic():
        count_words.enqueue("rolled back")
        raise RolledBack
    with transaction.atomic():
        count_words.enqueue("outer block kept")
        with pytest.raises(RolledBack), transaction.atomic():
            count_words.enqueue("inner block rolled back")
            raise RolledBack
        with transaction.atomic():
            count_words.enqueue("inner block released, outer kept")
        seen["inner block released"] = look()
    with pytest.raises(RolledBack), transaction.atomic():
        with transaction.atomic():
            count_words.enqueue("inner block released, outer rolled back")
        raise RolledBack
    in_a_decorated_block("first call of a decorated block")
    # The same atomic object, entered again at the same depth.
    in_a_decorated_block(
        "second call of a decorated block",
        then=lambda: seen.setdefault("second call", look()),
    )
    return seen


KEPT = sorted(
    [
        "outside any transaction",
        "committed",
        "outer block kept",
        "inner block released, outer kept",
        "first call of a decorated block",
        "second call of a decorated block",
    ]
)


def rows():
    return sorted(row.args_kwargs["args"][0] for row in DBTaskResult.objects.all())


@BOTH_WAYS
def test_the_same_tasks_are_left_as_with_the_database_backend(settings, real_commits):
    check_the_way(real_commits)
    scenarios(look=lambda: None)
    assert rows() == KEPT

    settings.TASKS = RECORDING
    backend = task_backends["default"]
    assert isinstance(backend, RecordingBackend)

    def ready():
        return sorted(result.args[0] for result in backend.ready())

    seen = scenarios(look=ready)

    assert sorted(result.args[0] for result in backend.results) == KEPT
    assert ready() == KEPT
    # A task waits for the end of the code's outermost block, not for the
    # end of the block around the enqueue.
    assert seen["inside its block"] == ["outside any transaction"]
    assert "inner block released, outer kept" not in seen["inner block released"]
    assert "outer block kept" not in seen["inner block released"]
    # An earlier run of a decorated block counts as committed while the
    # same block runs again.
    assert "first call of a decorated block" in seen["second call"]
    assert "second call of a decorated block" not in seen["second call"]


@pytest.mark.django_db
def test_callbacks_run_early_by_the_test_do_not_commit(
    settings, django_capture_on_commit_callbacks
):
    settings.TASKS = RECORDING
    backend = task_backends["default"]
    with transaction.atomic():
        with django_capture_on_commit_callbacks(execute=True):
            count_words.enqueue("still inside")
        assert backend.ready() == []
    assert [result.args[0] for result in backend.ready()] == ["still inside"]


@BOTH_WAYS
def test_strict_refuses_exactly_the_enqueues_inside_the_codes_transactions(
    request, settings, real_commits
):
    check_the_way(real_commits)
    settings.TASKS = {"default": {**RECORDING["default"], "OPTIONS": {"strict": True}}}
    backend = task_backends["default"]

    count_words.enqueue("outside")
    with pytest.raises(EnqueuedInTransaction) as refused, transaction.atomic():
        count_words.enqueue("inside")
    assert str(refused.value).startswith(
        "testimonials.tasks.count_words was enqueued inside a transaction."
    )
    with django_on_commit(request, real_commits):
        with transaction.atomic():
            transaction.on_commit(lambda: count_words.enqueue("on commit"))

    assert sorted(result.args[0] for result in backend.ready()) == [
        "on commit",
        "outside",
    ]
    # Refusing left nothing behind on the connection.
    assert not any(
        isinstance(callback, Transaction)
        for _, callback, _ in transaction.get_connection().run_on_commit
    )


def django_on_commit(request, real_commits):
    """Run on_commit() callbacks: at the commit, or at the end of a capture."""
    if real_commits:
        return nullcontext()
    return request.getfixturevalue("django_capture_on_commit_callbacks")(execute=True)


@pytest.mark.django_db
def test_the_readers_worker_leaves_the_log_levels_alone():
    from testimonials.tests.test_worker import run_worker

    loggers = [logging.getLogger(name) for name in ("django.tasks", "django_tasks_db")]
    before = [logger.level for logger in loggers]
    try:
        # As the settings make them while tests run (another test's worker
        # may have changed them in this process).
        for logger in loggers:
            logger.setLevel(logging.WARNING)

        run_worker()

        assert [logger.level for logger in loggers] == [logging.WARNING] * 2
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
