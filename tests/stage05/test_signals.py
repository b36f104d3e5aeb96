"""Stage 5: the receivers of the task signals, and what a receiver can break.

Runs in its own pytest process against stage05's settings. Tasks run
through the real database backend and the real ``db_worker`` command, here
in the test's process; email lands in Django's locmem ``mail.outbox``.
"""

import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection, transaction
from django.tasks import TaskResultStatus
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult
from testimonials import signals
from testimonials.models import Testimonial
from testimonials.tasks import count_words, enqueue_notification

from proof.in_stage import run_worker

LOGGER = "testimonials.signals"
WAITED = re.compile(r"^(\w+) reached a worker in (\d+\.\d)s$")
RAN = re.compile(r"^(\w+) ran in (\d+\.\d\d)s$")


def messages(caplog, pattern):
    return [
        m.groups()
        for r in caplog.records
        if r.name == LOGGER and (m := pattern.match(r.getMessage()))
    ]


@pytest.fixture
def admin(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")


@pytest.fixture
def connected(request):
    """Connect *receiver* to *signal* for one test."""

    def connect(signal, receiver):
        signal.connect(receiver)
        request.addfinalizer(lambda: signal.disconnect(receiver))

    return connect


def test_the_app_connects_its_receivers_when_ready():
    assert signals.log_wait in [entry[1]() for entry in task_started.receivers]
    finished = [entry[1]() for entry in task_finished.receivers]
    assert signals.log_run_time in finished and signals.alert_admins in finished


def test_a_successful_task_logs_its_wait_and_run_time_and_alerts_nobody(db, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    result = count_words.enqueue("three little words")
    run_worker()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    [(name, waited)] = messages(caplog, WAITED)
    [(ran_name, ran)] = messages(caplog, RAN)
    assert name == ran_name == "count_words"
    assert float(waited) == pytest.approx(
        (result.started_at - result.enqueued_at).total_seconds(), abs=0.051
    )
    assert float(ran) == pytest.approx(
        (result.finished_at - result.started_at).total_seconds(), abs=0.0051
    )
    assert mail.outbox == []


def test_the_wait_counts_from_run_after_when_it_comes_later(db, caplog):
    """Two tasks, both due for a second, both enqueued an hour apart from
    their run_after: each waited about a second, whichever came first."""
    from django_tasks_db.models import DBTaskResult

    caplog.set_level(logging.INFO, logger=LOGGER)
    now = timezone.now()
    # Enqueued an hour ago, to run a second ago (as a reminder would be).
    planned = count_words.using(run_after=now + timedelta(hours=1)).enqueue("planned")
    DBTaskResult.objects.filter(pk=planned.id).update(
        enqueued_at=now - timedelta(hours=1), run_after=now - timedelta(seconds=1)
    )
    # Enqueued a second ago, with a run_after an hour before that.
    late = count_words.using(run_after=now - timedelta(hours=1)).enqueue("late")
    DBTaskResult.objects.filter(pk=late.id).update(
        enqueued_at=now - timedelta(seconds=1)
    )
    run_worker()

    waits = [float(w) for _, w in messages(caplog, WAITED)]
    assert len(waits) == 2
    assert all(1 <= w < 60 for w in waits), waits


def test_a_failed_task_emails_the_admins_with_a_link_to_its_traceback(
    admin, caplog, settings
):
    gone = Testimonial.objects.create(author=admin, title="Gone", text="x")
    missing = enqueue_notification(gone.pk)
    gone.delete()
    run_worker()

    missing.refresh()
    assert missing.status == TaskResultStatus.FAILED
    [message] = mail.outbox
    assert message.to == settings.ADMINS == ["admin@example.com"]
    assert message.from_email == "community@example.com"
    assert message.subject == "[Community] Task failed: notify_staff_about_testimonial"
    assert message.body.startswith(
        "testimonials.models.Testimonial.DoesNotExist: "
        "Testimonial matching query does not exist.\n"
    )
    link = (
        f"http://127.0.0.1:8000/admin/django_tasks_database/dbtaskresult/"
        f"{missing.id}/change/"
    )
    assert f"The whole traceback: {link}\n" in message.body


def test_an_alert_that_cannot_be_sent_is_logged_and_the_worker_goes_on(
    admin, caplog, monkeypatch
):
    """The mail server is down: the alert fails, the worker logs it, keeps
    the task's own error on its result, and runs the next task."""

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(signals, "mail_admins", refuse)
    caplog.set_level(logging.INFO, logger=LOGGER)
    gone = Testimonial.objects.create(author=admin, title="Gone", text="x")
    missing = enqueue_notification(gone.pk)
    gone.delete()
    after = count_words.enqueue("still counted")
    run_worker()

    missing.refresh()
    after.refresh()
    assert missing.status == TaskResultStatus.FAILED
    assert missing.errors[0].exception_class_path.endswith("Testimonial.DoesNotExist")
    assert after.status == TaskResultStatus.SUCCESSFUL
    [record] = [
        r for r in caplog.records if r.levelno == logging.ERROR and r.name == LOGGER
    ]
    assert record.getMessage() == f"Could not alert the admins about task {missing.id}"
    assert record.exc_info[0] is ConnectionRefusedError


def test_a_receiver_that_raises_fails_a_successful_task_and_stops_the_worker(
    db, connected
):
    """What part 5 shows in the shell: the function ran, the result says
    FAILED with the receiver's error and no return value, and the worker
    ends before the next task."""
    calls = []

    def careless_receiver(sender, task_result, **kwargs):
        calls.append(task_result.status)
        raise RuntimeError("a bug in a receiver")

    connected(task_finished, careless_receiver)
    result = count_words.enqueue("Four words, no more")
    waiting = count_words.enqueue("never run")
    with pytest.raises(RuntimeError, match="a bug in a receiver"):
        run_worker()

    assert calls == [TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]
    result.refresh()
    waiting.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class is RuntimeError
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018 (reading the property raises)
    assert waiting.status == TaskResultStatus.READY


def test_a_receiver_of_task_started_that_raises_fails_the_task_before_it_runs(
    admin, connected
):
    """The notification never runs: the only email is the alert about it."""

    def careless_receiver(sender, task_result, **kwargs):
        raise RuntimeError("a bug in a receiver")

    connected(task_started, careless_receiver)
    testimonial = Testimonial.objects.create(author=admin, title="Kind", text="x")
    result = enqueue_notification(testimonial.pk)
    run_worker()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class is RuntimeError
    assert [m.subject for m in mail.outbox] == [
        "[Community] Task failed: notify_staff_about_testimonial"
    ]


def test_the_worker_sends_the_backend_object_or_its_class(db, connected):
    """django-tasks-db 0.13: task_started and a successful task_finished
    carry the backend object as sender, a failed task_finished its class
    (which is why part 5 advises against receivers for one sender)."""
    senders = []

    def record(signal, sender, task_result, **kwargs):
        senders.append((signal, task_result.status, sender))

    connected(task_started, record)
    connected(task_finished, record)
    count_words.enqueue("one two")
    count_words.enqueue(None)  # None.split() raises: the task fails
    run_worker()

    kinds = {
        (signal is task_started, status, isinstance(sender, type))
        for signal, status, sender in senders
    }
    assert kinds == {
        (True, TaskResultStatus.RUNNING, False),
        (False, TaskResultStatus.SUCCESSFUL, False),
        (False, TaskResultStatus.FAILED, True),
    }
    for _, _, sender in senders:
        backend = sender if isinstance(sender, type) else type(sender)
        assert issubclass(backend, DatabaseBackend)


class Rollback(Exception):
    pass


def test_task_enqueued_comes_before_the_row_is_committed(transactional_db, connected):
    """Inside a transaction, a receiver of task_enqueued finds the row, but
    the transaction is still open; rolled back, the row is gone."""
    seen = []

    def receiver(sender, task_result, **kwargs):
        row_exists = DBTaskResult.objects.filter(id=task_result.id).exists()
        seen.append((row_exists, connection.in_atomic_block))

    connected(task_enqueued, receiver)
    with pytest.raises(Rollback), transaction.atomic():
        result = count_words.enqueue("never committed")
        raise Rollback
    assert seen == [(True, True)]
    assert not DBTaskResult.objects.filter(id=result.id).exists()
