"""Stage 2: what a transaction does to a task, depending on where tasks live.

Part 2's "Why on_commit?" says: django-tasks-db writes the task's row through
the same connection, inside the transaction that enqueues it, so a rollback
removes the task with everything else; a backend that keeps its tasks
outside that transaction keeps the task after a rollback; the task_enqueued
signal goes out either way; outside a transaction, ``on_commit()`` runs the
function at once. The tests enqueue directly inside ``atomic()``, without
``on_commit()``, to show what ``on_commit()`` is not needed for with this
backend, and what it is still needed for. The worker's side, in processes
of their own, is in tests/test_part02_transactions.py.

Runs in its own pytest process against stage02's settings. The tests with
real commits (``transactional_db``) don't rely on a TestCase's transaction.
"""

import logging
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.tasks import default_task_backend
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django_tasks_db.models import DBTaskResult
from testimonials.models import Testimonial
from testimonials.tasks import notify_staff_about_testimonial

TASK_PATH = "testimonials.tasks.notify_staff_about_testimonial"


class RolledBack(Exception):
    """Something fails after the enqueue, later in the same transaction."""


def enqueue_and_roll_back(inside=lambda result: None):
    """Save a testimonial, enqueue its notification, then fail; return the result.

    *inside* is called with the result before the failure.
    """
    member = get_user_model().objects.create_user("member")
    with pytest.raises(RolledBack), transaction.atomic():
        testimonial = Testimonial.objects.create(author=member, title="t", text="x")
        result = notify_staff_about_testimonial.enqueue(testimonial.pk)
        inside(result)
        raise RolledBack
    return result


def row_exists(result):
    # Inside the transaction, its own connection sees the task's row.
    assert DBTaskResult.objects.filter(id=result.id).exists()


@pytest.mark.parametrize(
    "real_commits",
    [
        pytest.param(False, marks=pytest.mark.django_db, id="db"),
        pytest.param(True, marks=pytest.mark.django_db(transaction=True), id="real"),
    ],
)
def test_a_rollback_takes_the_database_backends_task_with_it(real_commits):
    # Inside a TestCase's transaction, or with nothing around the test.
    assert bool(transaction.get_connection().atomic_blocks) != real_commits

    result = enqueue_and_roll_back(inside=row_exists)

    assert not Testimonial.objects.exists()
    assert not DBTaskResult.objects.exists()
    with pytest.raises(TaskResultDoesNotExist):
        notify_staff_about_testimonial.get_result(result.id)


@pytest.mark.django_db(transaction=True)
def test_a_backend_outside_the_transaction_keeps_the_task(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}
    }

    result = enqueue_and_roll_back()

    # The task is still queued, for a testimonial that doesn't exist.
    [kept] = default_task_backend.results
    assert kept.id == result.id
    assert not Testimonial.objects.filter(pk=kept.args[0]).exists()


@pytest.mark.django_db(transaction=True)
def test_the_enqueued_signal_goes_out_even_when_the_task_is_rolled_back(caplog):
    seen = []

    def receiver(sender, task_result, **kwargs):
        seen.append(task_result.id)

    task_enqueued.connect(receiver)
    try:
        with caplog.at_level(logging.DEBUG, logger="django.tasks"):
            result = enqueue_and_roll_back()
    finally:
        task_enqueued.disconnect(receiver)

    assert seen == [result.id]
    # Django's own receiver logged the task that no longer exists.
    assert f"Task id={result.id} path={TASK_PATH} enqueued" in caplog.text
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_on_commit_outside_a_transaction_enqueues_at_once():
    assert not transaction.get_connection().in_atomic_block
    transaction.on_commit(partial(notify_staff_about_testimonial.enqueue, 1))

    assert DBTaskResult.objects.count() == 1
